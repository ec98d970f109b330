"""Query word vectors: nearest neighbours, analogies, a 2-D projection plot.

    python -m experiments.word2vec.query --vectors=DIR --nearest=king,france
    python -m experiments.word2vec.query --vectors=DIR --analogy=man,king,woman  # man:king::woman:?
    python -m experiments.word2vec.query --vectors=glove_6b_50d \\
        --plot=capitals.png --words=france:paris,italy:rome,germany:berlin,japan:tokyo

--vectors is a word2vec run's workdir (its vectors.txt), a word2vec text/binary or GloVe text
file, or ``glove_6b_50d``. In --words, ``a:b`` draws an arrow from a to b (e.g. country ->
capital, company -> CEO); the points are the words' unit vectors on their first two principal
components (``rnnjax.embeddings.project_2d``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from absl import flags

from rnnjax import cli, embeddings
from rnnjax.data import WordVectors, load_vectors
from rnnjax.validation import check_positive_int, fail

_VECTORS = flags.DEFINE_string("vectors", None, "A word2vec workdir, a vectors file or "
                               "glove_6b_50d.", required=True)
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Where glove_6b_50d is prepared.")
_NEAREST = flags.DEFINE_list("nearest", [], "Words whose nearest neighbours to print.")
_ANALOGY = flags.DEFINE_list("analogy", [], "a,b,c: print the words x with a:b :: c:x.")
_TOPN = flags.DEFINE_integer("topn", 10, "Answers per query.")
_PLOT = flags.DEFINE_string("plot", None, "PNG file for a 2-D projection of --words.")
_WORDS = flags.DEFINE_list("words", [], "Words to plot; a:b draws an arrow from a to b.")
_WHERE = "word2vec.query"


def resolve(spec: str, data_dir: str | None = None) -> WordVectors:
    """A workdir (its vectors.txt), a vectors file, or a prepared vectors dataset."""
    path = Path(spec).expanduser()
    if path.is_dir():
        from experiments.word2vec.train import VECTORS_FILE

        path = path / VECTORS_FILE
    return load_vectors(path if path.exists() else spec, data_dir=data_dir)


def plot_projection(vectors: WordVectors, entries: Sequence[str], path: str | Path,
                    label: str = "") -> Path:
    """Scatter the words of ``entries`` ("word" or "a:b", an arrow a -> b) in 2-D."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [entry.split(":") for entry in entries]
    if any(len(p) not in (1, 2) or not all(p) for p in pairs):
        fail(_WHERE, "--words", "words or a:b pairs", entries)
    words = list(dict.fromkeys(w for pair in pairs for w in pair))
    points = dict(zip(words, embeddings.project_2d(vectors, words), strict=True))
    fig, ax = plt.subplots(figsize=(7, 6))
    for pair in pairs:
        if len(pair) == 2:
            (x0, y0), (x1, y1) = points[pair[0]], points[pair[1]]
            ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "alpha": 0.5})
    for word, (x, y) in points.items():
        ax.scatter(x, y, color="C0")
        ax.annotate(word, (x, y), textcoords="offset points", xytext=(4, 4))
    ax.set_title(f"{label}: 2-D PCA of the unit word vectors" if label else
                 "2-D PCA of the unit word vectors", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def main(argv: list[str]) -> None:
    del argv
    if not (_NEAREST.value or _ANALOGY.value or _PLOT.value):
        fail(_WHERE, "the flags", "at least one of --nearest, --analogy, --plot", "none")
    if _ANALOGY.value and len(_ANALOGY.value) != 3:
        fail(_WHERE, "--analogy", "three words a,b,c (a is to b as c is to ?)", _ANALOGY.value)
    if _PLOT.value and not _WORDS.value:
        fail(_WHERE, "--words", "the words to plot with --plot", "none")
    check_positive_int(_WHERE, "--topn", _TOPN.value)
    vectors = resolve(_VECTORS.value, _DATA_DIR.value)
    for word in _NEAREST.value:
        found = embeddings.nearest(vectors, word, _TOPN.value)
        print(f"{word}: " + ", ".join(f"{w} {s:.3f}" for w, s in found))
    if _ANALOGY.value:
        a, b, c = _ANALOGY.value
        found = embeddings.analogy(vectors, a, b, c, _TOPN.value)
        print(f"{a} : {b} :: {c} : " + ", ".join(f"{w} {s:.3f}" for w, s in found))
    if _PLOT.value:
        path = plot_projection(vectors, _WORDS.value, _PLOT.value, _VECTORS.value)
        print(f"wrote {path}")


if __name__ == "__main__":
    cli.run(main)
