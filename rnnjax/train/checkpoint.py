"""orbax checkpoints of a training run, and reading a trained model back from its workdir.

A checkpoint holds two items: ``params`` (the model's ``nnx.State``) and ``train``: optimiser
state, the task's state (e.g. a recurrent carry), base PRNG key, step, data position (epoch, batch
index) and the running sums the harness needs to continue an epoch exactly where it stopped.
orbax writes each step to a temporary directory and renames it when complete, so a run killed
mid-save keeps the previous checkpoint. A checkpoint whose files are damaged (e.g. truncated
shards) fails to restore with ``CorruptCheckpoint``: one line naming the step and the directory,
and which directory to delete to resume from the previous checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ml_collections
import orbax.checkpoint as ocp
from absl import logging
from flax import nnx

from rnnjax.train.workdir import CONFIG_FILE
from rnnjax.validation import one_line

CHECKPOINT_DIR = "checkpoints"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """orbax logs every file it writes at INFO: keep the run's log to warnings meanwhile. The
    absl logger's own level is restored (not the --verbosity flag's, which is unset outside
    ``app.run`` and would silence INFO for the rest of the run, e.g. in a notebook or a test)."""
    absl_logger = logging.get_absl_logger()
    level = absl_logger.level
    absl_logger.setLevel(max(level, logging.converter.STANDARD_WARNING))
    try:
        yield
    finally:
        absl_logger.setLevel(level)


class CorruptCheckpoint(ValueError):
    """A checkpoint's files cannot be read back (damaged or truncated)."""


class Checkpointer:
    """A synchronous ``ocp.CheckpointManager`` over ``workdir/checkpoints``."""

    def __init__(self, workdir: str | os.PathLike, max_to_keep: int = 2):
        self.directory = Path(workdir).absolute() / CHECKPOINT_DIR
        with _quiet():
            self._manager = ocp.CheckpointManager(
                self.directory, item_names=("params", "train"),
                options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                                     enable_async_checkpointing=False))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def delete(self, step: int) -> None:
        with _quiet():
            self._manager.delete(step)

    def save(self, step: int, params: Any, train: dict[str, Any]) -> None:
        with _quiet():
            self._manager.save(step, args=ocp.args.Composite(
                params=ocp.args.StandardSave(params), train=ocp.args.StandardSave(train)))

    def restore(self, params: Any, train: dict[str, Any] | None = None,
                step: int | None = None) -> tuple[Any, Any]:
        """Checkpoint ``step`` (default the latest), laid out (shapes, shardings) like the given
        targets."""
        items = {"params": ocp.args.StandardRestore(params)}
        if train is not None:
            items["train"] = ocp.args.StandardRestore(train)
        step = self.latest_step() if step is None else step
        try:
            with _quiet():
                restored = self._manager.restore(step, args=ocp.args.Composite(**items))
        except Exception as err:
            if self.readable(step):
                raise  # the files are whole: the targets do not match them
            raise CorruptCheckpoint(self._damaged(step, err)) from None
        return restored.params, restored.get("train") if train is not None else None

    def readable(self, step: int) -> bool:
        """True when checkpoint ``step`` reads back whole without targets."""
        items = {name: ocp.args.StandardRestore() for name in ("params", "train")}
        try:
            with _quiet():
                self._manager.restore(step, args=ocp.args.Composite(**items))
        except Exception:  # any failure to read the files: damaged
            return False
        return True

    def _damaged(self, step: int, err: BaseException) -> str:
        earlier = [s for s in self.all_steps() if s < step]
        remedy = (f"delete {self.directory / str(step)} to resume from the previous checkpoint "
                  f"(step {earlier[-1]})" if earlier else
                  f"delete {self.directory} to start the run again")
        return (f"checkpoint: step {step} in {self.directory} must be readable, got damaged "
                f"files ({one_line(err)[:160]}); {remedy}")

    def close(self) -> None:
        with _quiet():
            self._manager.close()


def read_config(workdir: str | os.PathLike) -> ml_collections.ConfigDict:
    """The config a run saved in its workdir."""
    path = Path(workdir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"read_config: workdir must hold {CONFIG_FILE} (a training run's "
                                f"directory), got {str(workdir)!r}")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def restore_params(workdir: str | os.PathLike, abstract_model: nnx.Module) -> nnx.Module:
    """``abstract_model`` (from ``nnx.eval_shape``) with the latest checkpoint's parameters."""
    checkpointer = Checkpointer(workdir)
    try:
        if checkpointer.latest_step() is None:
            raise FileNotFoundError(f"restore_params: workdir must hold a checkpoint, got none in "
                                    f"{checkpointer.directory}")
        graphdef, state = nnx.split(abstract_model)
        params, _ = checkpointer.restore(state)
    finally:
        checkpointer.close()
    return nnx.merge(graphdef, params)
