"""The tagging experiment end to end on small files: the quick config on a word/TAG corpus with a
CoNLL out-of-domain test, the most-frequent-tag baseline, and one-line errors for bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from flax import nnx

from experiments.tagging.configs import get_config
from experiments.tagging.train import (
    TaggingTask,
    most_frequent_tags,
    train_and_evaluate,
    unknown_rates,
)
from rnnjax.data import Vocab, WordVectors, save_word2vec_text

NOUNS, VERBS = ("cat", "dog", "bird", "fish"), ("sees", "likes", "hears")


def sentence(rng: np.random.Generator) -> list[tuple[str, str]]:
    """DT NN VBZ DT NN ., e.g. the/DT cat/NN sees/VBZ a/DT dog/NN ./."""
    def noun():
        return [(str(rng.choice(["the", "a"])), "DT"), (str(rng.choice(NOUNS)), "NN")]
    return [*noun(), (str(rng.choice(VERBS)), "VBZ"), *noun(), (".", ".")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """A word/TAG corpus of 60 sentences and a CoNLL file of 10 sentences with a new word."""
    folder, rng = tmp_path_factory.mktemp("tagged"), np.random.default_rng(0)
    train = [sentence(rng) for _ in range(60)]
    (folder / "corpus.txt").write_text(
        "".join(" ".join(f"{w}/{t}" for w, t in s) + "\n" for s in train))
    ood = [[("the", "DT"), ("cow", "NN"), *s[2:]] for s in (sentence(rng) for _ in range(10))]
    (folder / "ood.conll").write_text("\n".join("".join(f"{w}\t{t}\n" for w, t in s)
                                                for s in ood))
    return {"corpus": folder / "corpus.txt", "ood": folder / "ood.conll"}


def test_quick_config_end_to_end_with_the_baseline_beside(corpus, tmp_path):
    config = get_config("quick")
    config.data.corpus, config.data.ood_test = str(corpus["corpus"]), str(corpus["ood"])
    # up to 8 passes over the 48 training sentences (early stopping once valid accuracy stalls)
    config.num_epochs, config.steps_per_epoch = 8, 0
    config.optim.learning_rate = 2e-2
    results = train_and_evaluate(config, tmp_path / "run")
    assert results["status"] == "complete" and 2 <= results["epochs"] <= 8
    assert json.loads((tmp_path / "run" / "results.json").read_text())["name"] == "quick"
    # every known word has one tag here, and "cow" (unknown) is a noun, not the commonest DT
    assert results["test_baseline_accuracy"] == 1.0 and results["test_unknown_fraction"] == 0.0
    assert "test_unknown_accuracy" not in results  # undefined without unknown words
    assert results["test_ood_unknown_fraction"] == pytest.approx(1 / 6)
    assert results["test_ood_baseline_unknown_accuracy"] == 0.0
    assert results["test_ood_baseline_accuracy"] == pytest.approx(5 / 6)
    # learnt: each word's tag (the commonest tag, DT, is 1/3 of the tokens); the unknown "cow"
    # follows "the" like the nouns it has seen
    assert results["test_accuracy"] >= 0.95 and results["valid_accuracy"] >= 0.95
    assert results["test_ood_accuracy"] >= 0.8
    assert json.loads((tmp_path / "run" / "tags.json").read_text())["names"] == [
        ".", "DT", "NN", "VBZ"]


def plural_corpus(folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Sentences of 6 random nouns, each singular (NN: a stem without "s") or plural (NNS: the
    stem + "s"), so only a word's letters tell its tag; the out-of-domain file has new stems."""
    def stems(n: int) -> list[str]:
        return ["".join(rng.choice(list("abcdefghklmnoprtu"), 4)) for _ in range(n)]

    def sentences(pool: list[str], n: int) -> list[list[tuple[str, str]]]:
        return [[(w + "s", "NNS") if rng.random() < 0.5 else (w, "NN")
                 for w in rng.choice(pool, 6)] for _ in range(n)]

    known, new = stems(30), stems(20)
    paths = {"corpus": folder / "plural.txt", "ood": folder / "plural_ood.txt"}
    for path, rows in ((paths["corpus"], sentences(known, 80)), (paths["ood"], sentences(new, 20))):
        path.write_text("".join(" ".join(f"{w}/{t}" for w, t in s) + "\n" for s in rows))
    return paths


@pytest.mark.parametrize("variant", ["bilstm_charcnn", "bilstm_char"])
def test_char_features_tag_unknown_words_by_their_letters(variant, tmp_path):
    """Unknown words are all <unk> to the word embedding (50 % at best here); the characters
    of the char variants tell NN from NNS. The run saves its character vocabulary."""
    paths = plural_corpus(tmp_path, np.random.default_rng(1))
    config = get_config(variant)
    config.seeds, config.data.batch_size = 1, 8
    config.model.embed_size = config.model.hidden_size = 8
    config.model.char_embed_size = config.model.char_size = 8
    config.data.corpus, config.data.ood_test = str(paths["corpus"]), str(paths["ood"])
    config.num_epochs, config.patience, config.optim.learning_rate = 6, 0, 2e-2
    results = train_and_evaluate(config, tmp_path / "run")
    assert results["test_ood_unknown_fraction"] == 1.0
    assert results["test_ood_unknown_accuracy"] >= 0.9
    chars = json.loads((tmp_path / "run" / "chars.json").read_text())
    assert "s" in chars["tokens"]


