"""Language-model experiments: ``python -m experiments.lm --config=...:VARIANT --workdir=DIR``."""
