"""The depth study: every row of ``configs.GRID`` with three seeds (``rnnjax.train.run_grid``).

    python -m experiments.seq2seq.grid --workdir=results/seq2seq/depth [--rows=enc1,dec8_res]

Each row is a resumable run of replicates in ``<workdir>/<row>/seed<N>/``: rerunning the command
continues where it stopped and reads finished rows back; a larger ``--seeds`` (the rows'
``config.seeds``, seeds 0 .. N-1) later extends finished rows. A row whose seed diverges is
reported and the grid goes on (exit status 1 at the end): a diverged deep decoder is one of the
study's outcomes (Britz's Dec-8).
"""

from __future__ import annotations

from absl import flags

from experiments.seq2seq.configs import GRID, SEEDS, get_config
from experiments.seq2seq.train import TranslationTask
from rnnjax import cli
from rnnjax.train.replicates import run_grid
from rnnjax.validation import check_choice, check_positive_int

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the grid (one folder per row).",
                               required=True)
_ROWS = flags.DEFINE_list("rows", list(GRID), "Rows of configs.GRID to run, in this order.")
_SEEDS = flags.DEFINE_integer("seeds", SEEDS, "Replicates per row (config.seeds: seeds 0 .. N-1).")


def main(argv: list[str]) -> None:
    del argv
    rows = {check_choice("grid", "--rows", row, GRID): get_config(row) for row in _ROWS.value}
    for config in rows.values():
        config.seed, config.seeds = 0, check_positive_int("grid", "--seeds", _SEEDS.value)
    results = run_grid(TranslationTask, rows, _WORKDIR.value)
    for row, result in results.items():
        if result is None:
            print(f"{row}: diverged", flush=True)
            continue
        mean = result.get("mean", result)
        print(f"{row}: test BLEU greedy {mean.get('test_bleu', float('nan')):.2f}, beam "
              f"{mean.get('test_bleu_beam', float('nan')):.2f} ({result['status']})", flush=True)
    diverged = [row for row, result in results.items() if result is None]
    if diverged:
        raise SystemExit(f"grid: rows with a diverged seed: {', '.join(diverged)}")


if __name__ == "__main__":
    cli.run(main)
