"""Weight initialisers for recurrent cells (any ``jax.nn.initializers`` initialiser works too)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

Initializer = jax.nn.initializers.Initializer


def uniform(scale: float) -> Initializer:
    """U[-scale, scale], the initialisation of Zaremba et al. 2014 (0.1 / 0.05 / 0.04)."""
    if not scale > 0:
        raise ValueError(f"uniform: scale must be > 0, got {scale!r}")

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def identity(scale: float = 1.0) -> Initializer:
    """scale * I for each square [n, n] block of the last two axes (IRNN, Le et al. 2015).

    A gate-stacked matrix [n, k*n] gets one identity block per gate.
    """

    def init(key, shape, dtype=jnp.float32):
        del key
        rows, cols = shape[-2], shape[-1]
        if cols % rows:
            raise ValueError(f"identity: shape must be [..., n, k*n], got {shape}")
        block = jnp.tile(jnp.eye(rows, dtype=dtype), (1, cols // rows)) * scale
        return jnp.broadcast_to(block, shape)

    return init


def embedding() -> Initializer:
    """N(0, 1) embedding rows (PyTorch's ``nn.Embedding`` default), ``RNNLM``'s default.

    With lecun-normal W_x the first layer's gate inputs x W_x then have unit scale; Flax's
    default (std 1/sqrt(features)) makes them ~sqrt(features) times smaller, and a char LM
    learned measurably slower with it (the ablation in benchmarks/results/lm_curves.md). The
    BiLSTM classifier learns faster with Flax's rows and keeps them
    (benchmarks/results/classify_cpu.md).
    """
    return jax.nn.initializers.normal(1.0)


orthogonal = jax.nn.initializers.orthogonal
lecun_normal = jax.nn.initializers.lecun_normal
zeros = jax.nn.initializers.zeros


def per_block(init: Initializer, block_cols: int) -> Initializer:
    """Initialise a [..., n, k*block_cols] matrix as k independent [n, block_cols] blocks.

    Orthogonal initialisation of a gate-stacked recurrent matrix is applied per gate, as in
    Flax's and Keras' LSTMs, so that each gate's recurrent map is itself orthogonal. The blocks
    are drawn one by one, not under ``vmap``: on a 2-core CPU (jaxlib 0.10.2) one program holding
    a dozen batched QR decompositions (a deep stack's initialisation) never finishes.
    """

    def wrapped(key, shape, dtype=jnp.float32):
        *lead, rows, cols = shape
        count = cols // block_cols
        keys = jax.random.split(key, math.prod(lead) * count)
        blocks = jnp.stack([init(k, (rows, block_cols), dtype) for k in keys])
        blocks = blocks.reshape(*lead, count, rows, block_cols)
        return jnp.moveaxis(blocks, -3, -2).reshape(shape)

    return wrapped
