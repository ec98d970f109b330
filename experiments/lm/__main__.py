"""``python -m experiments.lm``: see experiments/lm/main.py."""

from absl import app

from experiments.lm.main import main

app.run(main)
