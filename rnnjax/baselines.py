"""Linear text-classification baselines on bags of n-grams (scikit-learn).

- ``tfidf_logistic_regression``: TF-IDF of word (or character) n-grams, sublinear tf
  (1 + log tf), L2-normalised rows, then multinomial logistic regression with an L2 penalty of
  inverse strength C.
- ``nbsvm``: NBSVM of Wang & Manning (2012), "Baselines and Bigrams", Section 2.3. With binarized
  n-gram features x̂ = 1{f > 0} and the positive / negative class sums
  p = alpha + sum_{i: y_i = 1} x̂_i and q = alpha + sum_{i: y_i = -1} x̂_i, the log-count ratio is

      r = log((p / ||p||_1) / (q / ||q||_1)),

  an L2-regularised L2-loss linear SVM (liblinear) is trained on x̂ ⊙ r, and its weights are
  interpolated with their mean magnitude w̄ = ||w||_1 / |V|: w' = (1 - beta) w̄ + beta w
  (beta = 0.25, alpha = 1, C = 1 in the paper). The bias, liblinear's last weight, is part of w
  and interpolated with it: keeping the SVM's bias beside weights shrunk to beta w shifts the
  decision (on the uncertainty sentences, 3 folds: 53 % accuracy against 78 %). Several
  classes: one-vs-rest, one r and one SVM per class, the class of the largest decision value
  wins.

``select_and_score`` fits a baseline for every C of a grid on a train split, keeps the C of the
best valid accuracy and scores the test split once; ``fit_fold`` does so for a kind of
``BASELINES`` on the splits of labelled text (``rnnjax.data.labelled``), with the classifiers'
tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from rnnjax.data.labelled import LabelledText
from rnnjax.validation import check_choice, check_nonnegative_float, check_positive_int, fail

BASELINES = ("tfidf_lr", "nbsvm")
# Each baseline's C grid, searched on the valid split.
C_GRIDS = {"tfidf_lr": (1.0, 3.0, 10.0, 30.0, 100.0), "nbsvm": (0.1, 0.3, 1.0)}
DESCRIPTIONS = {"tfidf_lr": "TF-IDF (sublinear tf) of word 1-2-grams, logistic regression "
                            "(liblinear; one-vs-rest for more than 2 classes)",
                "nbsvm": "NBSVM (Wang & Manning 2012): binarized word 1-2-grams, alpha 1, "
                         "beta 0.25, one-vs-rest L2-loss linear SVMs"}
# Short names for log lines ("model 52.1 % vs TF-IDF+LR 55.6 %").
LABELS = {"tfidf_lr": "TF-IDF+LR", "nbsvm": "NBSVM"}


def _identity(document: Any) -> Any:
    return document


# Vectorizer options for documents given as token lists (already tokenized, e.g. by clean_str).
PRETOKENIZED = {"tokenizer": _identity, "preprocessor": _identity, "lowercase": False,
                "token_pattern": None}


def log_count_ratio(features: Any, positive: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Wang & Manning's r = log((p/||p||_1) / (q/||q||_1)) of binarized ``features`` [n, V]
    (dense or sparse) with the boolean mask ``positive`` [n] of the positive examples."""
    alpha = check_nonnegative_float("log_count_ratio", "alpha", alpha)
    binary = scipy.sparse.csr_matrix(features, dtype=np.float64)
    binary.data = (binary.data > 0).astype(np.float64)
    positive = np.asarray(positive, bool)
    if not positive.any() or positive.all():
        fail("log_count_ratio", "positive", "a mask with both positive and negative examples",
             f"{int(positive.sum())} positive of {len(positive)}")
    p = alpha + np.asarray(binary[positive].sum(axis=0)).ravel()
    q = alpha + np.asarray(binary[~positive].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


class NBSVMClassifier(ClassifierMixin, BaseEstimator):
    """NBSVM on binarized count features (see the module docstring); ``fit`` sets ``classes_``,
    ``ratios_`` [problems, V] (one r per one-vs-rest problem; one problem for two classes),
    ``coef_`` [problems, V] (the interpolated w') and ``intercept_`` [problems]."""

    def __init__(self, C: float = 1.0, alpha: float = 1.0, beta: float = 0.25,
                 max_iter: int = 10000):
        self.C, self.alpha, self.beta, self.max_iter = C, alpha, beta, max_iter

    def _scaled(self, features: Any, ratio: np.ndarray) -> scipy.sparse.csr_matrix:
        binary = scipy.sparse.csr_matrix(features, dtype=np.float64)
        binary.data = (binary.data > 0).astype(np.float64)
        return binary @ scipy.sparse.diags(ratio)

    def fit(self, features: Any, labels: Sequence[Any]) -> NBSVMClassifier:
        if not 0 <= self.beta <= 1:
            fail("NBSVMClassifier", "beta", "a number in [0, 1]", repr(self.beta))
        labels = np.asarray(labels)
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            fail("NBSVMClassifier.fit", "labels", "at least 2 classes", list(self.classes_))
        positives = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        ratios, weights, biases = [], [], []
        for positive in positives:
            mask = labels == positive
            ratio = log_count_ratio(features, mask, self.alpha)
            svm = LinearSVC(C=self.C, max_iter=self.max_iter, random_state=0).fit(
                self._scaled(features, ratio), mask.astype(int))
            # liblinear's bias is its last weight: interpolated with the others
            w = np.append(svm.coef_.ravel(), svm.intercept_[0])
            interpolated = (1 - self.beta) * np.abs(w).mean() + self.beta * w
            ratios.append(ratio)
            weights.append(interpolated[:-1])
            biases.append(float(interpolated[-1]))
        self.ratios_, self.coef_ = np.stack(ratios), np.stack(weights)
        self.intercept_ = np.asarray(biases)
        return self

    def decision_function(self, features: Any) -> np.ndarray:
        """[n] (two classes: > 0 is ``classes_[1]``) or [n, classes] one-vs-rest scores."""
        scores = np.stack([self._scaled(features, r) @ w + b for r, w, b in
                           zip(self.ratios_, self.coef_, self.intercept_, strict=True)], axis=1)
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, features: Any) -> np.ndarray:
        scores = self.decision_function(features)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]


