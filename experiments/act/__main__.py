"""``python -m experiments.act``: see experiments/act/main.py."""

from experiments.act.main import main

main()
