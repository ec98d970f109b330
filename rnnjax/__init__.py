"""rnnjax: recurrent networks in JAX/Flax NNX, with fused LSTM kernels."""

from rnnjax.memory import keep_freed_memory

keep_freed_memory()
