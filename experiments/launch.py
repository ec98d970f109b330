"""What every experiment launch shares: its flags (defined once, here) and how it runs.

    python -m experiments.<task> --workdir=DIR [--config=experiments/<task>/configs.py:VARIANT]
        [--config.FIELD=VALUE ...] [--allow_changes=FIELD,...] [--traceback]
        [--coordinator_address=HOST:PORT --num_processes=N --process_id=I] [--per_core]

Restarting with the same --workdir resumes the run; a config that differs from the stored one in
a field that alters the run is refused unless --allow_changes names that field
(``--allow_changes=data`` restarts a run, every replicate of it, whose data changed). Errors end the
program with one line on stderr and exit status 2 (``rnnjax.cli``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ml_collections
from absl import flags
from ml_collections import config_flags

from rnnjax import cli
from rnnjax.train import sharding
from rnnjax.train.replicates import run_experiment
from rnnjax.train.run import Task

WORKDIR = flags.DEFINE_string(
    "workdir", None, "Directory of the run: config, checkpoints, metrics, results. Restarting "
    "with the same directory resumes the run.", required=True)
ALLOW_CHANGES = flags.DEFINE_list(
    "allow_changes", [], "Config fields (glob patterns, e.g. optim.learning_rate or optim.*) "
    "that may differ from the config stored in --workdir when resuming; 'data' restarts the "
    "run (every replicate) from scratch when its data changed.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "Multi-host: host:port of process 0 (jax.distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")
_PER_CORE = flags.DEFINE_bool(
    "per_core", False, "CPU, one process: one single-threaded XLA device per core, each batch "
    "split over them (rnnjax.train.sharding.use_cores_as_devices), as many as divide "
    "config.data's batch_size and eval_batch_size.")

Train = Callable[..., Any]


def define_config(main_file: str, variant: str | None = None) -> flags.FlagHolder:
    """``--config``, by default the ``configs.py`` beside ``main_file`` (at ``variant``)."""
    default = str(Path(main_file).with_name("configs.py")) + (f":{variant}" if variant else "")
    return config_flags.DEFINE_config_file(
        "config", default, "Config file and variant, e.g. experiments/lm/configs.py:quick; "
        "override any field with --config.FIELD=VALUE.", lock_config=True)


def main(train: Callable[[ml_collections.ConfigDict, str, list[str]], Any],
         config: flags.FlagHolder) -> None:
    """Parse the flags and call ``train(config, workdir, allow_changes)``."""

    def run(argv: list[str]) -> None:
        del argv
        if _PER_CORE.value and not _COORDINATOR.value:
            data = config.value.get("data") or {}
            count = sharding.per_core_devices(
                [data[name] for name in ("batch_size", "eval_batch_size") if data.get(name)])
            if count > 1:
                sharding.use_cores_as_devices(count)
        sharding.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
        train(config.value, WORKDIR.value, ALLOW_CHANGES.value)

    cli.run(run, argv=legacy_seeds(sys.argv))


def legacy_seeds(argv: list[str]) -> list[str]:
    """Recorded commands from when ``seeds`` listed the seeds: ``--config.seeds=3,4,5`` reads
    as ``--config.seed=3 --config.seeds=3`` (consecutive seeds only; others are left for the
    flag parser to refuse)."""
    out = []
    for arg in argv:
        name, _, value = arg.partition("=")
        seeds = [s for s in value.split(",") if s.strip()] if name == "--config.seeds" else []
        if "," in value and seeds and all(s.strip().isdigit() for s in seeds) and [
                int(s) for s in seeds] == list(range(int(seeds[0]), int(seeds[0]) + len(seeds))):
            out += [f"--config.seed={int(seeds[0])}", f"--config.seeds={len(seeds)}"]
        else:
            out.append(arg)
    return out


def over_seeds(make_task: Callable[[ml_collections.ConfigDict], Task]) -> Train:
    """``train(config, workdir, allow_changes)``: ``rnnjax.train.replicates.run_experiment``,
    i.e. ``config.seeds`` replicates (seeds ``config.seed``, ``config.seed + 1``, ...; mean ±
    std in workdir/results.json), or one ordinary run in ``workdir`` when ``config.seeds`` is 1
    or absent."""

    def train(config: ml_collections.ConfigDict, workdir: str | Path,
              allow_changes: Any = ()) -> dict[str, Any]:
        return run_experiment(make_task, config, workdir, allow_changes)

    return train
