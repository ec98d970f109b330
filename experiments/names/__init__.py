"""Names by nationality: ``python -m experiments.names --config=...:VARIANT --workdir=DIR``."""
