"""The dialogue table: weighted F1 and accuracy of DialogueRNN and its baselines on the synthetic
conversations, with the accuracy on each utterance kind and the context-free ceiling."""

from __future__ import annotations

from typing import Any

from experiments.report import columns
from experiments.report.tables import Column, RunTable, mean_std

Run = dict[str, Any]
#: rows in this order: the paper's model first, the baselines after
MODEL_ORDER = ("dialogue_rnn", "utterance_classifier")


def _model(run: Run) -> str:
    model = run["model"]
    if model["kind"] == "dialogue_rnn":
        listener = ", listener update" if model.get("listener_update") else ""
        return (f"DialogueRNN ({model['cell']}, g {model['global_size']}, q "
                f"{model['party_size']}, e {model['emotion_size']}{listener})")
    if model.get("context") == "rnn":
        return f"{model['cell']} {model['hidden_size']} over [u_t ; speaker]"
    return "u_t alone (context-free)"


def _percent(metric: str) -> Column:
    return Column(metric.replace("test_", "").replace("_", " ") + " %",
                  lambda r: mean_std(r, metric, 100.0))


TABLES = (
    RunTable(
        title="Utterance labels in synthetic conversations (test split)",
        select=lambda run: True,
        sort=lambda run: (MODEL_ORDER.index(run["model"]["kind"])
                          if run["model"]["kind"] in MODEL_ORDER else len(MODEL_ORDER),
                          run["model"].get("context") != "rnn", run["name"]),
        columns=(
            Column("run", lambda r: r["name"]),
            Column("model", _model),
            Column("parameters", lambda r: f"{r.get('parameters', 0):,}"),
            Column("epochs", lambda r: str(r.get("epochs", "-"))),
            _percent("test_weighted_f1"),
            _percent("test_accuracy"),
            _percent("test_accuracy_reveal"),
            _percent("test_accuracy_neutral"),
            _percent("test_accuracy_empathy"),
            Column("context-free ceiling %",
                   lambda r: f"{100 * r['context_free_ceiling']:.1f}"
                   if "context_free_ceiling" in r else "-"),
            columns.WALL_TIME,
            columns.CPU_TIME,
            columns.STATUS,
        ),
        note=("Synthetic conversations of rnnjax.data.dialogue (no corpus with per-utterance "
              "labels ships in a registry package, so the paper's IEMOCAP and AVEC table is "
              "not reproduced). A reveal utterance shows its speaker's mood; a neutral one "
              "carries no cue (its label is the mood its speaker last showed or adopted); an "
              "empathy one takes the previous speaker's mood. The context-free ceiling is "
              "the best accuracy of any model that sees each utterance alone."),
    ),
)
