"""find_results: a run of replicates is one run; the replicates below it are not listed."""

from __future__ import annotations

import json

from experiments.report.tables import find_results


def test_a_run_of_replicates_is_listed_once(tmp_path):
    (tmp_path / "grid" / "seed0-fold0").mkdir(parents=True)
    (tmp_path / "single").mkdir()
    (tmp_path / "grid" / "results.json").write_text(json.dumps({"replicates": []}))
    (tmp_path / "grid" / "seed0-fold0" / "results.json").write_text("{}")
    (tmp_path / "single" / "results.json").write_text("{}")
    assert find_results([tmp_path]) == [(tmp_path / "grid" / "results.json").resolve(),
                                        (tmp_path / "single" / "results.json").resolve()]
