"""Helpers shared by the core tests. Tests run on CPU; float64 checks use ``jax.enable_x64``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


def cast_module(module: nnx.Module, dtype) -> nnx.Module:
    """A copy of ``module`` whose floating parameters have ``dtype``."""
    graphdef, state = nnx.split(module)
    state = jax.tree.map(
        lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, state
    )
    return nnx.merge(graphdef, state)


def small_cell_kwargs(kind: str, hidden_size: int) -> dict[str, int]:
    """Arguments of ``make_cell(kind, ...)`` for the tests that loop over every cell kind: the
    depth-gated LSTM's lower layer, and an NTM with an 8 x 4 memory instead of 128 x 20 (the same
    addressing and controller code at a size that compiles and runs fast; tests/test_cells_ntm.py
    checks the NTM's equations)."""
    return {"depth_gated_lstm": {"lower_size": hidden_size},
            "ntm": {"memory_size": 8, "memory_width": 4}}.get(kind, {})


def check_scalar_loss_gradients(loss, args, *, atol=1e-6, rtol=1e-6, eps=1e-6) -> None:
    """``jax.test_util.check_grads(loss, args, order=1, modes=["rev"])`` for a scalar ``loss``,
    from one compiled program: the reverse-mode VJP of a scalar at cotangent ct is ct * grad, so
    one jitted ``jax.value_and_grad`` serves both ``check_vjp``'s VJP and its finite differences
    (check_grads compiles the loss, the VJP's forward pass and its backward pass separately)."""
    from jax.test_util import check_vjp

    loss_and_grads = jax.jit(jax.value_and_grad(loss, argnums=tuple(range(len(args)))))

    def value_and_vjp(*point):
        value, grads = loss_and_grads(*point)
        return value, lambda cotangent: jax.tree.map(lambda g: cotangent * g, grads)

    check_vjp(lambda *point: loss_and_grads(*point)[0], value_and_vjp, tuple(args), atol=atol,
              rtol=rtol, eps=eps)


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, err_msg=""):
    """Elementwise closeness of two pytrees of arrays."""
    for a, b in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol,
                                   err_msg=err_msg)


def cli_error(*args: str, timeout: int = 300) -> str:
    """The one line ``python -m ARGS`` prints on a user error, asserting its exit status 2 and
    that it printed no traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-m", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=timeout)
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return lines[0]


def run_main_in_process(module: str, *args: str) -> int:
    """``python -m MODULE ARGS`` for an experiment's command line, run in this process
    (``runpy``): its exit status (0, or the code it passed to ``sys.exit``). For command-line
    tests that are not about the process boundary: no child process re-imports jax and reloads
    the compiled programs.

    Every experiment's main defines ``--config`` (``experiments.launch.define_config``) when
    ``MODULE.main`` is imported, and parsing defines a ``--config.FIELD`` flag per override: the
    ones defined before (another experiment's) are set aside and ``MODULE.main`` imported
    afresh; afterwards MODULE's go, the earlier ones come back, and every flag gets the value it
    had (``absl.testing.flagsaver``'s record). A test process has imported other programs
    whose flags are required (word2vec.query's ``--vectors``): the validators of the flags the
    command line does not name are set aside for the run. glibc's malloc settings are left alone
    (``RNNJAX_SYSTEM_MALLOC``).
    """
    import os
    import runpy
    import sys
    from unittest import mock

    from absl import flags
    from absl.testing import flagsaver

    registry = flags.FLAGS
    was_parsed, saved = registry.is_parsed(), flagsaver.save_flag_values(registry)

    def config_flags() -> dict[str, flags.Flag]:
        return {name: registry[name] for name in list(registry)
                if name == "config" or name.startswith("config.")}

    earlier_config = config_flags()
    for name in earlier_config:
        delattr(registry, name)
    sys.modules.pop(f"{module}.main", None)
    named = {arg[2:].split("=", 1)[0] for arg in args if arg.startswith("--")}
    for name in registry:
        if name not in named:
            registry[name].validators = []  # back with the saved record below
    try:
        with mock.patch.object(sys, "argv", [module, *args]), \
                mock.patch.dict(os.environ, {"RNNJAX_SYSTEM_MALLOC": "1"}):
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        for name in config_flags():
            delattr(registry, name)
        sys.modules.pop(f"{module}.main", None)
        for name, flag in earlier_config.items():
            registry[name] = flag
        for name in registry:
            if name in saved:
                registry[name].__dict__ = saved[name]
            else:
                registry[name].unparse()
        if not was_parsed:
            registry.unparse_flags()