def tfidf_logistic_regression(C: float, *, ngram_range: tuple[int, int] = (1, 2),
                              solver: str = "lbfgs", **vectorizer: Any) -> Pipeline:
    """TF-IDF (sublinear tf) of n-grams -> logistic regression of inverse L2 strength ``C``
    (``solver="lbfgs"``: multinomial; ``"liblinear"``: one-vs-rest, the same binary model, and
    many times faster on long texts); ``vectorizer`` options go to ``TfidfVectorizer`` (e.g.
    ``analyzer="char_wb"``, or ``**PRETOKENIZED`` for token lists)."""
    return Pipeline([
        ("features", TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True, **vectorizer)),
        ("classifier", OneVsRestClassifier(LogisticRegression(C=C, solver=solver, max_iter=2000))
         if solver == "liblinear" else LogisticRegression(C=C, solver=solver, max_iter=2000))])


def nbsvm(C: float, *, ngram_range: tuple[int, int] = (1, 2), alpha: float = 1.0,
          beta: float = 0.25, **vectorizer: Any) -> Pipeline:
    """Binarized n-gram counts (uni+bigrams by default) -> ``NBSVMClassifier``."""
    return Pipeline([
        ("features", CountVectorizer(ngram_range=ngram_range, binary=True, **vectorizer)),
        ("classifier", NBSVMClassifier(C=C, alpha=alpha, beta=beta))])


def scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy and balanced accuracy (the mean over the classes present of their recall)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    recall = [np.mean(predicted[truth == k] == k) for k in np.unique(truth)]
    return {"accuracy": float(np.mean(truth == predicted)),
            "balanced_accuracy": float(np.mean(recall))}


def select_and_score(make: Callable[[float], Pipeline], documents: Mapping[str, Sequence[Any]],
                     labels: Mapping[str, np.ndarray], c_grid: Sequence[float],
                     log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit ``make(C)`` on the "train" split for every C of ``c_grid``, keep the one of the best
    "valid" accuracy (the first on ties), score "test" once.

    Returns valid_/test_ accuracy and balanced accuracy, the chosen ``C`` and the number of
    ``features`` (the fitted vocabulary of n-grams).
    """
    splits = {"train", "valid", "test"}
    missing = (splits - set(documents)) | (splits - set(labels))
    if missing:
        fail("select_and_score", "documents and labels", "splits train, valid and test",
             f"missing {sorted(missing)}")
    if not c_grid or any(isinstance(c, bool) or not c > 0 for c in c_grid):
        fail("select_and_score", "c_grid", "positive numbers, at least one", list(c_grid))
    best = None
    for c in c_grid:
        model = make(float(c)).fit(documents["train"], labels["train"])
        valid = scores(labels["valid"], model.predict(documents["valid"]))
        if log is not None:
            log(f"C={c:g}: valid accuracy {valid['accuracy']:.4f}")
        if best is None or valid["accuracy"] > best[1]["accuracy"]:
            best = (float(c), valid, model)
    c, valid, model = best
    test = scores(labels["test"], model.predict(documents["test"]))
    return {**{f"valid_{k}": v for k, v in valid.items()},
            **{f"test_{k}": v for k, v in test.items()}, "C": c,
            "features": len(model.named_steps["features"].vocabulary_)}


def fit_fold(kind: str, data: LabelledText, splits: Mapping[str, np.ndarray], max_len: int,
             c_grid: Sequence[float] | None = None,
             log: Callable[[str], None] | None = None, min_df: int = 1) -> dict[str, Any]:
    """Baseline ``kind`` of ``BASELINES`` fitted on ``splits["train"]`` of ``data`` (C chosen on
    "valid" from ``c_grid``, by default ``C_GRIDS[kind]``), scored on "test"
    (``select_and_score``'s fields); the tokens are the classifiers' (``data.tokenize()``, the
    first ``max_len`` of each text, all of them for 0). ``min_df``: only the n-grams found in at
    least that many training texts are features (1: all)."""
    check_choice("fit_fold", "kind", kind, BASELINES)
    check_positive_int("fit_fold", "min_df", min_df)
    tokens = [t[: max_len or None] for t in data.tokenize()]
    labels = data.label_ids
    # liblinear: lbfgs took 30-60 s a fit on a shared 2-core CPU (uncertainty, C >= 10)
    make = {"tfidf_lr": partial(tfidf_logistic_regression, solver="liblinear"),
            "nbsvm": nbsvm}[kind]
    return select_and_score(partial(make, min_df=min_df, **PRETOKENIZED),
                            {s: [tokens[i] for i in rows] for s, rows in splits.items()},
                            {s: labels[rows] for s, rows in splits.items()},
                            c_grid or C_GRIDS[kind], log=log)
