"""Word-vector evaluation agrees with gensim's; queries and the 2-D projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnjax.data import WordVectors, load_analogies, load_word_pairs
from rnnjax.embeddings import (
    analogy,
    evaluate_analogies,
    evaluate_similarity,
    nearest,
    project_2d,
)

WORDS = ("the", "king", "queen", "man", "woman", "paris", "france", "rome", "italy", "Paris",
         "prince", "princess", "boy", "girl", "berlin", "germany")


def _vectors(seed: int = 0) -> WordVectors:
    """Random vectors with planted offsets (gender, capital-of), plus noise."""
    rng = np.random.default_rng(seed)
    base = {w: rng.normal(size=8) for w in WORDS}
    gender, capital = rng.normal(size=8), rng.normal(size=8)
    for male, female in (("king", "queen"), ("man", "woman"), ("prince", "princess"),
                         ("boy", "girl")):
        base[female] = base[male] + gender + 0.3 * rng.normal(size=8)
    for city, country in (("paris", "france"), ("rome", "italy"), ("berlin", "germany")):
        base[country] = base[city] + capital + 0.3 * rng.normal(size=8)
    return WordVectors(WORDS, np.stack([base[w] for w in WORDS]).astype(np.float32))


QUESTIONS = """: family
man woman king queen
king queen boy girl
man woman prince princess
boy girl man woman
man woman unknown queen
man woman paris berlin
king queen rome germany
: capital-world
paris france rome italy
rome italy berlin germany
Berlin Germany paris France
: gram-empty
missing words here now
"""
PAIRS = ("# comment\nking\tqueen\t8.5\nman\twoman\t8.3\nparis\tfrance\t7.0\nking\tthe\t1.0\n"
         "boy\tberlin\t0.5\nqueen\tunknownword\t3.0\nprince\tprincess\t7.5\n")


def test_analogies_and_similarity_match_gensim(tmp_path: Path):
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    vectors = _vectors()
    kv = keyed(vector_size=8)
    kv.add_vectors(list(vectors.words), vectors.vectors)
    (tmp_path / "q.txt").write_text(QUESTIONS)
    (tmp_path / "pairs.tsv").write_text(PAIRS)
    theirs, sections = kv.evaluate_word_analogies(str(tmp_path / "q.txt"))
    ours = evaluate_analogies(vectors, load_analogies(tmp_path / "q.txt"))
    assert ours["total"]["accuracy"] == pytest.approx(theirs)
    for section in sections[:-1]:  # gensim's last entry is the total
        assert ours["sections"][section["section"]]["correct"] == len(section["correct"])
        assert ours["sections"][section["section"]]["total"] == (
            len(section["correct"]) + len(section["incorrect"]))
    assert ours["skipped"] == 2 and 0 < ours["total"]["correct"] < ours["total"]["total"]
    _, spearman, oov = kv.evaluate_word_pairs(str(tmp_path / "pairs.tsv"))
    similarity = evaluate_similarity(vectors, load_word_pairs(path=tmp_path / "pairs.tsv"))
    assert similarity["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
    assert similarity["pairs"] == 6 and similarity["skipped"] == 1 and oov == pytest.approx(
        100 / 7)


def test_queries_and_projection():
    vectors = _vectors()
    best = nearest(vectors, "king", 3)
    assert len(best) == 3 and "king" not in [w for w, _ in best]
    assert best[0][1] >= best[1][1] >= best[2][1]
    assert analogy(vectors, "paris", "france", "rome", 1)[0][0] == "italy"
    assert analogy(vectors, "PARIS", "France", "Rome", 1)[0][0] == "italy"  # case-insensitive
    with pytest.raises(KeyError, match=r"analogy: words must be words in the vectors' "
                       r"vocabulary, got unknown \['nowhere'\]"):
        analogy(vectors, "paris", "france", "nowhere")
    points = project_2d(vectors, ["king", "queen", "man", "woman"])
    assert points.shape == (4, 2) and np.allclose(points.mean(0), 0.0, atol=1e-9)


def test_benchmark_files_errors_name_the_line(tmp_path: Path):
    (tmp_path / "q.txt").write_text(": family\nman woman king\n")
    with pytest.raises(ValueError, match=r"line 2 of .*q.txt must be four words a b c d"):
        load_analogies(tmp_path / "q.txt")
    (tmp_path / "q.txt").write_text("man woman king queen\n")
    with pytest.raises(ValueError, match=r"line 1 of .* must be a ': section' line first"):
        load_analogies(tmp_path / "q.txt")
    (tmp_path / "p.tsv").write_text("# c\nking\tqueen\t8\nking queen 8\n")
    with pytest.raises(ValueError, match=r"line 3 of .*p.tsv must be word1<TAB>word2<TAB>score"):
        load_word_pairs(path=tmp_path / "p.tsv")
