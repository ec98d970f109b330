"""Seq2seq with attention and the Britz et al. 2017 depth study."""
