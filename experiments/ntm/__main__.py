"""``python -m experiments.ntm``: see experiments/ntm/main.py."""

from experiments.ntm.main import main

main()
