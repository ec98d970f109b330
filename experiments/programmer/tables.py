"""The Neural Programmer table: accuracy of the discrete programs on random table questions
(Neelakantan, Le & Sutskever 2016, section 3), one row per run, with the number of templates
it answers (nearly) always; the per-template accuracies are in each results.json."""

from __future__ import annotations

from typing import Any

from experiments.report import columns
from experiments.report.tables import Column, RunTable, mean_std

Run = dict[str, Any]


def _table(run: Run) -> str:
    data = run["config"]["data"]
    return f"{data['rows']} x {data['columns']}, {len(data['templates'])} templates"


def _model(run: Run) -> str:
    model = run["model"]
    return (f"{model['cell']} question RNN, {model['history_cell']} history RNN, "
            f"d {model['hidden_size']}, T {model['steps']}")


def _questions(run: Run) -> str:
    return f"{run['steps'] * run['config']['data']['batch_size'] / 1000:.0f}k" if run.get(
        "steps") else "-"


def _solved(run: Run) -> str:
    """'k/n': the templates whose test accuracy (the mean over replicates) is >= 95%."""
    values = run.get("mean", run)
    scores = [value for key, value in values.items()
              if key.startswith("test_accuracy_") and isinstance(value, float)]
    return f"{sum(score >= 0.95 for score in scores)}/{len(scores)}" if scores else "-"


TABLES = (
    RunTable(
        title="Neural Programmer (Neelakantan et al. 2016, section 3): accuracy on random "
              "table questions",
        select=lambda run: run.get("task") == "table_questions",
        columns=(
            Column("run", lambda r: r["name"]),
            Column("tables", _table),
            Column("model", _model),
            Column("questions seen", _questions),
            Column("test accuracy %", lambda r: mean_std(r, "test_accuracy", 100.0)),
            Column("soft accuracy %", lambda r: mean_std(r, "test_soft_accuracy", 100.0)),
            Column("templates >= 95%", _solved),
            Column("test loss", lambda r: mean_std(r, "test_loss", digits=2)),
            Column("parameters", lambda r: str(r.get("parameters", "-"))),
            columns.WALL_TIME,
            columns.CPU_TIME,
            columns.STATUS,
        ),
        note=("Test set: 1000 fixed questions of the training distribution. Test accuracy: "
              "the discrete program of the argmax selections (the paper's inference) answers "
              "exactly; soft accuracy: the soft mix used in training does. Other settings: the "
              "paper reports nearly perfect accuracy on its own synthetic dataset (its table "
              "sizes, question set, model size and far longer training); its per-setting "
              "numbers could not be checked here, so none is quoted beside these rows."),
    ),
)
