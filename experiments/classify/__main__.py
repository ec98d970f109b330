"""``python -m experiments.classify``: see experiments/classify/main.py."""

from experiments.classify.main import main

main()
