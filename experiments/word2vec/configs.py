"""word2vec configs: ``get_config(variant)``, big_vision style.

    python -m experiments.word2vec --workdir=DIR --config.data.path=FILE
    python -m experiments.word2vec --config=experiments/word2vec/configs.py:enwiki --workdir=DIR

The defaults are word2vec.c's and gensim's for skip-gram with negative sampling: 100 dimensions,
window 5, 5 negatives, min_count 5, subsampling 1e-3, 5 epochs, learning rate 0.025 decaying
linearly to 1e-4. Any field can be overridden, e.g. ``--config.data.sample=1e-5``. Measured
numbers (2-core x86_64 CPU) are in experiments/word2vec/README.md and results/word2vec/REPORT.md.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import run_config, smoke_test
from rnnjax.validation import check_choice

VARIANTS = ("text", "enwiki", "ptb", "shakespeare", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: SGNS on the text file ``data.path``; an epoch is a pass
    over the corpus (word2vec.c -iter, gensim epochs), the seed also draws the subsampling, the
    windows and the noise words."""
    c = run_config("text", seeds=None, num_epochs=5, log_every_steps=10,
                   checkpoint_every_steps=100, divergence_factor=3.0)

    c.data = ml_collections.ConfigDict()
    c.data.corpus = "text"  # "text" (data.path) or a name in rnnjax.data.CORPORA, e.g. enwiki_text
    c.data.path = config_dict.placeholder(str)  # UTF-8 text file or directory for corpus "text"
    c.data.data_dir = config_dict.placeholder(str)  # prepared corpora (default ~/.cache/rnnjax)
    c.data.sentences = "paragraph"  # windows stay within a "line" or a blank-line "paragraph"
    c.data.lowercase = True  # lower-case the text before taking words
    c.data.phrases = 0  # passes of phrase merging ("new york" -> "new_york"; 0: none)
    c.data.phrase_min_count = 5  # phrases: discount delta and minimum count of each word
    c.data.phrase_threshold = 100.0  # phrases: merge pairs scoring above this (word2phrase.c)
    c.data.min_count = 5  # drop words seen fewer times
    c.data.max_vocab = config_dict.placeholder(int)  # keep only the most frequent words (None: all)
    c.data.sample = 1e-3  # subsampling threshold t: keep prob (sqrt(z/t) + 1) t / z (0: off)
    c.data.window = 5  # maximum window; each centre draws its reach from 1..window
    c.data.negatives = 5  # noise words per pair, ~ unigram^(3/4)
    c.data.batch_size = 65536  # pairs per training step (host batch)

    c.model = ml_collections.ConfigDict()
    c.model.dim = 100  # vector size
    c.model.init_range = 1.0  # input vectors U[-r/D, r/D]: 1.0 as gensim, 0.5 as word2vec.c

    c.optim = ml_collections.ConfigDict()
    c.optim.learning_rate = 0.025  # SGD rate at the start (word2vec.c's skip-gram alpha)
    c.optim.final_learning_rate = 1e-4  # reached linearly at the end of the last epoch
    c.optim.pairs_per_update = 64  # pairs per sequential sparse update within a step

    c.eval = ml_collections.ConfigDict()
    c.eval.benchmarks = True  # analogies, WordSim-353, SimLex-999 (word_benchmarks: on first use)
    c.eval.data_dir = config_dict.placeholder(str)  # where word_benchmarks is prepared
    c.eval.restrict = 300_000  # analogy search among this many most frequent words (gensim's)
    c.eval.probe_words = ("king", "france", "computer", "war", "good")  # neighbours logged
    return c


def text() -> ml_collections.ConfigDict:
    """The default: any plain-text file or directory given with --config.data.path.

    python -m rnnjax.data prepare --corpus=word_benchmarks   # optional: the run does it on use
    python -m experiments.word2vec --workdir=DIR --config.data.path=FILE
    Measured on the Vim 9.0 help files (9.5 MB, 1.44M words, vocabulary 10,273; a 2-core x86_64
    CPU shared with other jobs): 73 s in all, analogy 7.87 % of 1,220 questions, WordSim-353
    0.337, SimLex-999 0.032 (gensim on the same sentences: 8.44 %, 0.244, 0.056).
    """
    return base()


def enwiki() -> ml_collections.ConfigDict:
    """The prose of gensim's shortened English Wikipedia dump (105 articles, ~455k words).

    python -m rnnjax.data prepare --corpus=enwiki_text
    python -m experiments.word2vec --config=experiments/word2vec/configs.py:enwiki \\
        --workdir=results/word2vec/enwiki
    Measured (413k words, vocabulary 8,932; 2-core x86_64 CPU shared with other jobs): 41 s in
    all, analogy 1.56 % of 3,270 questions, WordSim-353 0.192, SimLex-999 0.076 (gensim: 1.93 %,
    0.182, 0.088).
    """
    c = base()
    c.name = "enwiki"
    c.data.corpus = "enwiki_text"
    c.data.sentences = "line"  # one paragraph per line
    return c


def ptb() -> ml_collections.ConfigDict:
    """Penn Treebank (Mikolov's split, all three parts; one sentence per line, <unk> kept as
    the word "unk").

    python -m rnnjax.data prepare --corpus=ptb
    python -m experiments.word2vec --config=experiments/word2vec/configs.py:ptb \\
        --workdir=results/word2vec/ptb
    Measured (1.03M words, vocabulary 9,904): 43 s in all, analogy 3.92 % of 4,716 questions,
    WordSim-353 0.203, SimLex-999 0.142 (gensim: 3.46 %, 0.196, 0.129).
    """
    c = base()
    c.name = "ptb"
    c.data.corpus = "ptb"
    c.data.sentences = "line"
    return c


def shakespeare() -> ml_collections.ConfigDict:
    """All of Shakespeare's plays, sonnets and poems (shakespeare_full, ~5 MB).

    python -m rnnjax.data prepare --corpus=shakespeare_full
    python -m experiments.word2vec --config=experiments/word2vec/configs.py:shakespeare \\
        --workdir=results/word2vec/shakespeare
    Measured (876k words, vocabulary 9,022): 46 s in all, analogy 4.93 % of 2,335 questions,
    WordSim-353 0.270, SimLex-999 0.110 (gensim: 4.75 %, 0.245, 0.123).
    """
    c = base()
    c.name = "shakespeare"
    c.data.corpus = "shakespeare_full"
    c.eval.probe_words = ("king", "love", "sword", "lord", "night")
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): the embedded Shakespeare tragedies, 1 epoch of 3 small steps.

    python -m experiments.word2vec --config=experiments/word2vec/configs.py:quick \\
        --workdir=/tmp/w2v_quick
    """
    c = smoke_test(base())
    c.data.corpus = "shakespeare"
    c.data.batch_size = 1024
    c.model.dim = 16
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``text``)."""
    return globals()[check_choice("get_config", "variant", variant or "text", VARIANTS)]()
