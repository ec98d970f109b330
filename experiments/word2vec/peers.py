"""The peers of a word2vec run, evaluated like it: gensim's ``Word2Vec(sg=1)`` trained on the same
sentences with the same settings, and GloVe 6B 50d (Pennington et al. 2014).

    python -m experiments.word2vec.peers --workdir=DIR [--workers=2] [--noglove]

DIR is a finished run of ``python -m experiments.word2vec``: its config.json gives the corpus and
the settings. The peers' metrics go to DIR/peers.json, which the report shows beside the run.
GloVe is evaluated on its own vocabulary and restricted to the run's (the same questions and
pairs).
gensim (a test/benchmark dependency, ``pip install -e .[test]``) is imported here only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import ml_collections
from absl import flags, logging

from rnnjax import cli
from rnnjax.data import WordVectors, load_analogies, load_vectors, load_word_pairs
from rnnjax.data.skipgram import Sentences
from rnnjax.data.vectors import GLOVE
from rnnjax.data.word_benchmarks import WORD_PAIRS
from rnnjax.embeddings import benchmark_metrics
from rnnjax.train.checkpoint import read_config
from rnnjax.train.metrics import machine
from rnnjax.train.workdir import write_json

_WORKDIR = flags.DEFINE_string("workdir", None, "A finished word2vec run.", required=True)
_WORKERS = flags.DEFINE_integer("workers", 2, "gensim's worker threads.")
_GLOVE = flags.DEFINE_boolean("glove", True, "Also evaluate GloVe 6B 50d (prepare "
                              "--corpus=glove_6b_50d first).")


def gensim_word2vec(sentences: Sentences, config: ml_collections.ConfigDict, *, workers: int,
                    epochs: int | None = None, **options: Any) -> tuple[Any, float]:
    """(gensim ``Word2Vec`` with the run's settings trained on ``sentences``, training seconds).

    Same settings: skip-gram, negative sampling (hs=0), vector size, window, negatives,
    min_count, subsampling, epochs, alpha -> min_alpha; max_vocab becomes gensim's
    max_final_vocab, which raises min_count rather than truncating, so with max_vocab set the
    two vocabularies can differ. ``options`` go to ``Word2Vec`` (e.g. ``shrink_windows``).
    """
    from gensim.models import Word2Vec

    data, optim = config.data, config.optim
    model = Word2Vec(sg=1, hs=0, vector_size=config.model.dim, window=data.window,
                     negative=data.negatives, min_count=data.min_count,
                     max_final_vocab=data.max_vocab, sample=data.sample,
                     alpha=optim.learning_rate, min_alpha=optim.final_learning_rate,
                     seed=config.seed, workers=workers, **options)
    model.build_vocab(sentences)
    started = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs or config.num_epochs)
    return model, time.perf_counter() - started


def gensim_vectors(model: Any) -> WordVectors:
    """The input vectors of a gensim model, most frequent word first."""
    return WordVectors(tuple(model.wv.index_to_key), model.wv.vectors)


def main(argv: list[str]) -> None:
    del argv
    from experiments.word2vec.train import PEERS_FILE, VOCAB_FILE, load_sentences

    workdir = Path(_WORKDIR.value)
    config = read_config(workdir)
    analogies = load_analogies(data_dir=config.eval.data_dir)
    pairs = {name: load_word_pairs(name, data_dir=config.eval.data_dir) for name in WORD_PAIRS}
    sentences = load_sentences(config.data)
    model, seconds = gensim_word2vec(sentences, config, workers=_WORKERS.value)
    words = sum(map(len, sentences))
    peers = {"machine": machine(), "gensim": {
        "version": __import__("gensim").__version__, "workers": _WORKERS.value,
        "train_seconds": round(seconds, 2),
        "corpus_words_per_s": round(words * config.num_epochs / seconds),
        "vocab_size": len(model.wv),
        **benchmark_metrics(gensim_vectors(model), analogies, pairs,
                             restrict=config.eval.restrict)}}
    logging.info("gensim: %s", peers["gensim"])
    if _GLOVE.value:
        glove = load_vectors(GLOVE, data_dir=config.data.data_dir)
        ours = [line.split("\t")[0] for line in
                (workdir / VOCAB_FILE).read_text(encoding="utf-8").splitlines()]
        shared = [word for word in ours if word in glove.index]
        same_vocab = WordVectors(tuple(shared), glove.vectors[[glove.index[w] for w in shared]])
        for name, vectors in ((f"{GLOVE}_same_vocab", same_vocab), (GLOVE, glove)):
            peers[name] = {"vocab_size": len(vectors), **benchmark_metrics(
                vectors, analogies, pairs, restrict=config.eval.restrict)}
            logging.info("%s: %s", name, peers[name])
    write_json(workdir / PEERS_FILE, peers)
    print(json.dumps(peers, indent=1))


if __name__ == "__main__":
    cli.run(main)
