"""Data parallelism with ``jax.sharding``: one 'data' mesh axis over every device of every host.

Batches and recurrent carries are split along their leading (batch) axis; parameters and optimiser
state are replicated, so XLA inserts the gradient all-reduce. Every host computes the same global
batch (LM batches are cheap) and contributes the rows of its own devices.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from rnnjax.validation import fail


def initialize_distributed(coordinator_address: str | None, num_processes: int | None,
                           process_id: int | None) -> None:
    """``jax.distributed.initialize`` for a multi-host run; a no-op without a coordinator."""
    if coordinator_address:
        jax.distributed.initialize(coordinator_address, num_processes, process_id)


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
