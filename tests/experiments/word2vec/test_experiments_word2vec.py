"""word2vec end to end on a small text file: the quick config, the export read by gensim, the
queries, the report, and one-line errors for bad corpora."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from absl.testing import flagsaver

from experiments.word2vec.configs import VARIANTS, get_config
from experiments.word2vec.query import main as query
from experiments.word2vec.train import Word2VecTask, train_and_evaluate
from rnnjax.data import load_splits, load_vectors, prepare

REPO = Path(__file__).resolve().parents[3]
QUESTIONS = ": family\nking queen lord lady\n: gram8-plural\nman men woman women\n"


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert (done.returncode == 0) == ok, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """word_benchmarks prepared from a stand-in gensim wheel."""
    root = tmp_path_factory.mktemp("w2v_data")
    wheel = root / "gensim-4.4.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("gensim/test/test_data/questions-words.txt", QUESTIONS)
        zf.writestr("gensim/test/test_data/wordsim353.tsv",
                    "# h\nking\tqueen\t8\nlove\thate\t3\nnight\tday\t6\nlord\tsword\t2\n")
        zf.writestr("gensim/test/test_data/simlex999.txt",
                    "# h\nking\tlord\t7\ngood\tsweet\t4\nlove\tnight\t1\n")
    prepare("word_benchmarks", data_dir=root / "data", archive=wheel, verify=False)
    return root / "data"


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("w2v_corpus") / "plays.txt"
    path.write_text(load_splits("shakespeare")["train"][:300_000])
    return path


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, data_dir, corpus_file) -> Path:
    """The default command's data path on a user text file, with the quick config's sizes."""
    workdir = tmp_path_factory.mktemp("w2v_run")
    run("experiments.word2vec", f"--config={REPO}/experiments/word2vec/configs.py:quick",
        f"--workdir={workdir}", "--config.data.corpus=text", f"--config.data.path={corpus_file}",
        f"--config.eval.data_dir={data_dir}", "--config.num_epochs=2")
    return workdir


def test_quick_run_records_the_settings_and_exports_vectors_gensim_reads(quick_run):
    config = json.loads((quick_run / "config.json").read_text())
    assert {k: config["data"][k] for k in ("window", "negatives", "min_count", "sample")} == {
        "window": 5, "negatives": 5, "min_count": 5, "sample": 1e-3}
    assert config["model"]["dim"] == 16 and config["num_epochs"] == 2
    results = json.loads((quick_run / "results.json").read_text())
    assert results["status"] == "complete" and results["steps"] == 6
    assert results["test_analogy_questions"] == 2 and results["test_wordsim353_pairs"] == 4
    assert -1 <= results["test_wordsim353"] <= 1 and results["test_loss"] < 4.16  # (1+5) ln 2
    metrics = [json.loads(line) for line in (quick_run / "metrics.jsonl").read_text().splitlines()]
    rates = [row["lr"] for row in metrics if "epoch" not in row]
    assert rates == sorted(rates, reverse=True) and rates[0] == pytest.approx(0.025)
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    theirs = keyed.load_word2vec_format(str(quick_run / "vectors.txt"))
    ours = load_vectors(quick_run / "vectors.txt")
    assert theirs.vector_size == 16 and list(theirs.index_to_key) == list(ours.words)
    assert abs(theirs["king"] - ours.vectors[ours.index["king"]]).max() < 1e-5
    assert (quick_run / "vocab.tsv").read_text().startswith("the\t")


def test_query_prints_neighbours_and_analogies_and_plots(quick_run, tmp_path, capsys):
    """``python -m experiments.word2vec.query``'s main, in-process with its flags parsed."""
    with flagsaver.as_parsed(vectors=str(quick_run), data_dir="", nearest="king",
                             analogy="king,queen,lord", topn="3", plot=str(tmp_path / "p.png"),
                             words="king:queen,lord:lady,night"):
        query([])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("king: ") and lines[0].count(",") == 2
    assert lines[1].startswith("king : queen :: lord : ")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_report_has_a_word2vec_table(quick_run, tmp_path):
    done = run("experiments.report", f"--results={quick_run}", f"--out_dir={tmp_path}")
    assert "### Skip-gram with negative sampling" in done.stdout and "| quick |" in done.stdout


@pytest.mark.parametrize(("text", "field", "error"), [
    ("... !!! ---\n", "config.data.path", "must be a corpus with at least one word"),
    ("one two three\n", "config.data.min_count", "must be at most the count of the corpus's "
     "most frequent word (1), so that the vocabulary is not empty, got 5"),
])
def test_bad_corpora_fail_naming_the_field(tmp_path, text, field, error):
    path = tmp_path / "corpus.txt"
    path.write_text(text)
    config = get_config("quick")
    config.data.corpus, config.data.path = "text", str(path)
    with pytest.raises(ValueError, match=r"word2vec|SkipGramVocab") as info:
        Word2VecTask(config).load(tmp_path)
    assert field in str(info.value) and error in str(info.value)


def test_configs_and_errors_before_training(tmp_path, corpus_file, data_dir):
    for variant in VARIANTS:
        assert get_config(variant).name == variant
    config = get_config("quick")
    config.data.corpus, config.data.path = "text", str(corpus_file)
    config.eval.data_dir = str(data_dir)
    config.data.batch_size = 1000
    with pytest.raises(ValueError, match=r"config.data.batch_size must be a multiple of "
                       r"config.optim.pairs_per_update \(64\), got 1000"):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match=r"config.data.path must be a text file or directory "
                       r"\(--config.data.path=FILE\), got None$"):  # the default command's
        train_and_evaluate(get_config(), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_query_names_the_line_of_a_vectors_file_with_inconsistent_dimensions(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("2 3\nking 0.1 0.2 0.3\nqueen 0.1 0.2\n")
    done = run("experiments.word2vec.query", f"--vectors={path}", "--nearest=king", ok=False)
    assert done.stderr.strip() == (f"error: load_vectors: line 3 of {path} must be a word and 3 "
                                   "numbers, got 2 numbers")
