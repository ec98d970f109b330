"""``python -m experiments.seq2seq``: see experiments/seq2seq/main.py."""

from experiments.seq2seq.main import main

main()
