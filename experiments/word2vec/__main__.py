"""``python -m experiments.word2vec``: see experiments/word2vec/main.py."""

from experiments.word2vec.main import main

main()
