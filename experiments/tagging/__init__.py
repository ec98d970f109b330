"""Part-of-speech tagging: ``python -m experiments.tagging --config=...:VARIANT --workdir=DIR``."""
