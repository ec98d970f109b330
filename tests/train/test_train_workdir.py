"""The workdir helpers: config diffs and the resume policy, atomic writes, the lock."""

from __future__ import annotations

import pytest

from rnnjax.train.workdir import (
    WorkdirLock,
    check_resume,
    config_changes,
    flatten,
    write_atomic,
)
from rnnjax.validation import one_line


def test_flatten_and_changes_name_every_differing_field():
    stored = {"seed": 0, "optim": {"name": "sgd", "learning_rate": 1.0}, "gone": 1}
    new = {"seed": 0, "optim": {"name": "adam", "learning_rate": 1.0}, "added": 2}
    assert flatten(stored) == {"seed": 0, "optim.name": "sgd", "optim.learning_rate": 1.0,
                               "gone": 1}
    changes = config_changes(stored, new)
    assert list(changes) == ["added", "gone", "optim.name"]
    assert changes["optim.name"] == ("sgd", "adam")


def test_resume_policy_accepts_safe_and_allowed_fields_only(tmp_path):
    changes = {"num_epochs": (1, 2), "sample.length": (5, 9), "optim.learning_rate": (1.0, 0.1)}
    check_resume("w", tmp_path, changes, safe=("num_epochs", "sample.*"),
                 allowed=("optim.learning_rate",))
    with pytest.raises(ValueError, match=r"w: config must be .* got changes to "
                       r"optim.learning_rate: 1.0 -> 0.1\. Use a new --workdir, or accept them "
                       r"with --allow_changes=optim.learning_rate$"):
        check_resume("w", tmp_path, changes, safe=("num_epochs", "sample.*"), allowed=())
    with pytest.raises(ValueError, match=r"added: \(absent\) -> 2"):
        check_resume("w", tmp_path, config_changes({}, {"added": 2}), safe=(), allowed=())


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    write_atomic(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_the_lock_is_exclusive_and_released(tmp_path):
    with WorkdirLock("w", tmp_path), pytest.raises(
            RuntimeError, match=r"w: workdir must be free of other runs"):
        WorkdirLock("w", tmp_path)
    WorkdirLock("w", tmp_path).release()


def test_a_created_workdir_without_a_config_is_removed_on_release(tmp_path):
    (tmp_path / "new").mkdir()
    WorkdirLock("w", tmp_path / "new", created=True).release()
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "config.json").write_text("{}")
    WorkdirLock("w", tmp_path / "kept", created=True).release()
    assert (tmp_path / "kept" / "config.json").exists()


@pytest.mark.parametrize(("err", "line"), [
    (ValueError("f: x must be 1, got 2"), "f: x must be 1, got 2"),
    (KeyError("missing"), "missing"),
    (ValueError("Traceback (most recent call last):\n  File x\nValueError: f: bad, got ''"),
     "f: bad, got ''"),
    (RuntimeError(""), "RuntimeError"),
])
def test_one_line_is_the_message_without_the_traceback(err, line):
    assert one_line(err) == line
