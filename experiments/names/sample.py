"""Generate names of a country with a trained generator (configs.py:generator).

    python -m experiments.names.sample --workdir=results/names/generator --country=Italy \
        --start=Ma --temperature=0.8 -n 10 [--seed=0]

Prints one name per line, then how many of them are real names of that country (the data lists
them there) not seen in training, real names seen in training, and not real. --country is
matched without regard to case; --temperature=0 is greedy (the same name every time).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
from absl import flags
from flax import nnx

from experiments.launch import WORKDIR
from experiments.names.generate import novelty, sample_names, start_ids
from experiments.names.train import LABELS_FILE, VOCAB_FILE
from rnnjax import cli
from rnnjax.data import Labels, Vocab
from rnnjax.data.names import load_names, split_names
from rnnjax.models import make_model
from rnnjax.train.checkpoint import CHECKPOINT_DIR, read_config, restore_params
from rnnjax.train.run import RESULTS_FILE
from rnnjax.validation import check_nonnegative_float, check_positive_int, fail

_COUNTRY = flags.DEFINE_string("country", None, "Country (category) of the names.",
                               required=True)
_START = flags.DEFINE_string("start", "", "First letters of every name.")
_TEMPERATURE = flags.DEFINE_float("temperature", 0.8, "Softmax temperature (0: greedy).")
_COUNT = flags.DEFINE_integer("n", 10, "Number of names.")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")
_MAX_LENGTH = flags.DEFINE_integer("max_length", 30, "Characters after --start before a name "
                                   "is cut.")
_WHERE = "sample"


def run_directory(workdir: str | Path) -> Path:
    """``workdir``, or its first replicate's directory for a run of several seeds."""
    workdir = Path(workdir)
    results = workdir / RESULTS_FILE
    if not (workdir / CHECKPOINT_DIR).is_dir() and results.is_file():
        replicates = json.loads(results.read_text()).get("replicates")
        if replicates:
            return workdir / replicates[0]["replicate"]
    return workdir


def main(argv: list[str]) -> None:
    del argv
    workdir = run_directory(WORKDIR.value)
    config = read_config(workdir)
    if config.get("task") != "generate":
        fail(_WHERE, "--workdir", "the workdir of a name generator (configs.py:generator)",
             f"{str(workdir)!r}, a {config.get('task')!r} run")
    count = check_positive_int(_WHERE, "-n", _COUNT.value)
    check_nonnegative_float(_WHERE, "--temperature", _TEMPERATURE.value)
    missing = [name for name in (VOCAB_FILE, LABELS_FILE, CHECKPOINT_DIR)
               if not (workdir / name).exists()]
    if missing:
        fail(_WHERE, "--workdir", "a trained generator's workdir (its vocabulary, categories and "
             "checkpoints; train one with configs.py:generator)",
             f"{str(workdir)!r} without {', '.join(missing)}")
    vocab, labels = Vocab.load(workdir / VOCAB_FILE), Labels.load(workdir / LABELS_FILE)
    by_lower = {name.lower(): name for name in labels.names}
    country = by_lower.get(_COUNTRY.value.lower())
    if country is None:
        fail(_WHERE, "--country", f"one of the {len(labels)} countries {labels.names}",
             repr(_COUNTRY.value))
    start_ids(vocab, _START.value, _WHERE, "--start")
    abstract = nnx.eval_shape(lambda: make_model(config.model, vocab_size=len(vocab),
                                                 num_conditions=len(labels), rngs=nnx.Rngs(0)))
    model = restore_params(workdir, abstract)
    names = sample_names(model, vocab, labels.index[country], _START.value, count,
                         key=jax.random.PRNGKey(_SEED.value), temperature=_TEMPERATURE.value,
                         max_length=check_positive_int(_WHERE, "--max_length",
                                                       _MAX_LENGTH.value))
    data = load_names(config.data.corpus, min_names=config.data.min_names,
                      data_dir=config.data.data_dir)
    stats = novelty(names, data.members[country], set(split_names(data)["train"].names))
    print("\n".join(names))
    real_seen = stats["real_fraction"] - stats["novel_real_fraction"]
    print(f"# {count} names of {country} at temperature {_TEMPERATURE.value:g}: "
          f"{100 * stats['novel_real_fraction']:.1f}% real names of {country} not seen in "
          f"training, {100 * real_seen:.1f}% real names seen in training, "
          f"{100 * (1 - stats['real_fraction']):.1f}% not names of {country} in the data "
          f"({100 * stats['copied_fraction']:.1f}% copies of training names of any country)")


if __name__ == "__main__":
    cli.run(main)
