"""Tag raw text with a trained NER model: one sentence per line on stdin, its entities on stdout.

    echo "Yesterday , Harry Potter met Hermione Granger in London ." | \
        python -m experiments.ner.predict --workdir=/tmp/ner

Each line is tokenised (``tokenize``: words, numbers, abbreviations such as U.S., clitics such as
's, punctuation; CoNLL-2003 is tokenised the same way) and tagged; the output has one line per
sentence: its entities as ``[TYPE text]`` (empty line when none), or with ``--format=conll`` one
``word TAG`` line per token and a blank line after each sentence (tags in IOB2). ``--workdir`` is a
trained run's directory (of a run of several seeds: one replicate's, e.g. ``DIR/seed0``); the
parameters are the latest checkpoint's.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from absl import flags
from flax import nnx

from experiments.launch import WORKDIR
from experiments.ner.train import CHARS_FILE, TAGS_FILE, VOCAB_FILE, build_tagger, word_ids
from rnnjax import cli
from rnnjax.data import Labels, Vocab
from rnnjax.data.chars import CharWords
from rnnjax.entities import convert_tags, entity_spans
from rnnjax.train.checkpoint import CHECKPOINT_DIR, read_config, restore_params
from rnnjax.validation import check_choice, fail

_FORMAT = flags.DEFINE_enum("format", "entities", ["entities", "conll"],
                            "entities: [TYPE text] per sentence; conll: word TAG lines.")
_WHERE = "predict"
_TOKEN = re.compile(r"(?:[A-Za-z]\.){2,}|\w+(?:[-.]\w+)*|'\w+|[^\w\s]")


def tokenize(line: str) -> list[str]:
    """The tokens of ``line``: abbreviations (U.S.), words and numbers (with inner hyphens or
    dots: 1-0, 3.5), clitics ('s) and single punctuation marks."""
    return _TOKEN.findall(line)


def tag_sentences(workdir: str, sentences: list[list[str]]) -> list[list[str]]:
    """The IOB2 tags the model trained in ``workdir`` gives each (non-empty) sentence."""
    config = read_config(workdir)
    missing = [name for name in (VOCAB_FILE, CHARS_FILE, TAGS_FILE, CHECKPOINT_DIR)
               if not (Path(workdir) / name).exists()]
    if missing or config.get("model", {}).get("kind") != "rnn_tagger":
        fail(_WHERE, "--workdir", "a trained NER run's directory (python -m experiments.ner; of "
             "several seeds, one replicate's directory such as DIR/seed0)",
             f"{workdir!r}" + (f" without {', '.join(missing)}" if missing else ""))
    vocab, chars = Vocab.load(Path(workdir) / VOCAB_FILE), Vocab.load(Path(workdir) / CHARS_FILE)
    tags = Labels.load(Path(workdir) / TAGS_FILE)
    abstract = nnx.eval_shape(lambda: build_tagger(config, vocab, chars, tags, nnx.Rngs(0)))
    model = restore_params(workdir, abstract)
    index = {token: i for i, token in enumerate(vocab.tokens)}
    time = max(map(len, sentences))
    words = np.zeros((len(sentences), time), np.int32)
    for row, sentence in enumerate(sentences):
        words[row, :len(sentence)] = word_ids(index, sentence)
    lengths = np.asarray([len(s) for s in sentences], np.int32)
    char_ids, char_lengths = CharWords(sentences, chars, max_word_length=config.data.get(
        "max_word_length", 16)).batch(np.arange(len(sentences)), time)
    logits = model(jnp.asarray(words), jnp.asarray(lengths), chars=jnp.asarray(char_ids),
                   char_lengths=jnp.asarray(char_lengths))
    paths = np.asarray(model.decode(logits, jnp.asarray(lengths)))
    predicted = [[tags.names[i] for i in paths[row, :n]] for row, n in enumerate(lengths)]
    scheme = check_choice(_WHERE, "the run's data.scheme", config.data.scheme, ("IOB2", "IOBES"))
    return convert_tags(predicted, "IOB2", scheme)[0]


def main(argv: list[str]) -> None:
    del argv
    lines = [line.rstrip("\n") for line in sys.stdin]
    sentences = [tokenize(line) for line in lines]
    if not any(sentences):
        fail(_WHERE, "stdin", "text with at least one sentence (one per line)", "no tokens")
    tagged = iter(tag_sentences(WORKDIR.value, [s for s in sentences if s]))
    for sentence in sentences:
        tags = next(tagged) if sentence else []
        if _FORMAT.value == "conll":
            print("".join(f"{w} {t}\n" for w, t in zip(sentence, tags, strict=True)))
            continue
        spans, _ = entity_spans(tags, "IOB2")
        print(" ".join(f"[{kind} {' '.join(sentence[a:b])}]" for kind, a, b in spans))


if __name__ == "__main__":
    cli.run(main)
