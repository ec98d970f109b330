"""Adaptive Computation Time on parity (Graves 2016, section 3.1)."""
