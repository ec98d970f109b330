"""``run(task, workdir)``: the task-agnostic training harness.

An experiment supplies a ``Task`` (its data, model, loss, evaluation); ``run`` does the rest:

* the workdir: checked, locked for this process, ``config.json`` compared with a stored one before
  anything is written (``workdir.check_resume``), the data's fingerprint compared too;
* every check that can run before training (``validate``): the task loads and validates its
  data, fingerprints it, builds the model abstractly and checks it (``Task.check``); only then
  is anything written, and then the task builds its evaluation (``Task.prepare_evaluation``);
* training: epochs of ``Task.batch(epoch, index)`` through one jit-compiled step (by default
  ``jax.grad`` of ``Task.loss`` and an optax update with the step's learning rate
  ``Task.learning_rate(epoch, fraction of the epoch done)`` injected; ``Task.make_train_step``
  may supply another update rule), data-parallel over a ``'data'`` mesh axis; the dropout key
  of step s is fold_in(key, s), so a run resumed from a checkpoint repeats an uninterrupted one
  exactly;
* checkpoints (orbax) mid-epoch and after every epoch, metrics (JSON lines + TensorBoard), a
  progress bar, ``results.json`` (``status`` partial until the last epoch ends);
* progress: at the start a line with the training data's size (``Task.data_size``) and the
  steps to go; once a few steps after compilation are timed, the estimated time of the run
  (``rnnjax.train.progress.RunClock``); then the time left in the progress bar, in each epoch's
  line and in a progress line at most every minute;
* model selection: with ``Task.selection = ("valid_accuracy", "max")`` the parameters of the best
  validation epoch are kept and evaluated on the test split (``config.patience`` epochs without
  improvement stop early);
* divergence: a non-finite training loss, a running mean of it above ``config.divergence_factor``
  times the first step's loss, non-finite parameters or a non-finite validation loss stop the run;
  checkpoints whose validation loss is not finite are deleted, and the error names the last good
  one. ``results.json`` then has ``status: diverged``;
* data: a resume whose data fingerprint differs from the recorded one is refused in one line
  naming the data and both fingerprints, unless ``allow_changes`` holds ``"data"``
  (``DATA_CHANGES``): then the run restarts afresh on the new data;
* outputs: after the final test evaluation ``Task.write_outputs(model, "test", workdir)`` writes
  the task's files (e.g. translations), on process 0;
* Ctrl-C (SIGINT): the run stops with ``Interrupted`` ("interrupted at step N; resume with the
  same command"), after checkpointing the last finished step (or keeping the last checkpoint
  when the step was cut off), with the workdir's lock released.

Replicates (seeds x folds), ``run_experiment`` and the grid runner are in
``rnnjax.train.replicates``; the shared data helpers (fingerprints, stored vocabularies, batch
checks) in ``rnnjax.train.task_data``.
"""

from __future__ import annotations

import abc
import json
import math
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import ml_collections
import optax
import tqdm
from absl import logging
from flax import nnx

from rnnjax.train import sharding
from rnnjax.train.checkpoint import Checkpointer, CorruptCheckpoint
from rnnjax.train.metrics import MetricWriter, machine, read_metrics
from rnnjax.train.optim import learning_rate, make_optimizer
from rnnjax.train.progress import LOG_EVERY_SECONDS, RunClock, format_duration, format_size
from rnnjax.train.workdir import (
    CONFIG_FILE,
    LOCK_FILE,
    RESULTS_FILE,
    RUN_FILE,
    WorkdirLock,
    check_resume,
    check_workdir,
    config_changes,
    write_json,
)
from rnnjax.validation import check_positive_int, fail, one_line

_WHERE = "run"
# The --allow_changes entry that accepts changed data: the run (every replicate) restarts afresh.
DATA_CHANGES = "data"
# Default of config.divergence_factor: stop when the loss's running mean exceeds this many times
# the initial loss.
DIVERGENCE_FACTOR = 3.0
Batch = Any