def test_most_frequent_tag_counts_per_word_and_falls_back_to_the_commonest():
    train = [(("the", "run", "run"), ("DT", "NN", "VB")), (("run", "a"), ("VB", "DT")),
             (("the",), ("DT",))]
    assert most_frequent_tags(train) == ({"the": "DT", "run": "VB", "a": "DT"}, "DT")


def test_malformed_token_is_one_line_naming_token_line_and_file(tmp_path):
    """The message (in-process; rnnjax.cli prints it as the command's one line) and nothing
    written."""
    bad = tmp_path / "bad.txt"
    bad.write_text("the/DT cat/NN\nthe/DT dog NN/NN\n")
    config = get_config("quick")
    config.data.corpus = str(bad)
    with pytest.raises(ValueError, match="^" + re.escape(
            f"read_tagged: token 'dog' at line 2 of {bad} must be word/TAG (a word, a slash "
            "and a tag; the tag follows the last slash), got 'the/DT dog NN/NN'") + "$"):
        train_and_evaluate(config, tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_pretrained_vectors_initialise_the_embedding_and_extend_the_vocabulary(corpus, tmp_path):
    """data.vectors: a word's row is its lowercase form's vector; data.vectors_vocab adds the
    vectors' first words ("cow", unseen in training, then known in the out-of-domain test)."""
    words = ("cat", "cow", "the")
    vectors = np.arange(3 * 8, dtype=np.float32).reshape(3, 8)
    path = tmp_path / "vectors.txt"
    save_word2vec_text(WordVectors(words, vectors), path)
    config = get_config("quick")
    config.data.corpus, config.data.ood_test = str(corpus["corpus"]), str(corpus["ood"])
    config.data.vectors, config.data.vectors_vocab = str(path), 3
    task = TaggingTask(config)
    task.load(tmp_path / "run")
    model = task.build_model(nnx.Rngs(0))
    table = np.asarray(model.embed.embedding[...])
    for word, row in zip(words, vectors, strict=True):
        np.testing.assert_array_equal(table[task.vocab.lookup([word])[0]], row)
    assert "cow" in task.vocab.tokens


def test_unknown_rates_are_alpha_over_alpha_plus_count():
    """Kiperwasser & Goldberg's word dropout: p(<unk> | w) = alpha / (alpha + count(w)), none
    for the special tokens or for words without a training count."""
    vocab = Vocab(("<unk>", "<eos>", "the", "cat", "glove_only"), "word")
    rates = unknown_rates(vocab, {"the": 3, "cat": 1}, 0.25)
    np.testing.assert_allclose(rates, [0.0, 0.0, 0.25 / 3.25, 0.25 / 1.25, 0.0])


def test_word_dropout_replaces_training_words_by_unk_at_their_rates(corpus, tmp_path):
    """Each word of the training batches becomes <unk> at about its rate (the commonest words,
    "the"/"a"/".", too), the same draw whenever a batch is asked for again (resumed runs), and
    the character features still read the dropped word's letters."""
    config = get_config("bilstm_charcnn")
    config.data.corpus, config.data.ood_test = str(corpus["corpus"]), ""
    config.data.min_count, config.data.word_dropout, config.data.batch_size = 1, 20.0, 8
    task = TaggingTask(config)
    task.load(tmp_path / "run")
    config.data.word_dropout = 0.0
    plain = TaggingTask(config)
    plain.load(tmp_path / "run")
    seen, dropped = np.zeros(len(task.vocab)), np.zeros(len(task.vocab))
    for epoch in range(20):
        for index in range(task.num_batches(epoch)):
            batch, words = task.batch(epoch, index), plain.batch(epoch, index)
            np.testing.assert_array_equal(task.batch(epoch, index)["words"], batch["words"])
            np.testing.assert_array_equal(batch["chars"], words["chars"])
            real = np.arange(batch["words"].shape[1]) < batch["words_lengths"][:, None]
            kept = batch["words"] == words["words"]
            assert np.all(kept | (batch["words"] == task.vocab.unk_id))
            np.add.at(seen, words["words"][real], 1)
            np.add.at(dropped, words["words"][real], ~kept[real])
    frequent = seen >= 400
    assert frequent.sum() >= 3
    np.testing.assert_allclose(dropped[frequent] / seen[frequent],
                               task.unknown_rates[frequent], atol=0.05)
    assert task.unknown_rates[frequent].max() > 0.15  # a test that a rate of 0 would fail


def test_small_data_tests_the_parameters_of_its_best_valid_epoch(tmp_path):
    """With the valid file as the test file, the test accuracy is the best valid epoch's, not
    the last epoch's (a learning rate this high makes the valid accuracy fall after a peak)."""
    paths = plural_corpus(tmp_path, np.random.default_rng(1))
    config = get_config("small_data")
    config.seeds, config.data.batch_size = 1, 8
    config.model.embed_size = config.model.hidden_size = 8
    config.model.char_embed_size = config.model.char_size = 4
    config.data.corpus, config.data.ood_test = str(paths["corpus"]), ""
    config.data.valid = config.data.test = str(paths["ood"])
    config.num_epochs, config.patience, config.optim.learning_rate = 4, 4, 0.2
    results = train_and_evaluate(config, tmp_path / "run")
    valid = [json.loads(line)["valid_accuracy"]
             for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
             if '"epoch"' in line]
    assert len(valid) == 4 and valid[-1] < max(valid)
    assert results["best_epoch"] == 1 + valid.index(max(valid)) < 4
    assert results["test_accuracy"] == pytest.approx(max(valid))
