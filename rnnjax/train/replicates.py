"""Replicates (seeds x folds) and grids of runs, on top of ``run``.

The replicate spec, one for every experiment:

* ``config.seed``: the first seed; ``config.seeds``: how many seeds (an int >= 1; seeds
  ``seed, seed + 1, ...``); a config without ``seeds`` has one;
* ``config.data.folds_to_run``: where the data has folds (``num_folds`` passed by the task), the
  first k folds (0: all).

``replicate_list(config, num_folds)`` turns a config into the list of replicates (flattened
overrides, seed-major: e.g. ``{"seed": 1, "data.fold": 3}``) or None for a single plain run in
the workdir (one seed, no folds). ``run_experiment`` runs either; ``run_replicates`` runs each
replicate in ``workdir/<replicate_name>`` and aggregates; ``run_grid`` runs named rows of
configs, each in ``workdir/<row>``.

Resuming and extending: ``seeds`` and ``data.folds_to_run`` may change on any resume (a run
extended from one seed moves into ``workdir/seed<seed>/`` first). Replicates never mix data:
before anything is written every finished replicate loads its data again and its fingerprint
must equal the recorded one; a change is refused in one line naming the data and both
fingerprints, unless ``allow_changes`` holds ``"data"``, which restarts every replicate afresh.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from rnnjax.train.checkpoint import CHECKPOINT_DIR
from rnnjax.train.metrics import METRICS_FILE, machine
from rnnjax.train.progress import format_duration
from rnnjax.train.run import (
    DATA_CHANGES,
    Diverged,
    Task,
    check_fingerprint,
    clear_run,
    command_line,
    commit_workdir,
    jsonable,
    open_workdir,
    run,
    stored_json,
    validate,
)
from rnnjax.train.workdir import (
    CONFIG_FILE,
    LOCK_FILE,
    RESULTS_FILE,
    RUN_FILE,
    write_json,
)
from rnnjax.validation import fail

_WHERE = "run_replicates"
MakeTask = Callable[[ml_collections.ConfigDict], Task]


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        fail(_WHERE, f"config.{name}", f"an int >= {low}", repr(value))
    return value


def replicate_list(config: ml_collections.ConfigDict, num_folds: int | None = None
                   ) -> list[dict[str, int]] | None:
    """Every seed of ``config.seeds`` (from ``config.seed``) on every fold of
    ``config.data.folds_to_run`` (when ``num_folds`` is given), seed-major; None for one plain
    run (one seed, no folds)."""
    seed = _check_count("seed", config.get("seed"), 0)
    seeds = config.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        fail(_WHERE, "config.seeds", f"an int >= 1 (the number of seeds from config.seed "
             f"{seed})", repr(seeds))
    if num_folds is None:
        return None if seeds == 1 else [{"seed": seed + i} for i in range(seeds)]
    folds = config.data.get("folds_to_run", 0)
    if isinstance(folds, bool) or not isinstance(folds, int) or not 0 <= folds <= num_folds:
        fail(_WHERE, "config.data.folds_to_run", f"an int in [0, {num_folds}] (0: all "
             f"{num_folds})", repr(folds))
    return [{"seed": seed + i, "data.fold": fold} for i in range(seeds)
            for fold in range(folds or num_folds)]


def replicate_name(overrides: Mapping[str, Any]) -> str:
    """{"seed": 1, "data.fold": 3} -> "seed1-fold3": the replicate's sub-directory."""
    return "-".join(f"{key.split('.')[-1]}{value}" for key, value in overrides.items())


def replicate_config(config: ml_collections.ConfigDict, overrides: Mapping[str, Any]
                     ) -> ml_collections.ConfigDict:
    sub = ml_collections.ConfigDict(config.to_dict())
    sub.update_from_flattened_dict(dict(overrides))
    return sub


