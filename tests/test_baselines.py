"""rnnjax.baselines: NBSVM's log-count ratios against numbers worked out by hand from Wang &
Manning's formula, its interpolation against a plain SVM, and both baselines learning a
separable three-class set with C chosen on valid."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.svm import LinearSVC

from rnnjax.baselines import (
    PRETOKENIZED,
    NBSVMClassifier,
    log_count_ratio,
    nbsvm,
    select_and_score,
    tfidf_logistic_regression,
)

# positive: "good fun", "good good" (binarized: good counts once); negative: "bad", "bad fun"
DOCS = ["good fun", "good good", "bad", "bad fun"]
LABELS = np.array(["pos", "pos", "neg", "neg"])


def test_log_count_ratio_by_hand():
    vectorizer = CountVectorizer(ngram_range=(1, 2))
    counts = vectorizer.fit_transform(DOCS)
    assert vectorizer.get_feature_names_out().tolist() == [
        "bad", "bad fun", "fun", "good", "good fun", "good good"]
    # alpha = 1: p = 1 + (0, 0, 1, 2, 1, 1) = (1, 1, 2, 3, 2, 2), |p|_1 = 11
    #            q = 1 + (2, 1, 1, 0, 0, 0) = (3, 2, 2, 1, 1, 1), |q|_1 = 10
    p, q = (1, 1, 2, 3, 2, 2), (3, 2, 2, 1, 1, 1)
    expected = [math.log((pi / 11) / (qi / 10)) for pi, qi in zip(p, q, strict=True)]
    np.testing.assert_allclose(log_count_ratio(counts, LABELS == "pos"), expected, rtol=1e-12)
    # alpha = 0.5: p = (.5, .5, 1.5, 2.5, 1.5, 1.5) sums to 8, q = (2.5, 1.5, 1.5, .5, .5, .5) to 7
    p, q = (.5, .5, 1.5, 2.5, 1.5, 1.5), (2.5, 1.5, 1.5, .5, .5, .5)
    expected = [math.log((pi / 8) / (qi / 7)) for pi, qi in zip(p, q, strict=True)]
    np.testing.assert_allclose(log_count_ratio(counts, LABELS == "pos", 0.5), expected,
                               rtol=1e-12)
    # the pipeline's classifier holds the same r for the positive class (classes_[1] = "pos")
    model = nbsvm(1.0).fit(DOCS, LABELS)
    np.testing.assert_allclose(model.named_steps["classifier"].ratios_[0],
                               log_count_ratio(counts, LABELS == "pos"), rtol=1e-12)


def test_nbsvm_interpolates_a_plain_svm_on_scaled_features():
    rng = np.random.default_rng(0)
    features = (rng.random((40, 12)) < 0.3).astype(float)
    labels = (features[:, 0] + features[:, 1] > features[:, 2]).astype(int)
    model = NBSVMClassifier(C=0.5, beta=0.25).fit(features, labels)
    ratio = log_count_ratio(features, labels == 1)
    svm = LinearSVC(C=0.5, max_iter=10000).fit(features * ratio, labels)
    w, b = svm.coef_.ravel(), svm.intercept_[0]
    mean_magnitude = (np.abs(w).sum() + abs(b)) / 13  # 12 weights and the bias
    np.testing.assert_allclose(model.coef_[0], 0.75 * mean_magnitude + 0.25 * w, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_[0], 0.75 * mean_magnitude + 0.25 * b, rtol=1e-6)
    scores = (features * ratio) @ model.coef_[0] + model.intercept_[0]
    np.testing.assert_allclose(model.decision_function(features), scores, rtol=1e-6)


def test_nbsvm_rejects_one_class_and_bad_beta():
    with pytest.raises(ValueError, match="labels must be at least 2 classes"):
        NBSVMClassifier().fit(np.eye(3), [1, 1, 1])
    with pytest.raises(ValueError, match="beta must be a number in"):
        NBSVMClassifier(beta=1.5).fit(np.eye(2), [0, 1])


def _separable(n: int, seed: int) -> tuple[list[list[str]], np.ndarray]:
    """Three classes: each sentence holds one of its class's marker words among shared noise."""
    rng = np.random.default_rng(seed)
    markers = [["apple", "pear"], ["car", "bus"], ["rain", "snow"]]
    noise = [f"w{i}" for i in range(30)]
    labels = rng.integers(0, 3, n)
    docs = [[*rng.choice(noise, 5), markers[y][rng.integers(2)], *rng.choice(noise, 3)]
            for y in labels]
    return docs, labels


@pytest.mark.parametrize("make", [tfidf_logistic_regression, nbsvm,
                                  partial(tfidf_logistic_regression, solver="liblinear")])
def test_baselines_learn_a_separable_set(make):
    splits = {"train": _separable(300, 0), "valid": _separable(40, 1), "test": _separable(60, 2)}
    fitted = select_and_score(lambda c: make(c, **PRETOKENIZED),
                              {k: d for k, (d, _) in splits.items()},
                              {k: y for k, (_, y) in splits.items()}, c_grid=(0.01, 10.0, 100.0))
    assert fitted["test_accuracy"] == 1.0 and fitted["valid_accuracy"] == 1.0
    assert fitted["features"] > 36  # 36 words and the bigrams
    if make is not nbsvm:  # logistic regression with C = 0.01 underfits (valid accuracy ~1/3)
        assert fitted["C"] > 0.01


def test_select_and_score_checks_its_inputs():
    with pytest.raises(ValueError, match="c_grid must be positive numbers"):
        select_and_score(nbsvm, {"train": [], "valid": [], "test": []},
                         {"train": [], "valid": [], "test": []}, c_grid=())
    with pytest.raises(ValueError, match=r"missing \['test'\]"):
        select_and_score(nbsvm, {"train": [], "valid": []},
                         {"train": [], "valid": [], "test": []}, c_grid=(1.0,))


def test_fit_fold_min_df_keeps_the_ngrams_of_at_least_that_many_training_texts(tmp_path):
    """Training texts (rows 0-3 of a user file): "a b", "a c", "a b", "d e". With min_df=2 the
    features are the n-grams in >= 2 of them: "a" (3), "b" (2), "a b" (2) -> 3; with min_df=1
    all 8 (a, b, c, d, e, "a b", "a c", "d e"); min_df=0 is refused."""
    from rnnjax.baselines import fit_fold
    from rnnjax.data.labelled import load_labelled

    path = tmp_path / "texts.tsv"
    path.write_text("x\ta b\ny\ta c\nx\ta b\ny\td e\nx\ta b\ny\td e\n", encoding="utf-8")
    data = load_labelled("file", path=path)
    splits = {"train": np.arange(4), "valid": np.array([4]), "test": np.array([5])}
    assert fit_fold("tfidf_lr", data, splits, 0, (1.0,), min_df=2)["features"] == 3
    assert fit_fold("tfidf_lr", data, splits, 0, (1.0,))["features"] == 8
    with pytest.raises(ValueError, match="min_df"):
        fit_fold("tfidf_lr", data, splits, 0, (1.0,), min_df=0)
