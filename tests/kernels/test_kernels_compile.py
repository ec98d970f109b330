"""The GPU path's launches compile for an H100 (sm_90) with Triton's compiler, no GPU needed.

The binding's forward and backward are traced with the launch recorded, so a mismatch between
the arrays a launch passes and the kernel's signature fails here too.
"""

from __future__ import annotations

import jax.numpy as jnp
import pytest

pytest.importorskip("triton")

from rnnjax_kernels import compile_check

SHAPES = {
    "sequence": [(16, 1024, 12, 64, jnp.bfloat16), (5, 7, 1, 20, jnp.float32)],
    "cell": [(16, 1024, 1, 768, jnp.bfloat16), (5, 7, 2, 20, jnp.float32)],
}


@pytest.mark.parametrize("family", list(SHAPES))
def test_gpu_launches_compile_without_spills(family):
    results = compile_check.check_all(90, {family: SHAPES[family]})
    kernels = {r.launch.kernel for r in results}
    assert kernels == {f"lstm_{family}_fwd_kernel", f"lstm_{family}_bwd_kernel"}
    for r in results:
        assert r.local_bytes in (0, None), f"{r.launch.kernel} {r.shape}: spills to local memory"
        assert r.shared_bytes <= 227 * 1024, f"{r.launch.kernel} {r.shape}: too much shared memory"
