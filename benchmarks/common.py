"""What the CPU benchmarks share: timing in fresh processes, interleaved rounds, the machine record
and tables of ratios to a peer measured in the same run.

Each measurement runs in its own process (``python -m <benchmark> --child=SPEC``), so torch's and
XLA's thread pools never share a process. A series of measurements is repeated ``rounds`` times
with the implementations interleaved and the median over rounds reported, so that slow drift on a
shared machine hits every implementation alike. The 1-minute load average before and after is
recorded: on a 2-core machine another busy process slows torch's OpenMP threads badly.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable

from rnnjax.train.metrics import machine_details as machine


def torch_threads(requested: int = 0) -> int:
    """``requested``, else the number of CPUs this process may run on (its affinity)."""
    return requested or len(os.sched_getaffinity(0))


def timed_calls(step: Callable[[], object], warmup: int, repeats: int
                ) -> tuple[list[float], list[float]]:
    """Wall and CPU times in ms of ``repeats`` calls of ``step`` after one compiling call and
    ``warmup`` more. The CPU time counts every thread of this process: on a loaded machine it is
    the work done, where the wall time also counts waiting for a core."""
    step()
    for _ in range(warmup):
        step()
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - start) * 1e3)
        cpu_times.append((time.process_time() - cpu_start) * 1e3)
    return times, cpu_times


def median_ms(step: Callable[[], object], warmup: int, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``step`` in ms after one compiling call and ``warmup`` more."""
    times = timed_calls(step, warmup, repeats)[0]
    return statistics.median(times), times


def run_child(module: str, spec: str, args: Iterable[str] = (), cores: str | None = None
              ) -> dict | None:
    """Run ``python -m module --child=spec *args`` and parse the JSON on its last stdout line.

    ``cores`` (e.g. "1" or "0,1") pins the process to those CPUs with ``taskset``; XLA and torch
    (``torch_threads``) then use that many threads. On a busy machine two frameworks pinned to the
    same core compete alike with the other load, where unpinned OpenMP threads collapse.
    """
    cmd = [sys.executable, "-m", module, f"--child={spec}", *args]
    if cores:
        cmd = ["taskset", "-c", cores, *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode:
        print(f"{spec} failed:\n{result.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def interleaved(specs: list[tuple[str, str]], rounds: int,
                run: Callable[[str, str], dict | None], value: str,
                also: Iterable[str] = ()) -> list[dict]:
    """Run every (group, impl) of ``specs`` once per round, in order; return one row per spec
    with the median over rounds of ``run(group, impl)[value]`` and every round's value, and the
    same for each key of ``also`` that the runs report."""
    per_spec: dict[tuple[str, str], list[dict]] = {}
    for _ in range(rounds):
        for group, impl in specs:
            result = run(group, impl)
            if result:
                per_spec.setdefault((group, impl), []).append(result)
                print(f"{group} {impl}: {value} {result[value]:.4g}", file=sys.stderr)
    return [{"group": group, "impl": impl,
             **{key: statistics.median(r[key] for r in results)
                for key in (value, *also) if all(key in r for r in results)},
             **{f"round_{key}": [r[key] for r in results]
                for key in (value, *also) if all(key in r for r in results)}}
            for (group, impl), results in per_spec.items()]


def ratio_table(rows: list[dict], impls: Iterable[str], value: str, *, reference: str = "torch",
                digits: int = 0) -> str:
    """Markdown: one line per group, ``value`` per impl and its ratio to ``reference``'s."""
    impls = [i for i in impls if any(r["impl"] == i for r in rows)]
    lines = ["| | " + " | ".join(impls) + " |", "|---" * (len(impls) + 1) + "|"]
    for group in dict.fromkeys(r["group"] for r in rows):
        by_impl = {r["impl"]: r[value] for r in rows if r["group"] == group}
        ref = by_impl.get(reference)
        cells = [(f"{by_impl[i]:,.{digits}f}" + (f" ({by_impl[i] / ref:.2f}x)" if ref else ""))
                 if i in by_impl else "-" for i in impls]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_record(path: str, payload: dict, load_before: float) -> None:
    """JSON with the machine, the exact command and the load average before and after."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    record = {"machine": machine(), "command": " ".join(["python", *sys.orig_argv[1:]]),
              "load_average_1min": [load_before, os.getloadavg()[0]], **payload}
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
