"""``experiments.names.sample`` on hostile input: one line, exit status 2."""

from __future__ import annotations

import json

from rnnjax_testing import cli_error


def test_a_nan_temperature_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"task": "generate"}))
    line = cli_error("experiments.names.sample", f"--workdir={tmp_path}", "--country=Italy",
                     "--temperature=nan")
    assert line == "error: sample: --temperature must be a finite float >= 0, got nan"
