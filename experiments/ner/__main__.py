"""``python -m experiments.ner``: see experiments/ner/main.py."""

from experiments.ner.main import main

main()