def aggregate(rows: list[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, std (ddof 1; 0 for one row), min and max of every numeric test_/valid_/best_
    metric that all ``rows`` have."""
    keys = [k for k, v in rows[0].items() if k.startswith(("test_", "valid_", "best_"))
            and isinstance(v, int | float) and not isinstance(v, bool)]
    keys = [k for k in keys if all(isinstance(r.get(k), int | float) for r in rows)]
    stats: dict[str, dict[str, float]] = {"mean": {}, "std": {}, "min": {}, "max": {}}
    for key in keys:
        values = np.asarray([r[key] for r in rows], np.float64)
        stats["mean"][key] = float(values.mean())
        stats["std"][key] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        stats["min"][key], stats["max"][key] = float(values.min()), float(values.max())
    return stats


def _finished(subdir: Path, config: ml_collections.ConfigDict) -> dict[str, Any] | None:
    """The replicate's results when it completed at least ``config.num_epochs`` epochs."""
    done = subdir / RESULTS_FILE
    result = stored_json(done) if done.is_file() else None
    if result and result.get("status") == "complete" and result.get(
            "num_epochs", 0) >= config.num_epochs:
        return result
    return None


def _single_run(path: Path) -> bool:
    """True when ``path`` holds a plain one-seed run (its checkpoints or metrics; a run of
    replicates keeps those in the replicates' folders)."""
    return (path / CHECKPOINT_DIR).is_dir() or (path / METRICS_FILE).is_file()


def _adopt_single_run(path: Path, first: Mapping[str, Any]) -> None:
    """The plain one-seed run in ``path`` becomes replicate ``first`` (its seed) of the run
    being extended: its files move into ``path/<replicate_name(first)>`` (config.json and
    run.json are copied: the extended run rewrites them)."""
    subdir = path / replicate_name(first)
    subdir.mkdir()
    for entry in path.iterdir():
        if entry.name in (CONFIG_FILE, RUN_FILE):
            shutil.copy2(entry, subdir)
        elif entry.name not in (LOCK_FILE, subdir.name):
            shutil.move(entry, subdir / entry.name)
    logging.info("the one-seed run in %s moved to %s (extended to more seeds)", path, subdir)


def _check_replicate_data(make_task: MakeTask, config: ml_collections.ConfigDict,
                          locations: Mapping[str, Path], replicates: list[dict[str, Any]],
                          recorded: Mapping[str, str], allow_changes: Iterable[str]
                          ) -> dict[str, str] | None:
    """Reload every finished replicate's data (in its directory ``locations[name]``); refuse
    when a fingerprint differs from the recorded one. Returns the fingerprints that hold, or
    None when one differs and ``allow_changes`` holds ``"data"`` (every replicate restarts)."""
    fingerprints = dict(recorded)
    for overrides in replicates:
        name = replicate_name(overrides)
        where, sub = locations[name], replicate_config(config, overrides)
        if _finished(where, sub) is None:
            continue
        task = make_task(sub)
        task.load(where)
        current = task.fingerprint()
        stored = recorded.get(name) or (stored_json(where / RUN_FILE).get("fingerprint")
                                        if (where / RUN_FILE).is_file() else None)
        if stored is not None and stored != current and DATA_CHANGES in set(allow_changes):
            logging.warning("the data changed since replicate %s was trained: every replicate "
                            "restarts (--allow_changes=%s)", name, DATA_CHANGES)
            return None
        check_fingerprint(where, {"fingerprint": stored}, current, task.data_source(),
                          f"replicate {name}")
        fingerprints[name] = current
    return fingerprints


def run_replicates(make_task: MakeTask, config: ml_collections.ConfigDict, workdir: Any,
                   replicates: Iterable[Mapping[str, Any]], *,
                   allow_changes: Iterable[str] = ()) -> dict[str, Any]:
    """Run ``config`` once per replicate (flattened overrides such as
    ``{"seed": 1, "data.fold": 3}``) in ``workdir/<replicate_name>``, then aggregate.

    Before anything is written the first replicate's task loads and checks its data and model
    (``run.validate``) and every finished replicate's data is compared with the data it was
    trained on. Each replicate is an ordinary resumable run; finished ones are read, not rerun.
    The top-level results.json lists every replicate and the mean/std/min/max of their metrics
    (``status`` partial until all are complete) and is rewritten after each replicate; the
    top-level run.json records each replicate's data fingerprint.
    """
    replicates = [dict(r) for r in replicates]
    if not replicates:
        fail(_WHERE, "replicates", "at least one set of overrides", replicates)
    template = make_task(replicate_config(config, replicates[0]))
    experiment = template.experiment
    path, lock, record = open_workdir(workdir, config, experiment, template.resumable_changes,
                                      allow_changes)
    started = time.perf_counter()
    try:
        single = _single_run(path)
        locations = {replicate_name(r): path / replicate_name(r) for r in replicates}
        if single:  # extending a one-seed run: it is the first replicate
            locations[replicate_name(replicates[0])] = path
        validate(template, locations[replicate_name(replicates[0])])
        fingerprints = _check_replicate_data(make_task, config, locations, replicates,
                                             record.get("fingerprints", {}), allow_changes)
        if fingerprints is None:  # the data changed and the user accepted a restart
            clear_run(path)
            single, fingerprints = False, {}
        if single and (path / replicate_name(replicates[0])).exists():
            fail(_WHERE, "workdir", f"a one-seed run without a {replicate_name(replicates[0])} "
                 "folder (extending it moves the run there)", str(path))
        if single:
            _adopt_single_run(path, replicates[0])
        record["fingerprints"] = fingerprints
        commit_workdir(path, config, record, None, 0)
        rows, trained = [], []  # trained: wall seconds of the replicates run in this session
        for number, overrides in enumerate(replicates, 1):
            sub = replicate_config(config, overrides)
            subdir = path / replicate_name(overrides)
            result = _finished(subdir, sub)
            if result is None:
                if trained:
                    mean = sum(trained) / len(trained)
                    to_go = len(replicates) - number + 1
                    logging.info("replicate %d/%d (%s): %d to go, about %s left (%s each so far)",
                                 number, len(replicates), replicate_name(overrides), to_go,
                                 format_duration(mean * to_go), format_duration(mean))
                replicate_started = time.perf_counter()
                result = run(make_task(sub), subdir, allow_changes=allow_changes)
                trained.append(time.perf_counter() - replicate_started)
            fingerprints[replicate_name(overrides)] = stored_json(subdir / RUN_FILE)[
                "fingerprint"]
            rows.append({"replicate": replicate_name(overrides), **overrides, **{
                k: v for k, v in result.items() if k.startswith(("test_", "valid_", "best_"))
                or k in ("status", "epochs", "steps", "wall_time_s", "session_cpu_time_s")}})
            complete = [r for r in rows if r["status"] == "complete"]
            status = "complete" if len(complete) == len(replicates) else "partial"
            payload = {"status": status, "experiment": experiment,
                       "name": config.get("name", ""), **template.summary(),
                       "replicates_done": len(complete), "replicates_total": len(replicates),
                       **(aggregate(complete) if complete else {}), "replicates": rows,
                       "wall_time_s": round(sum(r["wall_time_s"] for r in rows), 1),
                       "session_cpu_time_s": round(sum(r.get("session_cpu_time_s", 0.0)
                                                       for r in rows), 1),
                       "session_wall_time_s": round(time.perf_counter() - started, 1),
                       "machine": machine(), "command": command_line(),
                       "config": jsonable(config.to_dict()),
                       "model": jsonable(config.model.to_dict()),
                       "optim": jsonable(config.optim.to_dict())}
            if jax.process_index() == 0:
                write_json(path / RUN_FILE, record)
                write_json(path / RESULTS_FILE, payload)
        return payload
    finally:
        if lock is not None:
            lock.release()


def run_experiment(make_task: MakeTask, config: ml_collections.ConfigDict, workdir: Any,
                   allow_changes: Iterable[str] = (), *, num_folds: int | None = None
                   ) -> dict[str, Any]:
    """``config``'s replicates (``replicate_list``) through ``run_replicates``, or one plain
    ``run`` in ``workdir`` when it has one seed and no folds; the results."""
    replicates = replicate_list(config, num_folds)
    if replicates is None:
        return run(make_task(config), workdir, allow_changes=allow_changes)
    return run_replicates(make_task, config, workdir, replicates, allow_changes=allow_changes)


def run_grid(make_task: MakeTask, rows: Mapping[str, ml_collections.ConfigDict], workdir: Any,
             allow_changes: Iterable[str] = (), *, num_folds: int | None = None
             ) -> dict[str, dict[str, Any] | None]:
    """Every named row's config through ``run_experiment`` in ``workdir/<row>`` (a row name may
    hold "/" for nested folders): resumable, each row with its own results.json. A finished
    plain row (complete for as many epochs) is read back, not rerun; a row of replicates is
    checked and aggregated by ``run_replicates``. A row whose training diverges is logged and
    has None; the grid goes on."""
    root = Path(workdir)
    results: dict[str, dict[str, Any] | None] = {}
    for row, config in rows.items():
        if replicate_list(config, num_folds) is None and _finished(root / row, config):
            results[row] = stored_json(root / row / RESULTS_FILE)
            continue
        try:
            results[row] = run_experiment(make_task, config, root / row, allow_changes,
                                          num_folds=num_folds)
        except Diverged as err:  # a diverged row is a result of the grid; go on
            logging.error("%s: %s", row, err)
            results[row] = None
    return results
