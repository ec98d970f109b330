"""``python -m experiments.dialogue``: see experiments/dialogue/main.py."""

from experiments.dialogue.main import main

main()
