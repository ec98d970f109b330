"""``experiments.lm.sample`` on hostile input: one line, exit status 2."""

from __future__ import annotations

import json

import pytest
from rnnjax_testing import cli_error

from experiments.lm.sample import check_lm_workdir


def test_a_nan_temperature_is_refused(tmp_path):
    line = cli_error("experiments.lm.sample", f"--workdir={tmp_path}", "--temperature=nan")
    assert line == "error: lm.sample: --temperature must be a finite float >= 0, got nan"


def test_a_workdir_of_another_experiment_is_not_an_lm_workdir(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"experiment": "classify"}))
    (tmp_path / "vocab.json").write_text("{}")
    with pytest.raises(ValueError, match=(
            r"lm.sample: --workdir must be the workdir of a language model trained by `python -m "
            rf"experiments.lm --workdir=...`, got '{tmp_path}', a 'classify' run$")):
        check_lm_workdir(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"experiment": "lm"}))
    assert check_lm_workdir(tmp_path) == tmp_path
    (tmp_path / "vocab.json").unlink()
    with pytest.raises(ValueError, match=rf"got '{tmp_path}', without vocab.json$"):
        check_lm_workdir(tmp_path)
