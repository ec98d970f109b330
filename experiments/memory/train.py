"""The long-range memory tasks on the shared harness: one cell kind on one task and length.

* ``adding`` (``rnnjax.data.synthetic``): inputs [B, T, 2], the last output regresses the sum;
  loss and metric the mean squared error, beside the trivial baseline's (predict 1) on the same
  sequences; ``steps_to_threshold`` is the first step whose validation MSE is below
  ``config.mse_threshold`` (validation runs every ``data.steps_per_epoch`` steps), absent when
  never reached.
* ``copy``: one-hot inputs [B, T + 20, 10], a softmax over the 10 categories at every step; loss
  the mean per-step cross-entropy (nats), beside the memoryless baseline 10 ln 8 / (T + 20);
  ``recall_accuracy`` over the 10 recalled symbols.
* ``pixel``: Fashion-MNIST images as 784-step sequences of one pixel (``data.order`` sequential or
  permuted with ``data.permutation_seed``), the last output classifies; the last 5,000 training
  images are the validation split.

Synthetic training batches are drawn from ``config.seed`` (each replicate sees new sequences);
the validation and test sets from ``data.seed``, the same for every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx

from experiments.launch import over_seeds
from rnnjax.cells import CELLS, LogLinearCell
from rnnjax.data import images, synthetic
from rnnjax.layers import IMPLS, check_dilations
from rnnjax.models.sequence import SequenceModel
from rnnjax.train.metrics import read_metrics
from rnnjax.train.run import Task
from rnnjax.train.task_data import fingerprint
from rnnjax.validation import check_choice, check_positive_int, fail

_WHERE = "memory"
TASKS = ("adding", "copy", "pixel")
VALID_IMAGES = 5000  # the last training images, held out for validation
PIXELS = 28 * 28


def check_config(config: ml_collections.ConfigDict) -> None:
    """Every field this experiment reads, before any data or training."""
    task = check_choice(_WHERE, "config.task", config.task, TASKS)
    data, model = config.data, config.model
    length = check_positive_int(_WHERE, "config.data.length", data.length)
    if task == "adding" and length < 2:
        fail(_WHERE, "config.data.length", "an int >= 2 for the adding problem (two markers)",
             length)
    for name in ("batch_size", "eval_batch_size", "valid_size", "test_size", "steps_per_epoch"):
        check_positive_int(_WHERE, f"config.data.{name}", data[name])
    if task == "pixel":
        check_choice(_WHERE, "config.data.order", data.order, images.ORDERS)
    check_choice(_WHERE, "config.model.cell", model.cell, CELLS)
    layers = check_positive_int(_WHERE, "config.model.num_layers", model.num_layers)
    check_positive_int(_WHERE, "config.model.hidden_size", model.hidden_size)
    if model.dilations:
        check_dilations(_WHERE, list(model.dilations), layers, "config.model.dilations")
    impl = check_choice(_WHERE, "config.model.impl", model.impl, IMPLS)
    if impl == "parallel" and not issubclass(CELLS[model.cell][0], LogLinearCell):
        fail(_WHERE, "config.model.impl", f'"auto" or "scan" for cell {model.cell!r} (the '
             'parallel scan runs mingru and minlstm)', repr(impl))
    if not config.mse_threshold > 0:
        fail(_WHERE, "config.mse_threshold", "a number > 0", repr(config.mse_threshold))


def steps(config: ml_collections.ConfigDict) -> int:
    """T of the task: the adding length, T + 20 for copy memory, 784 pixels."""
    return {"adding": config.data.length, "copy": config.data.length + 20,
            "pixel": PIXELS}[config.task]


class MemoryTask(Task):
    experiment = "memory"
    unit = "sequences"

    def __init__(self, config: ml_collections.ConfigDict):
        check_config(config)
        super().__init__(config)
        self.task = config.task
        self.workdir: Path | None = None
        self.splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.order = images.pixel_order(config.data.order, PIXELS,
                                        config.data.permutation_seed)
        self._eval_sums = nnx.jit(self._sums)

    # ---- data ---------------------------------------------------------------------------
    def _synthetic(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        length = self.config.data.length
        if self.task == "adding":
            return synthetic.adding_problem(rng, count, length)
        return synthetic.copy_memory(rng, count, length)

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        """Model inputs [B, T, I] float32 of stored examples (one-hot copy symbols, pixels)."""
        if self.task == "copy":
            return np.eye(synthetic.COPY_CLASSES, dtype=np.float32)[x]
        if self.task == "pixel":
            return images.pixel_sequences(x, self.order)
        return x

    def load(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        data = self.config.data
        if self.task == "pixel":
            train_x, train_y = images.load_images("train", data.data_dir)
            self.splits = {"train": (train_x[:-VALID_IMAGES], train_y[:-VALID_IMAGES]),
                           "valid": (train_x[-VALID_IMAGES:], train_y[-VALID_IMAGES:]),
                           "test": images.load_images("test", data.data_dir)}
            return
        self.splits = {split: self._synthetic(synthetic.rng_for(data.seed, split), size)
                       for split, size in (("valid", data.valid_size), ("test", data.test_size))}

    def fingerprint(self) -> str | None:
        return fingerprint(*(array for pair in self.splits.values() for array in pair))

    def num_batches(self, epoch: int) -> int:
        if self.task == "pixel":
            return len(self.splits["train"][1]) // self.config.data.batch_size
        return self.config.data.steps_per_epoch

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        config, size = self.config, self.config.data.batch_size
        if self.task == "pixel":
            x, y = self.splits["train"]
            rows = np.random.default_rng((config.seed, epoch)).permutation(len(y))
            rows = rows[index * size:(index + 1) * size]
            return {"x": self._inputs(x[rows]), "y": y[rows]}
        step = epoch * config.data.steps_per_epoch + index
        x, y = self._synthetic(synthetic.rng_for(config.seed, "train", step), size)
        return {"x": self._inputs(x), "y": y}

    # ---- model and loss -----------------------------------------------------------------
    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        model, task = self.config.model, self.task
        inputs = {"adding": 2, "copy": synthetic.COPY_CLASSES, "pixel": 1}[task]
        outputs = {"adding": 1, "copy": synthetic.COPY_CLASSES, "pixel": 10}[task]
        cell_kwargs = {"max_steps": steps(self.config)} if model.cell == "indrnn" else None
        return SequenceModel(inputs, outputs, rngs=rngs, cell=model.cell,
                             hidden_size=model.hidden_size, num_layers=model.num_layers,
                             dilations=list(model.dilations) or None,
                             readout="every" if task == "copy" else "last", impl=model.impl,
                             cell_kwargs=cell_kwargs)

    def _losses(self, outputs: jax.Array, y: jax.Array) -> jax.Array:
        """Per-example losses: squared error, mean per-step cross-entropy, cross-entropy."""
        if self.task == "adding":
            return (outputs[:, 0] - y) ** 2
        ce = optax.softmax_cross_entropy_with_integer_labels(outputs, y)
        return ce.mean(-1) if self.task == "copy" else ce

    def loss(self, model, state, batch, key):
        del key
        value = self._losses(model(batch["x"]), batch["y"]).mean()
        return value, (value, state)

    # ---- evaluation ---------------------------------------------------------------------
    def _sums(self, model: nnx.Module, x: jax.Array, y: jax.Array) -> jax.Array:
        """[loss sum, correct predictions] of one evaluation batch."""
        outputs = model(x)
        losses = self._losses(outputs, y)
        if self.task == "adding":
            return jnp.stack([losses.sum(), jnp.zeros(())])
        if self.task == "copy":
            recall = synthetic.copy_recall_positions(self.config.data.length)
            correct = (outputs[:, recall].argmax(-1) == y[:, recall]).sum()
        else:
            correct = (outputs.argmax(-1) == y).sum()
        return jnp.stack([losses.sum(), correct.astype(losses.dtype)])

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        x, y = self.splits[split]
        size = self.config.data.eval_batch_size
        totals = sum(np.asarray(self._eval_sums(model, self._inputs(x[i:i + size]), y[i:i + size]),
                                np.float64) for i in range(0, len(y), size))
        count = len(y)
        loss = float(totals[0] / count)
        if self.task == "adding":
            metrics = {"loss": loss, "mse": loss,
                       "baseline_mse": float(np.mean((y.astype(np.float64) - 1.0) ** 2))}
            if split == "test":
                metrics.update(self._steps_to_threshold())
            return metrics
        if self.task == "copy":
            return {"loss": loss, "cross_entropy": loss,
                    "recall_accuracy": float(totals[1] / (count * synthetic.COPY_SYMBOLS)),
                    "baseline_cross_entropy": synthetic.copy_baseline_cross_entropy(
                        self.config.data.length)}
        return {"loss": loss, "accuracy": float(totals[1] / count)}

    def _steps_to_threshold(self) -> dict[str, float]:
        """{"steps_to_threshold": first step with valid MSE < threshold} (empty: never)."""
        threshold = self.config.mse_threshold
        reached = [row["step"] for row in read_metrics(self.workdir)
                   if row.get("valid_mse", np.inf) < threshold]
        return {"steps_to_threshold": float(min(reached))} if reached else {}

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        shown = {k: v for k, v in metrics.items() if not k.startswith("baseline")}
        return f"{split} " + " | ".join(f"{k} {v:.4g}" for k, v in shown.items())

    def summary(self) -> dict[str, Any]:
        config = self.config
        extra: dict[str, Any] = {"task": self.task, "sequence_steps": steps(config),
                                 "cell": config.model.cell,
                                 "dilations": list(config.model.dilations)}
        if self.task == "pixel":
            extra.update(dataset=images.FASHION_MNIST, order=config.data.order,
                         permutation_seed=config.data.permutation_seed)
        else:
            extra["length"] = config.data.length
        if self.task == "adding":
            extra["mse_threshold"] = config.mse_threshold
        return extra


def row(results: Mapping[str, Any]) -> str:
    """One line of the table: cell, task, and the test metrics (means over replicates)."""
    metrics = results.get("mean", results)
    shown = [f"{k.removeprefix('test_')} {v:.4g}" for k, v in metrics.items()
             if k.startswith("test_") and isinstance(v, int | float)]
    dilated = f" dilations {results['dilations']}" if results.get("dilations") else ""
    return (f"{results['cell']}{dilated} | {results['task']} T={results['sequence_steps']} | "
            f"{results['status']} | " + " | ".join(shown))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path,
                       allow_changes: Any = ()) -> dict[str, Any]:
    """Train ``config`` (``config.seeds`` replicates) in ``workdir``; print the table row."""
    results = over_seeds(MemoryTask)(config, workdir, allow_changes)
    print(row(results), flush=True)
    return results
