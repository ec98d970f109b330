"""``python -m experiments.programmer``: see experiments/programmer/main.py."""

from experiments.programmer.main import main

main()
