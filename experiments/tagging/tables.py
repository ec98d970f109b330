"""The tagging table: token accuracy (all tokens, unknown words) on the test split and on the
out-of-domain set, mean ± std over seeds, with the most-frequent-tag baseline measured on the same
sentences beside every row.

A token's word is unknown when it never occurs in the training split; the baseline tags a known
word with its most frequent training tag and an unknown one with the most frequent tag overall.
"""

from __future__ import annotations

from typing import Any

from experiments.report import columns
from experiments.report.tables import Column, RunTable

Run = dict[str, Any]


def _baseline(name: str):
    """The baseline's accuracy (deterministic: the same for every seed)."""
    def value(run: Run) -> str:
        number = columns.metric(run, name)
        return "-" if number is None else f"{100 * number:.2f}"
    return value


def _model(run: Run) -> str:
    model = run["model"]
    direction = "bi" if model["bidirectional"] else ""
    chars = model.get("char_encoder", "none")
    word_dropout = run.get("config", {}).get("data", {}).get("word_dropout", 0.0)
    return (f"{model['num_layers']} x {model['hidden_size']} {direction}{model['cell']}, "
            f"emb {run.get('vectors') or 'random'} {model['embed_size']}d"
            + ("" if chars == "none" else f" + char {chars}")
            + (f", word dropout {word_dropout:g}" if word_dropout else ""))


# the rows of configs.py in the order of the table; other runs (e.g. your own data) follow
ORDER = ("lstm", "bilstm", "bigru", "bilstm2", "bilstm_glove", "bilstm_char", "bilstm_charcnn",
         "small_data")

TABLES = (
    RunTable(
        title="POS tagging: token accuracy % (test split | out-of-domain set)",
        select=lambda run: True,
        sort=lambda run: (ORDER.index(run["name"]) if run["name"] in ORDER else len(ORDER),
                          run["name"]),
        columns=(
            Column("run", lambda r: r["name"]),
            Column("train / test corpus", lambda r: r["corpus"]),
            Column("model", _model),
            columns.SEEDS,
            columns.EPOCHS,
            Column("test all", columns.percent("test_accuracy", 2)),
            Column("test unknown", columns.percent("test_unknown_accuracy", 2)),
            Column("baseline all", _baseline("test_baseline_accuracy")),
            Column("baseline unknown", _baseline("test_baseline_unknown_accuracy")),
            Column("out of domain", lambda r: r.get("ood_test") or "-"),
            Column("ood all", columns.percent("test_ood_accuracy", 2)),
            Column("ood unknown", columns.percent("test_ood_unknown_accuracy", 2)),
            Column("ood baseline all", _baseline("test_ood_baseline_accuracy")),
            Column("ood baseline unknown", _baseline("test_ood_baseline_unknown_accuracy")),
            columns.WALL_TIME,
            columns.STATUS,
        ),
        note=("Accuracy in % over all tokens and over unknown words (never seen in training); "
              "mean ± std over the seeds. Baseline: the most frequent training tag of each known "
              "word, the most frequent tag overall for unknown words, on the same sentences. "
              "Bidirectional LSTM taggers reach ~97.2-97.5% on WSJ sections 22-24 when trained "
              "on WSJ 0-18 (Plank et al. 2016, Huang et al. 2015); these rows train on the "
              "360k-token OANC sample, so the two are not comparable."),
    ),
)
