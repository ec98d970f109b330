"""Language-model corpora, vocabularies and truncated-BPTT batches.

    corpus = load_corpus("shakespeare")  # embedded, char level
    corpus = load_corpus("ptb")  # after `python -m rnnjax.data prepare --corpus=ptb`
    batches = LMBatches(corpus.train_ids, batch_size=20, bptt=35)
    for inputs, targets in batches.iter_epoch(epoch):  # [B, T] int32 each
        ...
"""

from rnnjax.data.batching import LMBatches
from rnnjax.data.corpora import (
    CORPORA,
    SPLITS,
    Corpus,
    CorpusSpec,
    Package,
    load_corpus,
    load_splits,
    read_manifest,
    resolve_data_dir,
    split_text,
)
from rnnjax.data.prepare import prepare
from rnnjax.data.vocab import EOS, UNK, Vocab, tokenize

__all__ = [
    "CORPORA",
    "EOS",
    "SPLITS",
    "UNK",
    "Corpus",
    "CorpusSpec",
    "LMBatches",
    "Package",
    "Vocab",
    "load_corpus",
    "load_splits",
    "prepare",
    "read_manifest",
    "resolve_data_dir",
    "split_text",
    "tokenize",
]
