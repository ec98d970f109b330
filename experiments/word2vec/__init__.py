"""word2vec (skip-gram, negative sampling): ``python -m experiments.word2vec --workdir=DIR
--config.data.path=FILE``."""
