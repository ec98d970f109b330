"""Per-core data parallelism (``rnnjax.train.sharding.use_cores_as_devices``): with the batch split
over two CPU devices and the mesh set, ``impl="auto"`` runs the fused LSTM kernel on each
device's half of the batch, and an LM training step (Adam, clipped gradients, carried state)
gives the losses, carries and updated parameters of the same step on one device."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import pytest

from rnnjax import cpu_kernels
from rnnjax.train import sharding

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh process: the device count is fixed when the backend starts.
SCRIPT = textwrap.dedent("""
    import contextlib, os, re
    from rnnjax.train import sharding
    assert sharding.use_cores_as_devices(2) == 2
    import jax, jax.numpy as jnp, numpy as np, optax
    from flax import nnx
    from rnnjax.layers import StackedRNN
    from rnnjax.models import RNNLM

    assert jax.device_count() == 2 and os.environ["RNNJAX_CPU_THREADS"] == "1"
    assert "--xla_cpu_multi_thread_eigen=false" in os.environ["XLA_FLAGS"]
    mesh = sharding.make_mesh()
    batch, time, vocab = 4, 6, 11

    def lm_steps(impl, per_core):
        model = RNNLM(vocab, rngs=nnx.Rngs(0), embed_size=8, hidden_size=16, num_layers=2,
                      impl=impl)
        graphdef, params = nnx.split(model)
        tx = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(1e-2))

        def objective(params, carry, inputs, targets):
            logits, carry = nnx.merge(graphdef, params)(inputs, carry)
            return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean(), carry

        @jax.jit
        def step(params, opt_state, carry, inputs, targets):
            (loss, carry), grads = jax.value_and_grad(objective, has_aux=True)(
                params, carry, inputs, targets)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, carry, loss

        opt_state, carry = tx.init(params), model.initial_carry(batch)
        tokens = np.random.default_rng(0).integers(0, vocab, (3, batch, time + 1))
        place = (lambda t: sharding.shard_batch(t, mesh)) if per_core else (lambda t: t)
        if per_core:
            params, opt_state = sharding.replicate((params, opt_state), mesh)
        carry, losses = place(carry), []
        with jax.set_mesh(mesh) if per_core else contextlib.nullcontext():
            impls = {layer.resolved_impl() for layer in model.rnn.layers}
            hlo = step.lower(params, opt_state, carry, *place((tokens[0, :, :-1],
                                                               tokens[0, :, 1:]))
                             ).compile().as_text()
            for chunk in tokens[1:]:
                params, opt_state, carry, loss = step(params, opt_state, carry,
                                                      *place((chunk[:, :-1], chunk[:, 1:])))
                losses.append(float(loss))
        return impls, hlo, losses, params, carry

    impls, hlo, losses, params, carry = lm_steps("auto", per_core=True)
    assert impls == {"cpu_fused"}, impls
    # each device's kernel call reads its 2 of the 4 rows: gates [1 direction, 2, T, 4H]
    calls = re.findall(r"f32\\[1,(\\d+),6,64\\][^\\n]*custom_call_target=\\"rnnjax_lstm_forward",
                       hlo)
    assert calls and set(calls) == {"2"}, calls
    ref_impls, _, ref_losses, ref_params, ref_carry = lm_steps("cpu_fused", per_core=False)
    assert ref_impls == {"cpu_fused"}
    assert {l.resolved_impl() for l in RNNLM(vocab, rngs=nnx.Rngs(0)).rnn.layers} == {"xla"}
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    for got, want in zip(jax.tree.leaves((params, carry)), jax.tree.leaves((ref_params,
                                                                            ref_carry))):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

    # a bidirectional layer with lengths: gradients per device equal the whole batch's; an odd
    # batch does not split and runs whole
    for rows in (4, 3):
        layer = StackedRNN("lstm", 5, 7, 1, bidirectional=True, rngs=nnx.Rngs(1))
        graphdef, state = nnx.split(layer)
        x = jax.random.normal(jax.random.PRNGKey(2), (rows, time, 5))
        lengths = jnp.asarray([6, 2, 4, 1][:rows])

        def loss(state, x):
            y = nnx.merge(graphdef, state)(x, seq_lengths=lengths)[0]
            return jnp.sum(jnp.square(y) * jnp.arange(1, 15))

        want = jax.jit(jax.grad(loss, argnums=(0, 1)))(state, x)
        with jax.set_mesh(mesh):
            got = jax.jit(jax.grad(loss, argnums=(0, 1)))(
                sharding.replicate(state, mesh),
                (sharding.shard_batch if rows % 2 == 0 else sharding.replicate)(x, mesh))
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)
    print("per-core ok")
""")


@pytest.mark.skipif(not cpu_kernels.available(), reason="fused CPU kernel not built")
def test_two_devices_train_like_one():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "per-core ok" in done.stdout


def test_use_cores_as_devices_refuses_bad_counts_and_a_started_backend():
    with pytest.raises(ValueError, match="use_cores_as_devices: count must be a positive int"):
        sharding.use_cores_as_devices(0)
    jax.devices()  # starts the backend
    with pytest.raises(RuntimeError, match="before backends are initialized"):
        sharding.use_cores_as_devices(2)


def test_per_core_devices_is_the_most_cores_that_split_every_batch():
    assert sharding.per_core_devices([32, 64], cores=2) == 2
    assert sharding.per_core_devices([32, 20], cores=4) == 4
    assert sharding.per_core_devices([32, 5], cores=2) == 1
    assert sharding.per_core_devices([6, 9], cores=8) == 3
    assert sharding.per_core_devices([], cores=3) == 3
