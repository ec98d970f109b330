"""``python -m experiments.tagging``: see experiments/tagging/main.py."""

from experiments.tagging.main import main

main()
