"""``python -m experiments.report --results=results/lm --out=results/lm/REPORT.md
--plot=results/lm/curves.png``: a markdown table of every results.json found, and the curves."""

from __future__ import annotations

from pathlib import Path

from absl import app, flags

from experiments.report.report import (
    commands,
    find_results,
    load_run,
    markdown_table,
    plot_curves,
)

_RESULTS = flags.DEFINE_list("results", ["results/lm"], "Directories searched for results.json.")
_OUT = flags.DEFINE_string("out", None, "Markdown file to write (default: print).")
_PLOT = flags.DEFINE_string("plot", None, "PNG file for the learning curves (default: none).")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    runs = [load_run(path) for path in find_results(_RESULTS.value)]
    if not runs:
        raise app.UsageError(f"no results.json under {_RESULTS.value}")
    text = markdown_table(runs) + "\nCommands:\n\n" + commands(runs)
    if _PLOT.value:
        plot_curves(runs, _PLOT.value)
        text += f"\n![learning curves]({Path(_PLOT.value).name})\n"
    if _OUT.value:
        Path(_OUT.value).write_text(text)
    print(text)


if __name__ == "__main__":
    app.run(main)