class Task(abc.ABC):
    """One experiment's pieces (protocol v2). ``run`` calls them in this order:

    ``load(workdir)`` (read and validate data and the files a previous run left in
    ``workdir``; write nothing), ``fingerprint()``, ``build_model(rngs)`` (abstractly, under
    ``nnx.eval_shape``), ``check(model)`` (checks only); then, once every check passed and the
    workdir is committed, ``save(workdir)`` (files kept beside the checkpoints, e.g. a
    vocabulary) and ``prepare_evaluation(graphdef)`` (jitted evaluation steps, evaluation
    batches); per step ``batch``/``loss``; per epoch ``evaluate(model, "valid")`` and
    ``after_epoch(model, epoch, workdir, key)``; at the end ``evaluate(model, "test")`` and
    ``write_outputs(model, "test", workdir)``. Every hook but ``load``, ``build_model``,
    ``loss`` and ``evaluate`` has a default.
    """

    #: the experiment, recorded in results.json (the report groups runs by it)
    experiment: ClassVar[str]
    #: what ``count`` counts; throughput is reported as ``<unit>_per_s``
    unit: ClassVar[str] = "examples"
    #: config fields that may change when a run resumes, because they never alter what was
    #: trained (glob patterns; ``model.impl`` picks another implementation of the same
    #: recurrence); others need ``allow_changes``
    #: ``seeds`` and ``data.folds_to_run`` extend a run of replicates (``rnnjax.train.replicates``)
    resumable_changes: ClassVar[tuple[str, ...]] = (
        "num_epochs", "log_every_steps", "checkpoint_every_steps", "sample.*", "data.data_dir",
        "model.impl", "seeds", "data.folds_to_run")
    #: (validation metric, "max" | "min"): keep the best epoch's parameters for the test
    selection: ClassVar[tuple[str, str] | None] = None
    #: the fields of ``train_batches``' batches that the train step takes (None: all of them)
    batch_fields: ClassVar[tuple[str, ...] | None] = None
    #: set by ``load`` where the default ``num_batches``/``batch`` serve: anything with
    #: ``num_batches(epoch)`` and ``batch(epoch, index)`` (e.g. ``PaddedBatches``, ``LMBatches``)
    train_batches: Any = None

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        self.mesh = sharding.make_mesh()

    # ---- set-up -------------------------------------------------------------------------
    @abc.abstractmethod
    def load(self, workdir: Path) -> None:
        """Read and validate the data (and files a previous run left in ``workdir``)."""

    def fingerprint(self) -> str | None:
        """A digest of the data this run trains on, compared when the run resumes (build it
        with ``rnnjax.train.task_data.fingerprint``)."""
        return None

    def data_source(self) -> str:
        """The data in words, for the message that refuses changed data: by default the first
        of ``config.data``'s ``path``, ``corpus`` and ``name`` that is set."""
        data = self.config.get("data") or {}
        for field in ("path", "corpus", "name"):
            if data.get(field) is not None:
                return f"config.data.{field} {str(data[field])!r}"
        return "config.data"

    def save(self, workdir: Path) -> None:
        """Write the task's own files into ``workdir`` (after the resume checks passed)."""
        del workdir  # none by default

    @abc.abstractmethod
    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        """The model of ``config.model`` for this data."""

    def check(self, model: nnx.Module) -> None:
        """Checks that need the (abstract) model, before anything is written; no set-up."""
        del model  # none by default

    def prepare_evaluation(self, graphdef: Any) -> None:
        """Build what ``evaluate`` needs (jitted steps over ``graphdef``, evaluation batches);
        called once every check passed, before training."""
        del graphdef  # nothing by default

    def make_optimizer(self) -> optax.GradientTransformation:
        """``config.optim`` as an optax chain with an injected learning rate."""
        return make_optimizer(self.config.optim)

    def learning_rate(self, epoch: int, fraction: float = 0.0) -> float:
        """The rate of the step ``fraction`` (in [0, 1)) of the way through ``epoch``; by
        default ``config.optim``'s per-epoch schedule, constant within an epoch."""
        del fraction
        return learning_rate(self.config.optim, epoch)

    def make_train_step(self, graphdef: Any, tx: optax.GradientTransformation) -> Callable:
        """jit(params, opt_state, state, batch, key, lr) -> (params, opt_state, state, loss):
        by default ``jax.grad`` of ``loss`` and an update by ``tx`` (``make_train_step``);
        override for another update rule (e.g. sparse updates of embedding rows)."""
        return make_train_step(self, graphdef, tx)

    # ---- training -----------------------------------------------------------------------
    def initial_state(self, model: nnx.Module) -> Any:
        """State carried from batch to batch within an epoch (e.g. a recurrent carry), reset at
        the start of every epoch; its leaves have a leading batch axis."""
        return {}

    def num_batches(self, epoch: int) -> int:
        """Training batches in ``epoch`` (by default ``train_batches``')."""
        return self.train_batches.num_batches(epoch)

    def batch(self, epoch: int, index: int) -> Batch:
        """Batch ``index`` of ``epoch``: numpy arrays with a leading batch axis, the same
        whenever asked for (so a resumed run sees the same batches). By default
        ``train_batches``' batch, cut to ``batch_fields``."""
        batch = self.train_batches.batch(epoch, index)
        return batch if self.batch_fields is None else {k: batch[k] for k in self.batch_fields}

    @abc.abstractmethod
    def loss(self, model: nnx.Module, state: Any, batch: Batch, key: jax.Array
             ) -> tuple[jax.Array, tuple[jax.Array, Any]]:
        """(objective to differentiate, (mean loss to report, new state)); traced under jit."""

    def count(self, batch: Batch) -> int:
        """Units (``unit``) in ``batch``, the weight of its loss in the epoch's mean."""
        return len(jax.tree.leaves(batch)[0])

    def data_size(self) -> dict[str, int]:
        """The training data's size for the line at the start of a run, e.g. {"examples": 3240,
        "tokens": 80919}; by default ``train_batches``': the examples and the tokens of the
        field it sorts by (``PaddedBatches``) or the stream's tokens (``LMBatches``), else {}."""
        batches, size = self.train_batches, {}
        if hasattr(batches, "num_examples"):
            size["examples"] = int(batches.num_examples)
        lengths, key = getattr(batches, "lengths", {}), getattr(batches, "sort_key", None)
        if key in lengths:
            size["tokens"] = int(lengths[key].sum())
        if hasattr(batches, "tokens_per_epoch"):
            size["tokens"] = int(batches.tokens_per_epoch)
        return size

    # ---- evaluation ---------------------------------------------------------------------
    @abc.abstractmethod
    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Metrics of ``model`` on ``split`` ("valid" or "test"), including ``loss``."""

    def after_epoch(self, model: nnx.Module, epoch: int, workdir: Path, key: jax.Array) -> None:
        """E.g. write samples drawn with ``key`` (process 0, after each epoch's checkpoint)."""
        del model, epoch, workdir, key  # nothing by default

    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """Write the files of the final evaluation of ``split`` into ``workdir`` (e.g.
        translations, a confusion matrix), right after ``evaluate(model, split)`` (process
        0)."""
        del model, split, workdir  # nothing by default

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        """One log fragment, e.g. 'valid loss 1.234 | accuracy 0.812'."""
        return f"{split} " + " | ".join(f"{k} {v:.4g}" for k, v in metrics.items())

    def summary(self) -> dict[str, Any]:
        """Fields added to results.json (e.g. the corpus and its level), from the config alone."""
        return {}


def check_run_config(config: ml_collections.ConfigDict) -> None:
    """The fields every run has."""
    for name in ("num_epochs", "log_every_steps", "checkpoint_every_steps"):
        check_positive_int(_WHERE, f"config.{name}", config.get(name))
    steps = config.get("steps_per_epoch", 0)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        fail(_WHERE, "config.steps_per_epoch", "an int >= 0 (0 = whole epochs)", repr(steps))
    seed = config.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail(_WHERE, "config.seed", "an int >= 0", repr(seed))
    factor = config.get("divergence_factor", DIVERGENCE_FACTOR)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not (
            factor == 0 or factor > 1):
        fail(_WHERE, "config.divergence_factor", "0 (off) or a number > 1", repr(factor))
    patience = config.get("patience", 0)
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        fail(_WHERE, "config.patience", "an int >= 0 (0 = no early stopping)", repr(patience))


def make_train_step(task: Task, graphdef: Any, tx: optax.GradientTransformation) -> Callable:
    """jit(params, opt_state, state, batch, key, lr) -> (params, opt_state, state, loss)."""

    def objective(params, state, batch, key):
        return task.loss(nnx.merge(graphdef, params), state, batch, key)

    def train_step(params, opt_state, state, batch, key, lr):  # the name in compile logs
        grads, (loss, state) = jax.grad(objective, has_aux=True)(params, state, batch, key)
        opt_state.hyperparams["learning_rate"] = jnp.asarray(lr, jnp.float32)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, jax.lax.stop_gradient(state),
                loss)

    replicated, batched = sharding.replicated(task.mesh), sharding.batch_sharding(task.mesh)
    return jax.jit(train_step, donate_argnums=(0, 1, 2),
                   out_shardings=(replicated, replicated, batched, replicated))


