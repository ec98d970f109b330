"""Time-series forecasting: ``python -m experiments.forecast --workdir=DIR [--config=...]``."""
