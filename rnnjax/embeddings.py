"""Queries and intrinsic evaluation of word vectors (any ``rnnjax.data.vectors.WordVectors``).

* nearest neighbours by cosine similarity;
* analogies a : b :: c : ? by 3CosAdd (Mikolov et al. 2013a): the word maximising
  cos(x, b - a + c) over unit vectors, excluding a, b and c;
* analogy accuracy on question sets by section, as gensim's ``evaluate_word_analogies``: words
  compared case-insensitively (the most frequent row of a lower-cased form represents it), the
  search restricted to the ``restrict`` most frequent words, a question counted only when its
  four words are among them;
* Spearman's rank correlation between cosine similarity and human scores on word pairs, on the
  pairs whose words are both known (gensim's ``evaluate_word_pairs``);
* a 2-D projection (PCA) of chosen words;
* ``benchmark_metrics``: all of the evaluation as one flat dict of numbers (a run's metrics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

from rnnjax.data.vectors import WordVectors
from rnnjax.validation import check_positive_int, fail

RESTRICT = 300_000  # gensim's default restrict_vocab
_QUERY_CHUNK = 256  # analogy questions scored against the vocabulary at once


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


class CaseFolded:
    """The ``restrict`` most frequent rows of ``vectors``, one per lower-cased form (its first,
    i.e. most frequent, row), unit-normalised."""

    def __init__(self, vectors: WordVectors, restrict: int = RESTRICT):
        rows: dict[str, int] = {}
        for i, word in enumerate(vectors.words[:restrict]):
            rows.setdefault(word.lower(), i)
        self.words = tuple(rows)
        self.index = {word: i for i, word in enumerate(self.words)}
        self.unit = unit_rows(np.asarray(vectors.vectors[list(rows.values())], np.float32))

    def get(self, word: str) -> int | None:
        return self.index.get(word.lower())


def _lookup(where: str, folded: CaseFolded, words: Sequence[str]) -> list[int]:
    missing = [w for w in words if folded.get(w) is None]
    if missing:
        fail(where, "words", "words in the vectors' vocabulary", f"unknown {missing}", KeyError)
    return [folded.get(w) for w in words]


def nearest(vectors: WordVectors, word: str, topn: int = 10, *, restrict: int = RESTRICT
            ) -> list[tuple[str, float]]:
    """The ``topn`` words most cosine-similar to ``word`` (itself excluded)."""
    folded = CaseFolded(vectors, restrict)
    (row,) = _lookup("nearest", folded, [word])
    scores = folded.unit @ folded.unit[row]
    scores[row] = -np.inf
    best = np.argsort(-scores)[:check_positive_int("nearest", "topn", topn)]
    return [(folded.words[i], float(scores[i])) for i in best]


def analogy(vectors: WordVectors, a: str, b: str, c: str, topn: int = 10, *,
            restrict: int = RESTRICT) -> list[tuple[str, float]]:
    """a : b :: c : ? -- the ``topn`` words closest to unit(b) - unit(a) + unit(c) (3CosAdd)."""
    folded = CaseFolded(vectors, restrict)
    rows = _lookup("analogy", folded, [a, b, c])
    query = unit_rows((folded.unit[rows[1]] - folded.unit[rows[0]] + folded.unit[rows[2]])[None])
    scores = folded.unit @ query[0]
    scores[rows] = -np.inf
    best = np.argsort(-scores)[:check_positive_int("analogy", "topn", topn)]
    return [(folded.words[i], float(scores[i])) for i in best]


def evaluate_analogies(vectors: WordVectors, sections: Mapping[str, Sequence[Sequence[str]]], *,
                       restrict: int = RESTRICT) -> dict[str, Any]:
    """{"sections": {name: {"correct", "total", "accuracy"}}, "semantic", "syntactic" (sections
    named "gram*"), "total": the same over all, "skipped": questions with an unknown word}."""
    folded = CaseFolded(vectors, restrict)
    results, skipped = {}, 0
    for name, questions in sections.items():
        rows = [[folded.get(w) for w in q] for q in questions]
        known = np.asarray([r for r in rows if None not in r], np.int64).reshape(-1, 4)
        skipped += len(rows) - len(known)
        correct = 0
        for start in range(0, len(known), _QUERY_CHUNK):
            a, b, c, d = known[start:start + _QUERY_CHUNK].T
            query = unit_rows(folded.unit[b] - folded.unit[a] + folded.unit[c])
            scores = query @ folded.unit.T
            lines = np.arange(len(a))
            for excluded in (a, b, c):
                scores[lines, excluded] = -np.inf
            correct += int((scores.argmax(1) == d).sum())
        results[name] = _accuracy(correct, len(known))

    def pooled(names: Sequence[str]) -> dict[str, Any]:
        return _accuracy(sum(results[n]["correct"] for n in names),
                         sum(results[n]["total"] for n in names))

    return {"sections": results,
            "semantic": pooled([n for n in results if not n.startswith("gram")]),
            "syntactic": pooled([n for n in results if n.startswith("gram")]),
            "total": pooled(list(results)), "skipped": skipped}


def _accuracy(correct: int, total: int) -> dict[str, Any]:
    return {"correct": correct, "total": total,
            "accuracy": correct / total if total else float("nan")}


def evaluate_similarity(vectors: WordVectors, pairs: Sequence[tuple[str, str, float]], *,
                        restrict: int = RESTRICT) -> dict[str, Any]:
    """{"spearman": rho of cosine similarity vs the human scores, "pairs": pairs used,
    "skipped": pairs with an unknown word} (rho is NaN with fewer than 3 pairs)."""
    folded = CaseFolded(vectors, restrict)
    found = [(folded.get(a), folded.get(b), score) for a, b, score in pairs]
    found = [f for f in found if f[0] is not None and f[1] is not None]
    if len(found) < 3:
        return {"spearman": float("nan"), "pairs": len(found),
                "skipped": len(pairs) - len(found)}
    a, b, human = (np.asarray(column) for column in zip(*found, strict=True))
    cosine = (folded.unit[a] * folded.unit[b]).sum(1)
    rho = scipy.stats.spearmanr(cosine, human).statistic
    return {"spearman": float(rho), "pairs": len(found), "skipped": len(pairs) - len(found)}


def project_2d(vectors: WordVectors, words: Sequence[str]) -> np.ndarray:
    """[len(words), 2]: the words' unit vectors projected on their first two principal
    components."""
    if len(words) < 2:
        fail("project_2d", "words", "at least two words", list(words))
    folded = CaseFolded(vectors, len(vectors))
    points = folded.unit[_lookup("project_2d", folded, words)].astype(np.float64)
    centred = points - points.mean(0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T


def benchmark_metrics(vectors: WordVectors, analogies: Mapping[str, Any],
                      word_pairs: Mapping[str, Any], *, restrict: int = RESTRICT
                      ) -> dict[str, float]:
    """Flat metrics: analogy accuracy (total, semantic, syntactic, each section) with the number
    of questions answered, and Spearman's rho with the pairs found on each similarity set."""
    result = evaluate_analogies(vectors, analogies, restrict=restrict)
    metrics = {"analogy": result["total"]["accuracy"],
               "analogy_questions": result["total"]["total"],
               "analogy_semantic": result["semantic"]["accuracy"],
               "analogy_syntactic": result["syntactic"]["accuracy"]}
    metrics.update({f"analogy/{name}": section["accuracy"]
                    for name, section in result["sections"].items() if section["total"]})
    for name, pairs in word_pairs.items():
        similarity = evaluate_similarity(vectors, pairs, restrict=restrict)
        metrics[name] = similarity["spearman"]
        metrics[f"{name}_pairs"] = similarity["pairs"]
    return metrics