@jax.jit
def all_finite(tree: Any) -> jax.Array:
    """True when every floating leaf of ``tree`` is finite."""
    leaves = [jnp.isfinite(x).all() for x in jax.tree.leaves(tree)
              if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


class Diverged(FloatingPointError):
    """Training stopped because the loss, the parameters or the validation loss blew up."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; the workdir holds a consistent checkpoint to resume from."""


def command_line() -> str:
    """The command that started this process, as recorded in results.json."""
    return shlex.join(["python", *getattr(sys, "orig_argv", sys.argv)[1:]])


def stored_json(path: Path) -> Any:
    """A JSON file an earlier run wrote; one-line error when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        fail(_WHERE, str(path), "a readable JSON file (written by an earlier run)", str(err))


def open_workdir(workdir: Any, config: ml_collections.ConfigDict, experiment: str,
                 safe: Iterable[str], allow_changes: Iterable[str] = ()
                 ) -> tuple[Path, WorkdirLock | None, dict[str, Any]]:
    """Check and lock ``workdir`` and compare ``config`` with the one stored there.

    Returns (path, the lock (None on processes > 0), run.json's content). Nothing is written
    except the lock file; ``commit_workdir`` writes config.json and run.json once every other
    check has passed (until then ``WorkdirLock.release`` removes a directory it created).
    """
    path, created = check_workdir(_WHERE, workdir)
    lock = WorkdirLock(_WHERE, path, created) if jax.process_index() == 0 else None
    try:
        new = config.to_dict()
        record = {"experiment": experiment, "fingerprint": None, "changes": []}
        stored_config = path / CONFIG_FILE
        if stored_config.is_file():
            record = {**record, **(stored_json(path / RUN_FILE)
                                   if (path / RUN_FILE).is_file() else {})}
            if record["experiment"] != experiment:
                fail(_WHERE, "workdir", f"a workdir of a {experiment!r} run",
                     f"{str(path)!r}, which holds a {record['experiment']!r} run")
            changes = config_changes(stored_json(stored_config), jsonable(new))
            check_resume(_WHERE, path, changes, safe, allow_changes)
            record["pending_changes"] = {k: [jsonable(a), jsonable(b)]
                                         for k, (a, b) in changes.items()}
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return path, lock, record


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    if type(value) is object:
        return "(absent)"
    return json.loads(json.dumps(value, default=str))


def data_changed(record: Mapping[str, Any], fingerprint: str | None) -> bool:
    """True when the run recorded in ``record`` was trained on other data."""
    stored = record.get("fingerprint")
    return stored is not None and stored != fingerprint


def check_fingerprint(path: Path, record: Mapping[str, Any], fingerprint: str | None,
                      source: str = "its data", what: str = "the run") -> None:
    """Refuse to resume on data that differs from the data the stored run was trained on: one
    line naming ``source`` (e.g. the file) and the recorded and current fingerprints."""
    if data_changed(record, fingerprint):
        fail(_WHERE, "the data", f"the data {what} in {path} was trained on ({source}, "
             f"fingerprint {record['fingerprint'][:12]})", f"different data (fingerprint "
             f"{(fingerprint or 'none')[:12]}): the data changed since; use a new --workdir, or "
             f"--allow_changes={DATA_CHANGES} to restart from scratch on the new data")


def clear_run(path: Path) -> None:
    """Delete everything a run wrote into ``path`` but the lock (a restart on new data)."""
    for entry in path.iterdir():
        if entry.name != LOCK_FILE:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def commit_workdir(path: Path, config: ml_collections.ConfigDict, record: dict[str, Any],
                   fingerprint: str | None, step: int) -> None:
    """Write config.json and run.json, after every check passed (process 0 only)."""
    changes = record.pop("pending_changes", {})
    if changes:
        record["changes"].append({"at_step": step, "fields": changes})
    record["fingerprint"] = fingerprint
    if jax.process_index() == 0:
        write_json(path / CONFIG_FILE, jsonable(config.to_dict()))
        write_json(path / RUN_FILE, record)


def validate(task: Task, workdir: Path) -> tuple[str | None, nnx.Module]:
    """Every check that can run before anything is written: the run's config fields, the
    optimiser, the data (``load``, reading what a previous run left in ``workdir``), the model
    (built abstractly) and ``Task.check``. Returns (the data's fingerprint, the abstract
    model)."""
    check_run_config(task.config)
    task.make_optimizer()
    task.load(workdir)
    fingerprint = task.fingerprint()
    abstract = nnx.eval_shape(lambda: task.build_model(nnx.Rngs(0)))
    task.check(abstract)
    return fingerprint, abstract


def run(task: Task, workdir: Any, *, allow_changes: Iterable[str] = ()) -> dict[str, Any]:
    """Train ``task`` in ``workdir`` (resuming from its latest checkpoint); return the results.

    With ``"data"`` (``DATA_CHANGES``) in ``allow_changes`` a run whose data changed since it
    was trained restarts from scratch instead of being refused.
    """
    config = task.config
    check_run_config(config)
    tx = task.make_optimizer()
    path, lock, record = open_workdir(workdir, config, task.experiment, task.resumable_changes,
                                      allow_changes)
    try:
        with jax.set_mesh(task.mesh):  # "auto" runs fused kernels per device (rows_per_device)
            return _Run(task, tx, path, record, DATA_CHANGES in set(allow_changes)).train()
    finally:
        if lock is not None:
            lock.release()


class _Run:
    """The state of one ``run`` call: model, optimiser, checkpoints, metrics, the loop."""

    def __init__(self, task: Task, tx: optax.GradientTransformation, workdir: Path,
                 record: dict[str, Any], restart_on_new_data: bool = False):
        self.task, self.config, self.workdir = task, task.config, workdir
        self.main = jax.process_index() == 0
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        # False while the parameters and the counters of the state may disagree (mid-step)
        self.consistent = True
        mesh = task.mesh
        fingerprint, abstract = validate(task, workdir)
        if restart_on_new_data and data_changed(record, fingerprint):
            logging.warning("the data changed since the run in %s was trained: it restarts from "
                            "scratch (--allow_changes=%s)", workdir, DATA_CHANGES)
            clear_run(workdir)
            record = {**record, "fingerprint": None, "pending_changes": {}}
            fingerprint, abstract = validate(task, workdir)
        check_fingerprint(workdir, record, fingerprint, task.data_source())
        config = self.config
        init_key, self.dropout_key, self.sample_key = jax.random.split(
            jax.random.PRNGKey(config.seed), 3)

        def init(key: jax.Array) -> Any:
            return nnx.split(task.build_model(nnx.Rngs(params=key)))[1]

        self.graphdef = nnx.graphdef(abstract)
        # One compiled program for the whole initialisation, laid out replicated on the mesh.
        self.params = jax.jit(init, out_shardings=sharding.replicated(mesh))(init_key)
        self.model = nnx.merge(self.graphdef, self.params)
        self.state = {
            "opt_state": sharding.replicate(tx.init(self.params), mesh),
            "task": sharding.shard_batch(task.initial_state(self.model), mesh),
            "rng": sharding.replicate(self.dropout_key, mesh), "step": 0, "epoch": 0,
            "batch": 0, "epoch_loss": 0.0, "epoch_count": 0, "train_seconds": 0.0,
            "wall_seconds": 0.0, "loss_ema": 0.0, "initial_loss": 0.0, "stopped": 0,
        }
        if task.selection:
            # A copy: the training step donates (frees) the buffers of self.params.
            self.state["best"] = {"params": jax.tree.map(jnp.copy, self.params),
                                  "value": math.nan, "epoch": 0}
        self.checkpointer = Checkpointer(workdir)
        if self.checkpointer.latest_step() is not None:
            try:
                self.params, self.state = self.checkpointer.restore(self.params, self.state)
            except CorruptCheckpoint:
                self.checkpointer.close()
                raise
            except (ValueError, TypeError, KeyError) as err:
                self.checkpointer.close()
                fail(_WHERE, f"the checkpoint in {self.checkpointer.directory}",
                     "one of the model and optimiser that the config builds",
                     f"a mismatch ({one_line(err)})")
            logging.info("resumed from step %d (epoch %d, batch %d)", self.state["step"],
                         self.state["epoch"] + 1, self.state["batch"])
        commit_workdir(workdir, config, record, fingerprint, int(self.state["step"]))
        if self.main:
            task.save(workdir)
        task.prepare_evaluation(self.graphdef)
        self.writer = MetricWriter(workdir, enabled=self.main)
        self.writer.truncate_after(self.state["step"])
        self.started -= float(self.state["wall_seconds"])
        self.train_step = task.make_train_step(self.graphdef, tx)
        self.clock, self.estimated, self.logged_at = RunClock(), False, time.perf_counter()
        self.log_start()

    # ---- results ----------------------------------------------------------------------
    def results(self, status: str, **extra: Any) -> dict[str, Any]:
        task, state = self.task, self.state
        epochs = [r for r in read_metrics(self.workdir) if "epoch" in r]
        last = epochs[-1] if epochs else {}
        speed = f"{task.unit}_per_s"
        best = {}
        if task.selection and "best" in state and not math.isnan(float(state["best"]["value"])):
            best = {f"best_{task.selection[0]}": float(state["best"]["value"]),
                    "best_epoch": int(state["best"]["epoch"])}
        return {"status": status, "experiment": task.experiment,
                "name": self.config.get("name", ""), **task.summary(),
                "epochs": int(state["epoch"]), "num_epochs": self.config.num_epochs,
                "steps": int(state["step"]),
                **{k: v for k, v in last.items() if k.startswith(("train_", "valid_"))},
                **best, **extra, "wall_time_s": round(time.perf_counter() - self.started, 1),
                # user + system CPU time of this process's part of the run (a resumed run: the
                # last session only); the budget a quiet machine of any speed needs
                "session_cpu_time_s": round(time.process_time() - self.cpu_started, 1),
                f"train_{speed}": last.get(speed), "machine": machine(),
                "command": command_line(), "config": jsonable(self.config.to_dict()),
                # the model and optimiser sections again, at top level, for the report
                "model": jsonable(self.config.model.to_dict()),
                "optim": jsonable(self.config.optim.to_dict())}

    def write_results(self, payload: dict[str, Any]) -> None:
        if self.main:
            write_json(self.workdir / RESULTS_FILE, payload)

    # ---- divergence -------------------------------------------------------------------
    def _track(self, loss: float) -> str | None:
        """Update the loss's running mean; the reason the run diverged, or None.

        The reference is the loss of the first step (the initial parameters'); the running mean
        is an exponential moving average with weight 0.1 on each new step.
        """
        state = self.state
        if not math.isfinite(loss):
            return f"the training loss is {loss}"
        if state["step"] == 1:
            state["initial_loss"] = state["loss_ema"] = loss
            return None
        state["loss_ema"] = 0.9 * float(state["loss_ema"]) + 0.1 * loss
        factor = self.config.get("divergence_factor", DIVERGENCE_FACTOR)
        reference = max(float(state["initial_loss"]), 1e-3)
        if factor and state["loss_ema"] > factor * reference:
            return (f"the training loss's running mean {state['loss_ema']:.4g} exceeds "
                    f"{factor:g} x the initial loss {reference:.4g} (config.divergence_factor)")
        return None

    def diverge(self, reason: str) -> None:
        """Delete checkpoints whose validation loss is not finite; report the last good one."""
        state = self.state
        where = f"step {state['step']} (epoch {state['epoch'] + 1}, batch {state['batch']})"
        good = None
        for step in reversed(self.checkpointer.all_steps()):
            params, _ = self.checkpointer.restore(self.params, None, step=step)
            loss = self.task.evaluate(nnx.merge(self.graphdef, params), "valid").get("loss")
            if loss is not None and math.isfinite(loss) and all_finite(params):
                good = step
                break
            logging.warning("deleting checkpoint %d: its validation loss is %s", step, loss)
            self.checkpointer.delete(step)
        kept = (f"the last checkpoint with a finite validation loss is step {good} in "
                f"{self.checkpointer.directory}; rerun with a smaller learning rate in a new "
                "--workdir, or here with --allow_changes=optim.learning_rate to continue from it"
                if good is not None else "no checkpoint with a finite validation loss was saved")
        message = f"{reason} at {where}; training stopped, {kept}"
        self.write_results(self.results("diverged", error=message, last_good_step=good))
        self.close()
        raise Diverged(f"{_WHERE}: training diverged: {message}")

    def save(self) -> None:
        """Checkpoint the current step, unless the parameters are no longer finite."""
        if not all_finite(self.params):
            self.diverge("the parameters became non-finite")
        self.state["wall_seconds"] = time.perf_counter() - self.started
        self.checkpointer.save(self.state["step"], self.params, self.state)

    def close(self) -> None:
        self.writer.close()
        self.checkpointer.close()

    # ---- progress -----------------------------------------------------------------------
    def epoch_steps(self, epoch: int) -> int:
        """Training steps of ``epoch``: the task's batches, at most ``config.steps_per_epoch``."""
        count = self.task.num_batches(epoch)
        cap = self.config.get("steps_per_epoch", 0)
        return min(count, cap) if cap else count

    def left(self, count: int) -> tuple[int, int]:
        """(training steps, evaluations) left in the run, the later epochs taken to be as long
        as the current one (``count`` steps); the evaluations: the validations of the epochs
        not ended and the test."""
        state = self.state
        epochs_after = self.config.num_epochs - state["epoch"] - 1
        return count - state["batch"] + epochs_after * count, epochs_after + 2

    def epoch_time_left(self) -> str:
        """' | about T left' after an epoch ended (with the epochs and the test to come), or ''
        when the run ends here or too few steps were timed."""
        state, num_epochs = self.state, self.config.num_epochs
        if not self.clock.seconds_per_step() > 0 or state["epoch"] >= num_epochs or int(
                state["stopped"]):
            return ""
        epochs = num_epochs - state["epoch"]
        seconds = self.clock.time_left(epochs * self.epoch_steps(state["epoch"]), epochs + 1)
        return f" | about {format_duration(seconds)} left"

    def log_start(self) -> None:
        """The training data's size and the steps to go, before the first step."""
        state, num_epochs = self.state, self.config.num_epochs
        if state["epoch"] >= num_epochs or int(state["stopped"]):
            return
        count = self.epoch_steps(state["epoch"])
        size = format_size(self.task.data_size()) or "data of unreported size"
        early = " (early stopping may end it sooner)" if self.task.selection and (
            self.config.get("patience", 0)) else ""
        logging.info("training on %s: %d epochs of %d steps, %s steps to go%s; the time "
                     "estimate follows after %d steps", size, num_epochs, count,
                     f"{self.left(count)[0]:,}", early, self.clock.skip + self.clock.sample)

    def report_progress(self, count: int) -> None:
        """After a step: the run's estimated time once the clock is ready, then a progress
        line at most every ``LOG_EVERY_SECONDS``."""
        clock, state = self.clock, self.state
        now = time.perf_counter()
        if not clock.ready or (self.estimated and now - self.logged_at < LOG_EVERY_SECONDS):
            return
        steps, evaluations = self.left(count)
        if not self.estimated:
            logging.info("%s", clock.estimate(steps, evaluations, self.task.unit))
        else:
            logging.info("progress: epoch %d/%d, step %d/%d, %s so far, about %s left",
                         state["epoch"] + 1, self.config.num_epochs, state["batch"], count,
                         format_duration(now - self.started),
                         format_duration(clock.time_left(steps, evaluations)))
        self.estimated, self.logged_at = True, now

    def bar_time_left(self, count: int) -> dict[str, str]:
        """The progress bar's field for the run's time left (none until the clock is ready)."""
        if not self.clock.ready:
            return {}
        return {"run_left": format_duration(self.clock.time_left(*self.left(count)))}

    # ---- the loop -----------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """The epochs until ``num_epochs`` (or early stopping), then the test. Ctrl-C (SIGINT)
        lets the current step (or epoch end) finish, checkpoints it and ends with
        ``Interrupted``; a second Ctrl-C stops at once, keeping the last checkpoint."""
        self.stop_requested = False

        def on_sigint(signum: int, frame: Any) -> None:
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True
            logging.warning("Ctrl-C: stopping after this step (press again to stop at once)")

        try:
            previous = signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not the main thread: KeyboardInterrupt as usual
            previous = None
        try:
            return self._train()
        except KeyboardInterrupt:
            self.interrupt()
            raise AssertionError("unreachable") from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _stop_if_requested(self) -> None:
        """At a point where parameters and counters agree: honour a pending Ctrl-C."""
        if self.stop_requested:
            raise KeyboardInterrupt

    def interrupt(self) -> None:
        state, saved = self.state, self.checkpointer.latest_step()
        if self.consistent and int(state["step"]) != (saved if saved is not None else 0):
            self.save()
            saved = int(state["step"])
        self.close()
        raise Interrupted(f"interrupted at step {saved or 0}; resume with the same command "
                          f"(--workdir={self.workdir})") from None

    def _train(self) -> dict[str, Any]:
        task, config, state, mesh = self.task, self.config, self.state, self.task.mesh
        num_epochs, every = config.num_epochs, config.log_every_steps
        while state["epoch"] < num_epochs and not int(state["stopped"]):
            epoch = state["epoch"]
            count = task.num_batches(epoch)
            if config.get("steps_per_epoch", 0):
                count = min(count, config.steps_per_epoch)
            lr = task.learning_rate(epoch, state["batch"] / count)
            if state["batch"] == 0:
                state["task"] = sharding.shard_batch(task.initial_state(self.model), mesh)
                state["epoch_loss"], state["epoch_count"] = 0.0, 0
            bar = tqdm.tqdm(total=count, initial=state["batch"],
                            desc=f"epoch {epoch + 1}/{num_epochs}", unit="batch",
                            disable=None if self.main else True, dynamic_ncols=True)
            for index in range(state["batch"], count):
                self.clock.start()
                lr = task.learning_rate(epoch, index / count)
                batch = task.batch(epoch, index)
                key = jax.random.fold_in(state["rng"], state["step"])
                self.consistent = False  # until the step's counters and sums are updated
                self.params, state["opt_state"], state["task"], loss = self.train_step(
                    self.params, state["opt_state"], state["task"],
                    sharding.shard_batch(batch, mesh), key, lr)
                loss = float(loss)
                state["step"] += 1
                state["batch"] = index + 1
                reason = self._track(loss)
                if reason:
                    bar.close()
                    self.diverge(reason)
                units = task.count(batch)
                seconds = self.clock.step_done(units)
                state["train_seconds"] += seconds
                state["epoch_loss"] += loss * units
                state["epoch_count"] += units
                self.consistent = True
                self.report_progress(count)
                if state["step"] % every == 0 or index + 1 == count:
                    speed = units / seconds
                    bar.set_postfix(loss=f"{loss:.3f}", per_s=f"{speed:,.0f}",
                                    **self.bar_time_left(count), refresh=False)
                    self.writer.write(state["step"], train_loss=loss, lr=lr,
                                      **{f"{task.unit}_per_s": speed})
                bar.update()
                if state["step"] % config.checkpoint_every_steps == 0 and index + 1 < count:
                    self.save()
                self._stop_if_requested()
            bar.close()
            self.end_epoch(epoch, lr)
            self._stop_if_requested()
        return self.finish()

    def end_epoch(self, epoch: int, lr: float) -> None:
        """Validate, log, select, checkpoint, write samples and the partial results."""
        task, state = self.task, self.state
        self.consistent = False  # until the epoch's checkpoint is saved
        train_loss = state["epoch_loss"] / max(state["epoch_count"], 1)
        self.clock.start()
        valid = task.evaluate(nnx.merge(self.graphdef, self.params), "valid")
        validation_seconds = self.clock.evaluation_done()
        if not math.isfinite(valid.get("loss", 0.0)):
            self.diverge(f"the validation loss is {valid['loss']}")
        speed = state["epoch_count"] / max(state["train_seconds"], 1e-9)
        state.update(epoch=epoch + 1, batch=0, train_seconds=0.0)
        if task.selection and self.select(valid, epoch + 1):
            state["stopped"] = 1
            logging.info("early stopping: no better %s for %d epochs", task.selection[0],
                         self.config.patience)
        self.writer.write(state["step"], epoch=epoch + 1, lr=lr,
                          **{f"{task.unit}_per_s": round(speed, 1)}, train_loss=train_loss,
                          **{f"valid_{k}": v for k, v in valid.items()})
        logging.info("epoch %d/%d: train loss %.4f | %s | lr %.4g | %.0f %s/s | %.0f s "
                     "(validation %.1f s)%s", epoch + 1, self.config.num_epochs, train_loss,
                     task.describe("valid", valid), lr, speed, task.unit,
                     time.perf_counter() - self.started, validation_seconds,
                     self.epoch_time_left())
        self.save()
        self.consistent = True
        if self.main:
            task.after_epoch(nnx.merge(self.graphdef, self.params), epoch + 1, self.workdir,
                             self.sample_key)
        self.write_results(self.results("partial"))

    def select(self, valid: Mapping[str, float], epoch: int) -> bool:
        """Keep the parameters of the best validation epoch; True after ``patience`` worse ones."""
        metric, mode = self.task.selection
        name = metric.removeprefix("valid_")
        if name not in valid:
            fail(_WHERE, "Task.selection", f"a metric that evaluate() returns {sorted(valid)}",
                 repr(metric))
        value, best = valid[name], self.state["best"]
        previous = float(best["value"])
        if math.isnan(previous) or (value > previous if mode == "max" else value < previous):
            self.state["best"] = {"params": jax.tree.map(jnp.copy, self.params),
                                  "value": value, "epoch": epoch}
            return False
        patience = self.config.get("patience", 0)
        return bool(patience) and epoch - int(best["epoch"]) >= patience

    def finish(self) -> dict[str, Any]:
        task, state = self.task, self.state
        params = state["best"]["params"] if task.selection else self.params
        model = nnx.merge(self.graphdef, params)
        test = task.evaluate(model, "test")
        if self.main:
            task.write_outputs(model, "test", self.workdir)
        final = self.results("complete", **{f"test_{k}": v for k, v in test.items()})
        logging.info("done after %d epochs: %s", state["epoch"], task.describe("test", test))
        self.write_results(final)
        self.close()
        return final


def __getattr__(name: str) -> Any:
    """``run_replicates``, ``aggregate`` and ``replicate_name`` moved to
    ``rnnjax.train.replicates``; importing them from here still works."""
    if name in ("run_replicates", "aggregate", "replicate_name", "run_experiment", "run_grid"):
        from rnnjax.train import replicates

        return getattr(replicates, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
