"""Logistic regression on character n-grams: the baseline of the names classifier.

Features: TF-IDF of the character n-grams of each name, with word-boundary padding
(scikit-learn's ``analyzer="char_wb"``, sublinear tf); model: multinomial logistic regression (L2,
lbfgs). The inverse regularisation strength C is chosen from a grid by the valid accuracy, then
the test split is scored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from absl import logging

from experiments.names.train import NameClassifierTask
from rnnjax.baselines import select_and_score, tfidf_logistic_regression


def fit(task: NameClassifierTask, ngrams: tuple[int, int], c_grid: Sequence[float]
        ) -> dict[str, Any]:
    """Fit on the loaded ``task``'s train split for every C, keep the best on valid, score test
    (``rnnjax.baselines.select_and_score``)."""
    make = partial(tfidf_logistic_regression, ngram_range=ngrams, analyzer="char_wb",
                   lowercase=False)
    fitted = select_and_score(
        make, {split: list(names.names) for split, names in task.splits.items()},
        {split: task.labels.encode(names.categories) for split, names in task.splits.items()},
        c_grid, log=logging.info)
    return {**fitted, "model": {"kind": "logistic regression",
                                "features": f"char_wb {ngrams[0]}-{ngrams[1]}-gram TF-IDF",
                                "C": fitted["C"]}}
