r"""How long a user waits before training starts: from launching an experiment's command to its
first finished training step, and the compilation in it, with a cold and a warm persistent cache.

    python -m benchmarks.compile_cpu                    # every experiment, 1 round
    python -m benchmarks.compile_cpu --experiments=lm,classify --rounds=3

For each experiment's default config (``python -m experiments.<name>`` with no ``--config``;
word2vec's needs a text file: the prepared ``enwiki_text`` training text) two launches in fresh
processes, run by ``benchmarks.compile_probe`` with ``--config.steps_per_epoch=--steps`` and
stopped when the first validation ends:

* cold: an empty persistent compilation cache (``RNNJAX_COMPILATION_CACHE`` = a new directory);
* warm: the same config again in a new workdir with the cache the cold launch filled (what a
  second launch, another fold or a rerun costs).

Each records the seconds from launch to the first finished training step; the compilation that
happened inside the first train-step call (tracing, lowering to StableHLO, XLA compilation or a
load from the cache) and inside the first evaluation (its jitted steps per batch shape and
eager operations), and the XLA compilations of the whole launch that the cache did not serve.
Beside the LM: torch's time from launch to its first step of the same model (embedding, 2 x 256
LSTM, softmax; Adam, clipping) on a batch of the same text, in a fresh process that imports no
jax. Rounds repeat the series (medians reported). Writes JSON with the machine and the load
average before and after, and the markdown beside it; the markdown names the experiments whose
launches ran different code (``source_digest``: files edited during the run), whose warm rows then
compiled the changed programs and measure no cache.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from absl import app, flags

# The benchmark's own process and the torch child import no rnnjax (hence no jax) at import
# time: the torch child's start-up must not include jax's.
EXPERIMENTS = ("lm", "classify", "seq2seq", "tagging", "names", "word2vec")
# benchmarks.compile_probe.LAUNCHED_ENV and rnnjax.compilation.ENV_VAR (both modules import jax)
LAUNCHED_ENV = "COMPILE_PROBE_LAUNCHED"
CACHE_ENV = "RNNJAX_COMPILATION_CACHE"

_EXPERIMENTS = flags.DEFINE_list("experiments", list(EXPERIMENTS), "Experiments to launch.")
_ROUNDS = flags.DEFINE_integer("rounds", 1, "Repetitions of the whole series (medians).")
_STEPS = flags.DEFINE_integer("steps", 2, "Training steps before the first validation.")
_EXTRA_ARGS = flags.DEFINE_list(
    "extra_args", [], "Flags added to every launch before the step cap, e.g. "
    "--config=experiments/lm/configs.py:quick for a quick check (the record is then not the "
    "defaults').")
_WITH_TORCH = flags.DEFINE_bool("with_torch", True, "Time torch's first LM step too.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/compile_cpu.json", "Where to write JSON "
                           "(the markdown goes beside it).")
_CHILD = flags.DEFINE_string("child", None, "Internal: 'torch_lm:JSON sizes' (torch's first "
                             "step, printed as JSON).")


def launch_args(name: str, steps: int, extra: list[str]) -> list[str]:
    """The command-line arguments of ``name``'s default config (changed by ``extra``), capped at
    ``steps`` steps."""
    args = [*extra, f"--config.steps_per_epoch={steps}"]
    if name == "word2vec":
        from rnnjax.data.prepare import prepared_dir

        text = prepared_dir("benchmarks.compile_cpu", "enwiki_text") / "train.txt"
        args.append(f"--config.data.path={text}")
    return args


def probe(name: str, cache: Path, steps: int, extra: list[str]) -> dict | None:
    """One launch of ``name`` under ``benchmarks.compile_probe`` with ``cache``; its record."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.json"
        cmd = [sys.executable, "-m", "benchmarks.compile_probe", str(out),
               "--stop_after_evaluation", f"experiments.{name}", f"--workdir={tmp}/run",
               *launch_args(name, steps, extra)]
        env = {**os.environ, CACHE_ENV: str(cache), LAUNCHED_ENV: repr(time.time())}
        load = os.getloadavg()[0]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        record = json.loads(out.read_text()) if out.is_file() else None
    if done.returncode or not record or "first_step_s" not in record:
        print(f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    record["wall_s"] = round(time.time() - float(env[LAUNCHED_ENV]), 3)
    record["load_average_1min"] = load
    return record


def lm_sizes() -> dict:
    """The default LM's model, batch and optimiser sizes (experiments/lm's default config)."""
    from experiments.lm.configs import get_config

    config = get_config()
    model, data, optim = config.model, config.data, config.optim
    return {"embed": model.embed_size, "hidden": model.hidden_size, "layers": model.num_layers,
            "batch": data.batch_size, "bptt": data.bptt, "lr": optim.learning_rate,
            "clip": optim.clip_norm, "cell": model.cell, "optim": optim.name}


def torch_first_step(sizes: dict) -> dict:
    """torch: launch to the first finished training step of the default char LM (Adam, global
    norm clipping) on the first batch of the Shakespeare text rnnjax embeds."""
    import gzip
    import importlib.util

    import torch

    if sizes["cell"] != "lstm" or sizes["optim"] != "adam":
        raise app.UsageError(f"the torch peer is a char LSTM with Adam, got {sizes}")
    launched = float(os.environ[LAUNCHED_ENV])
    package = Path(importlib.util.find_spec("rnnjax").origin).parent
    text = gzip.decompress((package / "data" / "shakespeare.txt.gz").read_bytes()).decode()
    chars = sorted(set(text))
    batch, bptt = sizes["batch"], sizes["bptt"]
    ids = torch.tensor([chars.index(c) for c in text[:batch * (bptt + 1)]]).view(batch, -1)
    embed = torch.nn.Embedding(len(chars), sizes["embed"])
    lstm = torch.nn.LSTM(sizes["embed"], sizes["hidden"], sizes["layers"], batch_first=True)
    out = torch.nn.Linear(sizes["hidden"], len(chars))
    params = [*embed.parameters(), *lstm.parameters(), *out.parameters()]
    optimizer = torch.optim.Adam(params, sizes["lr"])
    start, start_cpu = time.time(), time.process_time()
    logits = out(lstm(embed(ids[:, :-1]))[0])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(chars)),
                                             ids[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, sizes["clip"])
    optimizer.step()
    float(loss)
    end = time.time()
    return {"setup_s": round(start - launched, 3), "first_step_s": round(end - launched, 3),
            "call_s": round(end - start, 3), "setup_cpu_s": round(start_cpu, 3),
            "first_step_cpu_s": round(time.process_time(), 3),
            "threads": torch.get_num_threads()}


