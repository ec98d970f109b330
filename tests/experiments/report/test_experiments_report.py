"""The report's run discovery: a run of replicates is one run, also while it is in progress."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.report.tables import find_results, mean_std, minutes


def write(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


def test_replicates_are_hidden_behind_their_run_also_while_it_runs(tmp_path: Path):
    single = write(tmp_path / "lm" / "small" / "results.json", {"status": "complete"})
    group = write(tmp_path / "tagging" / "bilstm" / "results.json",
                  {"replicates": [{"replicate": "seed0"}]})
    write(tmp_path / "tagging" / "bilstm" / "seed0" / "results.json", {"status": "complete"})
    running = tmp_path / "tagging" / "glove"
    for name in ("config.json", "run.json"):
        write(running / name, {})
    write(running / "seed0" / "results.json", {"status": "partial"})
    assert find_results([tmp_path]) == sorted([single.resolve(), group.resolve()])


def test_mean_std_of_replicates_and_of_a_single_run():
    replicates = {"mean": {"a": 0.5}, "std": {"a": 0.01}, "replicates_done": 2,
                  "replicates_total": 3, "replicates": []}
    assert mean_std(replicates, "a", scale=100) == "50.0 ± 1.0 (2/3)"
    assert mean_std({**replicates, "replicates_done": 1}, "a", scale=100) == "50.0 (1/3)"
    assert mean_std({"a": 0.25}, "a", scale=100, digits=2) == "25.00"
    assert mean_std({"replicates": [], "mean": {}}, "a") == "-"


def test_minutes_shows_seconds_under_a_minute():
    assert minutes({"wall_time_s": 23.2}) == "23 s"
    assert minutes({"wall_time_s": 59.4}) == "59 s"
    assert minutes({"wall_time_s": 59.6}) == "1 min"
    assert minutes({"wall_time_s": 622.1}) == "10 min"
    assert minutes({}) == "0 s"
