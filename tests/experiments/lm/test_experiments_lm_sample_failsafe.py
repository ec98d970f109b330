"""``experiments.lm.sample`` on hostile input: refused with a message naming the flag (the
command line prints it as its one line, exit status 2: rnnjax.cli, as every program's)."""

from __future__ import annotations

import json

import pytest
from absl.testing import flagsaver

from experiments.lm.sample import check_lm_workdir
from experiments.lm.sample import main as sample


def test_a_nan_temperature_is_refused(tmp_path):
    """The sample command's main, in-process with ``--temperature=nan`` parsed: refused before
    the workdir is read (rnnjax.cli turns the error into its one line)."""
    with flagsaver.as_parsed(workdir=str(tmp_path), temperature="nan"), pytest.raises(
            ValueError, match=r"^lm\.sample: --temperature must be a finite float >= 0, got nan$"):
        sample([])


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
