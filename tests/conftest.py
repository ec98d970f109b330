"""Suite-wide settings: nothing downloads while the tests run."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_auto_prepare(monkeypatch):
    """A dataset that is not prepared is an error (``RNNJAX_NO_AUTO_PREPARE=1``, see
    ``rnnjax.data.prepare.prepared_dir``) rather than a download; tests of preparing on first
    use delete the variable."""
    monkeypatch.setenv("RNNJAX_NO_AUTO_PREPARE", "1")
