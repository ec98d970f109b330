"""``SplitChars``: the characters it adds to a shuffled ``PaddedBatches`` batch spell the words of
the batch's own sentences, in the right split; without a character vocabulary it adds nothing."""

from __future__ import annotations

import numpy as np

from rnnjax.data.chars import SplitChars, char_vocab
from rnnjax.data.padded import PaddedBatches

SPLITS = {"train": [(("the", "cat", "sat"), ("DT", "NN", "VBD")), (("a", "dog"), ("DT", "NN")),
                    (("cats", "sit", "."), ("NNS", "VBP", "."))],
          "test": [(("the", "cow", "sat", "down"), ("DT", "NN", "VBD", "RP"))]}
FIELDS = ("words", "words_lengths", "weight")


def _batches(split: str, batch_size: int) -> PaddedBatches:
    words = [np.arange(len(w), dtype=np.int32) + 1 for w, _ in SPLITS[split]]
    return PaddedBatches({"words": words}, batch_size, shuffle=True, seed=3)


def test_added_characters_spell_each_rows_sentence_and_fillers_are_empty():
    vocab = char_vocab(words for words, _ in SPLITS["train"])
    split_chars = SplitChars(SPLITS, vocab, max_word_length=4)
    for split in SPLITS:
        for batch in _batches(split, 2).iter_epoch(1):
            out = split_chars.batch(batch, split, FIELDS)
            assert set(out) == {*FIELDS, "chars", "char_lengths"}
            assert out["chars"].shape[:2] == batch["words"].shape
            for row, example in enumerate(batch["index"].tolist()):
                if example < 0:
                    assert not out["chars"][row].any() and not out["char_lengths"][row].any()
                    continue
                words = SPLITS[split][example][0]
                spelled = [vocab.decode(out["chars"][row, t, :out["char_lengths"][row, t]])
                           for t in range(len(words))]
                # characters unseen in training ("w", "n" of the test split) are <unk>
                assert spelled == ["".join(c if c in vocab.tokens else "\ufffd" for c in w)
                                   for w in words]
                assert not out["char_lengths"][row, len(words):].any()


def test_without_a_vocabulary_only_the_fields_pass():
    batch = _batches("train", 4).batch(0, 0)
    out = SplitChars(SPLITS, None).batch(batch, "train", FIELDS)
    assert set(out) == set(FIELDS)
    for name in FIELDS:
        np.testing.assert_array_equal(out[name], batch[name])
