"""Logistic regression on character n-grams: the baseline of the names classifier.

Features: TF-IDF of the character n-grams of each name, with word-boundary padding
(scikit-learn's ``analyzer="char_wb"``, sublinear tf); model: multinomial logistic regression (L2,
lbfgs). The inverse regularisation strength C is chosen from a grid by the valid accuracy, then
the test split is scored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from absl import logging

from experiments.names.train import NameClassifierTask


def scores(truth: np.ndarray, predicted: np.ndarray, classes: int) -> dict[str, float]:
    """Accuracy and balanced accuracy (mean per-class recall)."""
    recall = [np.mean(predicted[truth == k] == k) for k in range(classes) if (truth == k).any()]
    return {"accuracy": float(np.mean(truth == predicted)),
            "balanced_accuracy": float(np.mean(recall))}


def fit(task: NameClassifierTask, ngrams: tuple[int, int], c_grid: Sequence[float]
        ) -> dict[str, Any]:
    """Fit on the loaded ``task``'s train split for every C, keep the best on valid, score test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, lowercase=False,
                                 sublinear_tf=True)
    x = {split: (vectorizer.fit_transform if split == "train" else vectorizer.transform)(
        list(names.names)) for split, names in task.splits.items()}
    y = {split: task.labels.encode(names.categories) for split, names in task.splits.items()}
    best = None
    for c in c_grid:
        model = LogisticRegression(C=c, max_iter=2000).fit(x["train"], y["train"])
        valid = scores(y["valid"], model.predict(x["valid"]), len(task.labels))
        logging.info("C=%g: valid accuracy %.4f", c, valid["accuracy"])
        if best is None or valid["accuracy"] > best[1]["accuracy"]:
            best = (c, valid, model)
    c, valid, model = best
    test = scores(y["test"], model.predict(x["test"]), len(task.labels))
    return {**{f"valid_{k}": v for k, v in valid.items()},
            **{f"test_{k}": v for k, v in test.items()}, "features": x["train"].shape[1],
            "C": c, "model": {"kind": "logistic regression",
                              "features": f"char_wb {ngrams[0]}-{ngrams[1]}-gram TF-IDF", "C": c}}
