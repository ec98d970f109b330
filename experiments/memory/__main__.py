"""``python -m experiments.memory``: see experiments/memory/main.py."""

from experiments.memory.main import main

main()
