"""The first-order linear recurrence h_t = a_t ⊙ h_{t-1} + b_t (a_t, b_t > 0) as a parallel scan.

Cells whose gates read only x_t (minGRU, minLSTM; Feng et al. 2024, "Were RNNs All We Needed?")
have this form, so a whole sequence runs in O(log T) depth instead of T dependent steps. As in the
paper's log-space implementation (its Appendix B), the scan works on log a_t and log b_t, which
keeps long products of gates from underflowing. Unrolled,

    h_t = exp(A_t) ⊙ h_0 + exp(B_t),   A_t = Σ_{s<=t} log a_s,
    B_t = log Σ_{s<=t} exp(log b_s + Σ_{s<r<=t} log a_r).

Pairs (A, B) compose with (A1, B1) ∘ (A2, B2) = (A1 + A2, logaddexp(B1 + A2, B2)), an associative
operation that ``jax.lax.associative_scan`` runs as a prefix scan. Keeping h_0 outside the logs
allows any initial carry, negative entries included.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def log_floor(dtype) -> float:
    """A finite stand-in for log 0 (-inf would make logaddexp's gradient NaN): exp of it is 0,
    and sums of a few of it stay finite."""
    return float(jnp.finfo(dtype).min) / 4


def combine(earlier: tuple[Array, Array], later: tuple[Array, Array]) -> tuple[Array, Array]:
    """(A1, B1) then (A2, B2): (A1 + A2, logaddexp(B1 + A2, B2))."""
    (a1, b1), (a2, b2) = earlier, later
    return a1 + a2, jnp.logaddexp(b1 + a2, b2)


def log_linear_recurrence(log_a: Array, log_b: Array, h0: Array, mask: Array | None = None
                          ) -> tuple[Array, Array]:
    """Time-major log a_t, log b_t [T, B, H] and h_0 [B, H] -> (h_t for every t [T, B, H], h_T).

    ``mask`` [T, B] (True inside a sequence): masked steps get a_t = 1 and b_t = 0, so h stays at
    its last valid value (the returned h_T is the carry of each sequence's last valid step) and
    the outputs there are 0; their inputs reach neither values nor gradients.
    """
    dtype = h0.dtype
    log_a, log_b = log_a.astype(dtype), log_b.astype(dtype)
    if mask is not None:
        inside = mask[:, :, None]
        log_a = jnp.where(inside, log_a, jnp.zeros((), dtype))
        log_b = jnp.where(inside, log_b, jnp.asarray(log_floor(dtype), dtype))
    total_a, total_b = jax.lax.associative_scan(combine, (log_a, log_b), axis=0)
    h = jnp.exp(total_a) * h0[None] + jnp.exp(total_b)
    final = h[-1]
    if mask is not None:
        h = jnp.where(mask[:, :, None], h, jnp.zeros((), dtype))
    return h, final