def torch_probe(sizes: dict) -> dict | None:
    cmd = [sys.executable, "-m", "benchmarks.compile_cpu",
           f"--child=torch_lm:{json.dumps(sizes)}"]
    env = {**os.environ, LAUNCHED_ENV: repr(time.time())}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        print(f"torch failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict], *path: str) -> float | None:
    """The median over ``runs`` of the value at ``path`` (None where no run has it)."""
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            values.append(value)
    return statistics.median(values) if values else None


def wall_and_cpu(runs: list[dict], point: str) -> str:
    """'wall (CPU)' seconds from the launch to ``point`` (medians); the process's CPU seconds
    are what a loaded machine does not inflate."""
    return (f"{median_of(runs, f'{point}_s'):.1f} "
            f"({median_of(runs, f'{point}_cpu_s'):.1f})")


def compile_seconds(runs: list[dict], part: str) -> str:
    """'trace + lower + XLA = total' seconds of ``part`` (medians)."""
    stages = [median_of(runs, part, f"{stage}_s") for stage in ("trace", "lower", "compile")]
    if None in stages:
        return "-"
    return " + ".join(f"{s:.1f}" for s in stages) + f" = {sum(stages):.1f}"


def table(results: dict[str, dict[str, list[dict]]], torch_runs: list[dict]) -> str:
    """Markdown: per experiment and cache, the medians over rounds."""
    lines = ["| experiment | cache | launch to first step: wall (CPU) s | of which set-up: wall "
             "(CPU) s | train step: trace + lower + XLA (s) | first validation: trace + lower + "
             "XLA (s) | XLA compilations / loads from the cache |", "|---|---|---|---|---|---|---|"]
    for name, by_cache in results.items():
        for cache, runs in by_cache.items():
            if not runs:
                continue
            compiled = median_of(runs, "total", "compiled")
            loaded = median_of(runs, "total", "loaded_from_cache")
            lines.append(
                f"| {name} | {cache} | {wall_and_cpu(runs, 'first_step')} | "
                f"{wall_and_cpu(runs, 'setup')} | {compile_seconds(runs, 'train_step')} | "
                f"{compile_seconds(runs, 'evaluation')} | {compiled:.0f} / {loaded:.0f} |")
    if torch_runs:
        lines.append(f"| lm, torch {torch_runs[0]['threads']} threads | - | "
                     f"{wall_and_cpu(torch_runs, 'first_step')} | "
                     f"{wall_and_cpu(torch_runs, 'setup')} | - | - | - |")
    return "\n".join(lines)


def main(argv):
    del argv
    if _CHILD.value:
        kind, _, sizes = _CHILD.value.partition(":")
        if kind != "torch_lm":
            raise app.UsageError(f"--child: 'torch_lm:SIZES' expected, got {_CHILD.value!r}")
        print(json.dumps(torch_first_step(json.loads(sizes))))
        return
    for name in _EXPERIMENTS.value:
        if name not in EXPERIMENTS:
            raise app.UsageError(f"--experiments: {name!r} is not one of {list(EXPERIMENTS)}")
    if _ROUNDS.value < 1 or _STEPS.value < 1:
        raise app.UsageError(f"--rounds and --steps must be >= 1, got {_ROUNDS.value}, "
                             f"{_STEPS.value}")
    load_before = os.getloadavg()[0]
    results = {name: {"cold": [], "warm": []} for name in _EXPERIMENTS.value}
    torch_runs: list[dict] = []
    sizes = lm_sizes()
    for round_ in range(_ROUNDS.value):
        for index, name in enumerate(_EXPERIMENTS.value):
            with tempfile.TemporaryDirectory() as cache:
                for kind in ("cold", "warm"):
                    record = probe(name, Path(cache), _STEPS.value, _EXTRA_ARGS.value)
                    if record:
                        results[name][kind].append(record)
                        print(f"{name} {kind}: first step after {record['first_step_s']:.1f} s, "
                              f"{record['total']['compiled']} compiled", file=sys.stderr)
            if name == "lm" and _WITH_TORCH.value:
                run = torch_probe(sizes)
                if run:
                    torch_runs.append(run)
            done = round_ + 1 == _ROUNDS.value and index + 1 == len(_EXPERIMENTS.value)
            write(results, torch_runs, sizes, load_before, done)


def write(results: dict[str, dict[str, list[dict]]], torch_runs: list[dict], sizes: dict,
          load_before: float, done: bool) -> None:
    """The JSON record and its markdown, rewritten after every experiment (``done``: the last),
    so that a run stopped early on a busy machine keeps what it measured."""
    from benchmarks import common

    text = table(results, torch_runs)
    print(text)
    common.write_record(_OUT.value, {"complete": done, "results": results,
                                     "torch_lm": torch_runs, "torch_lm_sizes": sizes,
                                     "table": text, "steps": _STEPS.value,
                                     "extra_args": _EXTRA_ARGS.value}, load_before)
    record = json.loads(Path(_OUT.value).read_text())
    loads = [run["load_average_1min"] for by_cache in results.values()
             for runs in by_cache.values() for run in runs]
    missing = [name for name, by_cache in results.items() if not by_cache["warm"]]
    changed = [name for name, by_cache in results.items()
               if len({run["source_digest"] for runs in by_cache.values() for run in runs}) > 1]
    Path(_OUT.value).with_suffix(".md").write_text(
        f"# benchmarks.compile_cpu\n\n`{record['command']}`\n\nMachine: {record['machine']}; "
        f"1-minute load average before / after: {record['load_average_1min']}, at the "
        f"launches {min(loads, default=0):.1f} to {max(loads, default=0):.1f}. The machine was "
        "shared with other jobs (2 cores, loaded as these averages say): every time here is "
        "inflated by that load; the cold and warm rows of an experiment, measured minutes "
        "apart, compare under a similar load.\n\n"
        + (f"Not measured (the run ended before): {', '.join(missing)}.\n\n" if missing else "")
        + (f"The code changed between the launches of {', '.join(changed)} (their source "
           "digests differ): those warm rows compiled the changed programs again and do not "
           "measure the cache; measure them again.\n\n" if changed else "")
        + f"Medians over {_ROUNDS.value} round(s). Each launch: the experiment's default "
        f"config with --config.steps_per_epoch={_STEPS.value}, stopped after its first "
        "validation; cold: an empty persistent compilation cache, warm: a second launch with "
        "the cache the first filled. Wall (CPU): seconds since the launch, and the CPU "
        "seconds the launched process had used by then (all its threads): on a loaded machine "
        "the wall time grows, the CPU time hardly. The train step and first-validation "
        "columns are the compilation inside those calls; the last column counts every XLA "
        "compilation of the launch. torch: launch to its first step of the default LM's model "
        "on one batch of the same text (no jax imported).\n\n"
        f"{text}\n")


if __name__ == "__main__":
    app.run(main)
