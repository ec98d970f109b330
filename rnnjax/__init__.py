"""rnnjax: recurrent networks in JAX/Flax NNX, with fused LSTM kernels.

Importing rnnjax changes no process-wide setting. Training programs get XLA's CPU step
temporaries reused instead of page-faulted afresh by calling
``rnnjax.memory.keep_freed_memory()`` once (the experiment launches and benchmarks do).
"""
