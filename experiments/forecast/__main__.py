"""``python -m experiments.forecast``: see experiments/forecast/main.py."""

from experiments.forecast.main import main

main()
