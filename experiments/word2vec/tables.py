"""The word2vec tables: each run's vectors beside gensim's ``Word2Vec(sg=1)`` trained on the same
sentences with the same settings and beside GloVe 6B 50d (``python -m experiments.word2vec.peers
--workdir=RUN`` writes RUN/peers.json), on analogies (questions-words, 3CosAdd, % correct of the
questions whose four words are known) and word similarity (Spearman's rho on WordSim-353 and
SimLex-999).

GloVe is shown twice: restricted to the run's vocabulary (the same questions and pairs as ours)
and with its own 400,000 words (restricted to the 300,000 most frequent, as gensim evaluates).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from experiments.report import columns
from experiments.report.tables import Column, RunTable, minutes
from experiments.word2vec.train import PEERS_FILE
from rnnjax.data.vectors import GLOVE as GLOVE_VECTORS

Run = dict[str, Any]
SECTIONS = ("capital-common-countries", "capital-world", "currency", "city-in-state", "family",
            "gram1-adjective-to-adverb", "gram2-opposite", "gram3-comparative",
            "gram4-superlative", "gram5-present-participle", "gram6-nationality-adjective",
            "gram7-past-tense", "gram8-plural", "gram9-plural-verbs")


def peers(run: Run) -> dict[str, Any]:
    path = Path(run["workdir"]) / PEERS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _format(value: Any, percent: bool) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


def _metric(metric: str, source: str, percent: bool = False):
    def value(run: Run) -> str:
        found = run.get(f"test_{metric}") if source == "ours" else peers(run).get(
            source, {}).get(metric)
        return _format(found, percent)
    return value


def _settings(run: Run) -> str:
    data = run["config"]["data"]
    phrases = f", phrases {data['phrases']}" if data.get("phrases") else ""
    return (f"d {run['config']['model']['dim']}, win {data['window']}, neg {data['negatives']}, "
            f"min {data['min_count']}, t {data['sample']:g}, {run['num_epochs']} ep{phrases}")


def _speed(run: Run) -> str:
    """Corpus words per second of training: ours (from pairs/s in the last epoch) / gensim's."""
    pairs_per_s, pairs = run.get("train_pairs_per_s"), run.get("pairs_per_epoch")
    ours = pairs_per_s * run["words"] / pairs if pairs_per_s and pairs else None
    gensim = peers(run).get("gensim", {}).get("corpus_words_per_s")
    return " / ".join("-" if v is None else f"{v / 1000:,.0f}k" for v in (ours, gensim))


GLOVE_SAME, GLOVE = f"{GLOVE_VECTORS}_same_vocab", GLOVE_VECTORS
_SYSTEMS = (("ours", "ours"), ("gensim", "gensim"), (GLOVE_SAME, "GloVe*"), (GLOVE, "GloVe"))
_LABELS = " / ".join(label for _, label in _SYSTEMS)


def _systems(metric: str, percent: bool = False):
    """'ours / gensim / GloVe* / GloVe' values of ``metric``."""
    return lambda run: " / ".join(_metric(metric, source, percent)(run)
                                  for source, _ in _SYSTEMS)

QUALITY = RunTable(
    title="Skip-gram with negative sampling: ours vs gensim (same corpus, same settings) vs GloVe",
    select=lambda run: run.get("kind") != "ablation",
    columns=(
        Column("run", lambda r: r["name"]),
        Column("corpus (words, vocabulary)",
               lambda r: f"{r.get('corpus')} ({r.get('words', 0):,}, {r.get('vocab_size', 0):,})"),
        Column("settings", _settings),
        Column("questions", lambda r: f"{r.get('test_analogy_questions', 0):,}"),
        Column(f"analogy % ({_LABELS})", _systems("analogy", True)),
        Column(f"WS-353 rho ({_LABELS})", _systems("wordsim353")),
        Column(f"SimLex rho ({_LABELS})", _systems("simlex999")),
        Column("words/s (ours / gensim)", _speed),
        columns.WALL_TIME,
        columns.STATUS,
    ),
    note=("GloVe* = GloVe 6B 50d restricted to the run's vocabulary (the same questions and pairs "
          "as ours); GloVe = its 300,000 most frequent words (trained on 6 billion tokens, so not "
          "a like-for-like comparison). Analogy: % of the answered questions; WS-353, SimLex: "
          "Spearman's rho on the pairs whose words are known. words/s: corpus words per second of "
          "training (ours: the last epoch's pairs/s, evaluation excluded; gensim: its train(), 2 "
          "threads), measured while other jobs shared the machine; benchmarks/word2vec_cpu.py "
          "compares the two in the same run. '-' = not measured."),
)

SECTION_TABLE = RunTable(
    title="Analogy accuracy by section, % (ours / gensim on the same corpus)",
    select=lambda run: "test_analogy" in run and run.get("kind") != "ablation",
    columns=(
        Column("run", lambda r: r["name"]),
        Column("semantic", lambda r: " / ".join(
            _metric("analogy_semantic", s, True)(r) for s in ("ours", "gensim"))),
        Column("syntactic", lambda r: " / ".join(
            _metric("analogy_syntactic", s, True)(r) for s in ("ours", "gensim"))),
        *(Column(section, lambda r, s=section: " / ".join(
            _metric(f"analogy/{s}", source, True)(r) for source in ("ours", "gensim")))
          for section in SECTIONS),
    ),
)



def _spread(metric: str, percent: bool = False):
    """'mean ± std' of ``metric`` over an ablation row's seeds."""
    def value(run: Run) -> str:
        mean, std = run.get("mean", {}).get(metric), run.get("std", {}).get(metric)
        if mean is None:
            return "-"
        return f"{_format(mean, percent)} ± {_format(std, percent)}"
    return value


ABLATION = RunTable(
    title="Ablation: rnnjax's SGNS vs gensim's, one change per row (mean ± std over seeds)",
    select=lambda run: run.get("kind") == "ablation",
    columns=(
        Column("corpus", lambda r: r.get("corpus", "")),
        Column("row", lambda r: r["name"]),
        Column("engine", lambda r: r.get("engine", "")),
        Column("change", lambda r: r.get("change", "")),
        Column("seeds", lambda r: str(len(r.get("replicates", ())))),
        Column("analogy %", _spread("test_analogy", True)),
        Column("WS-353 rho", _spread("test_wordsim353")),
        Column("SimLex rho", _spread("test_simlex999")),
        Column("wall time", minutes),
    ),
    sort=lambda r: (r.get("corpus", ""), r.get("engine", ""), r["name"]),
    note=("`python -m experiments.word2vec.ablation --config=experiments/word2vec/configs.py:"
          "CORPUS --workdir=results/word2vec/ablation/CORPUS` (experiments/word2vec/"
          "ablation.py): the corpus's settings with the one change named; seeds 0, 1, 2. "
          "Quality only (the machine was shared, so the wall times are not speeds)."),
)

TABLES = (QUALITY, SECTION_TABLE, ABLATION)
