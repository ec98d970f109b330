"""``python -m experiments.names``: see experiments/names/main.py."""

from experiments.names.main import main

main()
