"""Data parallelism with ``jax.sharding``: one 'data' mesh axis over every device of every host.

Batches and recurrent carries are split along their leading (batch) axis; parameters and optimiser
state are replicated, so XLA inserts the gradient all-reduce. Every host computes the same global
batch (LM batches are cheap) and contributes the rows of its own devices.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from rnnjax.validation import check_positive_int, fail

#: XLA flags of per-core data parallelism: each device's products single-threaded, so that the
#: devices, not the threads of one product, share the cores
PER_CORE_XLA_FLAGS = ("--xla_cpu_multi_thread_eigen=false",)


def use_cores_as_devices(count: int | None = None) -> int:
    """Per-core data parallelism on a multi-core CPU: the CPU backend gets ``count`` devices
    (default: one per CPU this process may run on), each running its products and fused LSTM
    kernel calls (``RNNJAX_CPU_THREADS=1``) on one thread. A batch split over them with
    ``make_mesh``/``shard_batch`` then runs as ``count`` concurrent single-core programs whose
    gradients XLA all-reduces, and under ``jax.set_mesh`` (``rnnjax.train.run`` sets it)
    ``impl="auto"`` runs the fused LSTM kernel on each device's rows
    (``rnnjax.layers.rows_per_device``). Must run before JAX computes anything (the backend
    reads these settings when it starts). Returns ``count``."""
    count = len(os.sched_getaffinity(0)) if count is None else count
    check_positive_int("use_cores_as_devices", "count", count)
    jax.config.update("jax_num_cpu_devices", count)  # raises once the backend has started
    os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *PER_CORE_XLA_FLAGS]
                                       ).strip()
    os.environ["RNNJAX_CPU_THREADS"] = "1"
    return count


def initialize_distributed(coordinator_address: str | None, num_processes: int | None,
                           process_id: int | None) -> None:
    """``jax.distributed.initialize`` for a multi-host run; a no-op without a coordinator."""
    if coordinator_address:
        jax.distributed.initialize(coordinator_address, num_processes, process_id)


def per_core_devices(batch_sizes: Iterable[int], cores: int | None = None) -> int:
    """The most devices, at most one per core (default: the CPUs this process may run on), that
    split every batch size of ``batch_sizes`` evenly (1 when none but one does)."""
    cores = len(os.sched_getaffinity(0)) if cores is None else cores
    return max(n for n in range(1, cores + 1) if all(size % n == 0 for size in batch_sizes))


def make_mesh() -> Mesh:
    """A 1-D mesh named 'data' over all devices."""
    return Mesh(np.asarray(jax.devices()), ("data",))


def check_divisible(where: str, name: str, batch_size: int, mesh: Mesh) -> None:
    if batch_size % mesh.size:
        fail(where, name, f"a multiple of the device count ({mesh.size})", batch_size)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec("data"))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def shard_batch(tree: Any, mesh: Mesh) -> Any:
    """Global host arrays with a leading batch axis -> arrays sharded over 'data'."""
    sharding = batch_sharding(mesh)

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(put, tree)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Arrays (the same values on every host) -> copies on every device of the mesh.

    Built from host values like ``shard_batch``: ``jax.device_put`` of an array on one local
    device onto a mesh spanning several processes gives arrays whose shards cannot be listed
    (checkpointing them fails).
    """
    sharding = replicated(mesh)

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(put, tree)
