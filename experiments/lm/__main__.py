"""``python -m experiments.lm``: see experiments/lm/main.py."""

from experiments.lm.main import main

main()
