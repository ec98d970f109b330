"""The classification tables: Table A (recurrent classifiers) and Table B (Kim's CNN), test
accuracy in % as mean ± std over the replicates (folds x seeds) of each run, beside the published
numbers (measured on other data, and labelled so); every run with its time; a bar plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.classify.configs import KIM_ROWS, RNN_ROWS
from experiments.report import plots
from experiments.report.tables import Column, GridTable, Reference, RunTable, load_run, minutes
from rnnjax.train.run import RESULTS_FILE

Run = dict[str, Any]
DATASETS = ("mr_subset", "uncertainty", "bbc_news")
ROW_LABELS = {
    "lstm": "LSTM", "bilstm": "BiLSTM", "lstm_2layer": "2-layer LSTM",
    "bilstm_2layer": "2-layer BiLSTM", "gru": "GRU", "bigru": "BiGRU", "elman": "Elman RNN",
    "bilstm_max": "BiLSTM, max pooling", "bilstm_mean": "BiLSTM, mean pooling",
    "keras_tiny": "Keras-sized Elman (16 / 8, sigmoid)",
    "kim_rand": "CNN-rand", "kim_static": "CNN-static", "kim_nonstatic": "CNN-non-static",
    "kim_multichannel": "CNN-multichannel",
    "tfidf_lr": "baseline: TF-IDF 1-2-grams + logistic regression",
    "nbsvm": "baseline: NBSVM 1-2-grams (Wang & Manning 2012)",
}
BASELINE_ROWS = ("tfidf_lr", "nbsvm")
BASELINE_LABELS = tuple(ROW_LABELS[name] for name in BASELINE_ROWS)
TABLE_A_ROWS = (*RNN_ROWS, "keras_tiny", *BASELINE_ROWS)
GLOVE, WORD2VEC = "GloVe 50d", "word2vec SGNS"
# results/classify/defaults_sweep/<data>/<change>: the BiLSTM with one change (README "Defaults"),
# reported in their own table, not as rows of the tables by dataset
SWEEP_DIR = "defaults_sweep"


def in_sweep(run: Run) -> bool:
    return SWEEP_DIR in Path(run.get("workdir", "")).parts


def classify_run(run: Run) -> bool:
    """A run of the tables by dataset: a classify run outside the defaults sweep."""
    return run.get("experiment") == "classify" and not in_sweep(run)


def accuracy(run: Run) -> str:
    """'78.4 ± 1.6 (10×1)': mean ± std of the test accuracy in %, (folds × seeds) done."""
    done = [r for r in run.get("replicates", ()) if r.get("status") == "complete"]
    if not done or "test_accuracy" not in run.get("mean", {}):
        return "running" if run.get("replicates") else "-"
    folds, seeds = len({r.get("data.fold") for r in done}), len({r.get("seed") for r in done})
    text = (f"{100 * run['mean']['test_accuracy']:.1f} ± {100 * run['std']['test_accuracy']:.1f}"
            f" ({folds}×{seeds})")
    total = run.get("replicates_total")
    return text if len(done) == total else f"{text}, {len(done)}/{total} done"


def vectors_label(run: Run) -> str:
    """The vectors' column group; runs without vectors (CNN-rand, the baselines) go with GloVe."""
    vectors = run.get("vectors")
    no_vectors = vectors is None or run.get("name") in BASELINE_ROWS
    return GLOVE if no_vectors or vectors == "glove_6b_50d" else WORD2VEC


BASELINE_NOTE = (
    "The baseline rows are linear models on the same folds, valid splits and tokens "
    "(`python -m experiments.classify.baseline --baseline=tfidf_lr|nbsvm "
    "--config.data.name=DATASET --workdir=results/classify/DATASET/BASELINE`; C chosen on each "
    "fold's valid split; deterministic, so one seed per fold).")
TAI = "Tai, Socher & Manning 2015, Table 2 (mean of 5 runs)"
TAI_DATA = "SST-2 / SST-5 sentence test sets, not the MR subset"
TABLE_A = GridTable(
    title="Table A: recurrent sentence classifiers, test accuracy % (folds × seeds)",
    select=lambda r: classify_run(r) and r.get("name") in TABLE_A_ROWS,
    row=lambda r: ROW_LABELS[r["name"]], column=lambda r: r.get("dataset", "?"), cell=accuracy,
    rows=tuple(ROW_LABELS[name] for name in TABLE_A_ROWS), columns=DATASETS,
    references=(
        Reference("LSTM", {"mr_subset": "84.9 (SST-2), 46.4 (SST-5)"}, TAI, TAI_DATA),
        Reference("BiLSTM", {"mr_subset": "87.5 (SST-2), 49.1 (SST-5)"}, TAI, TAI_DATA),
        Reference("2-layer LSTM", {"mr_subset": "86.3 (SST-2), 46.0 (SST-5)"}, TAI, TAI_DATA),
        Reference("2-layer BiLSTM", {"mr_subset": "87.2 (SST-2), 48.5 (SST-5)"}, TAI,
                  TAI_DATA),
        Reference("BiLSTM (Flax examples/sst2)", {"mr_subset": "85.21 (SST-2)"},
                  "Flax examples/sst2 README", "GLUE SST-2 validation set, not the MR subset"),
    ),
    missing=lambda row, column: ("n/a (5 classes)" if row == ROW_LABELS["keras_tiny"]
                                 and column == "bbc_news" else "not run"),
    note="Rows: the `bilstm` config (GloVe 6B 50d vectors, tuned; 100 units per direction; "
         "dropout 0.5; patience 3; Adam 2e-3 and at most 10 epochs, the defaults when these rows "
         "ran, now 4e-3 and 30: their records keep their config) with one change (configs.py); "
         "the Keras-sized row has random 16-d embeddings and one sigmoid output, so it "
         "classifies only 2-class data (not BBC's 5). Each cell is one run of "
         "`python -m experiments.classify` over the dataset's 10 stratified folds × the seeds "
         "done. The published rows were measured on other data (SST); the MR subset is 4,000 "
         "of the 10,662 MR sentences that SST was built from. " + BASELINE_NOTE)

KIM = "Kim 2014, Table 2"
KIM_DATA = "full MR (10,662 sentences), 10-fold CV, word2vec GoogleNews 300d: other data"
TABLE_B = GridTable(
    title="Table B: Kim's CNN, test accuracy % (folds × seeds)",
    select=lambda r: classify_run(r) and r.get("name") in (*KIM_ROWS, *BASELINE_ROWS),
    row=lambda r: ROW_LABELS[r["name"]],
    column=lambda r: f"{r.get('dataset', '?')}, {vectors_label(r)}", cell=accuracy,
    rows=tuple(ROW_LABELS[name] for name in (*KIM_ROWS, *BASELINE_ROWS)),
    columns=tuple(f"{d}, {v}" for v in (GLOVE, WORD2VEC) for d in DATASETS),
    references=(
        *(Reference(ROW_LABELS[name], {f"mr_subset, {GLOVE}": value}, KIM, KIM_DATA)
          for name, value in zip(KIM_ROWS, ("76.1", "81.0", "81.5", "81.1"), strict=True)),
        Reference("NBSVM (Wang & Manning 2012, in Kim's Table 2)",
                  {f"mr_subset, {GLOVE}": "79.4 (MR), 93.2 (Subj), 81.8 (CR), 86.3 (MPQA)"},
                  KIM, "full MR, Subj, CR and MPQA, 10-fold CV: other data")),
    missing=lambda row, column: (
        "n/a" if WORD2VEC in column and row in (ROW_LABELS["kim_rand"], *BASELINE_LABELS)
        else "not run"),
    note="CNN-rand uses no vectors (300-d random embeddings, as Kim); it and the baselines (no "
         f"vectors) are listed under the {GLOVE} columns (n/a under {WORD2VEC}). The "
         f"{WORD2VEC} columns use vectors trained in-project by the "
         "word2vec experiment: `--config.model.vectors=results/word2vec/enwiki/vectors.txt`, "
         "the vectors.txt that `python -m experiments.word2vec --config=experiments/word2vec/"
         "configs.py:enwiki --workdir=results/word2vec/enwiki` writes (8,932 words x 100, "
         "from the 6 MB Wikipedia sample of the gensim wheel). " + BASELINE_NOTE)



def best_model(run: Run) -> Run | None:
    """The RNN/CNN run of the best mean test accuracy among the runs beside ``run`` (the
    dataset's directory under results/classify/), complete or not."""
    found = [load_run(path) for path in Path(run["workdir"]).parent.glob(f"*/{RESULTS_FILE}")]
    models = [r for r in found if r.get("experiment") == "classify" and r.get("name") in
              ROW_LABELS and r.get("name") not in BASELINE_ROWS
              and "test_accuracy" in r.get("mean", {})]
    return max(models, key=lambda r: r["mean"]["test_accuracy"], default=None)


def _best_label(run: Run) -> str:
    best = best_model(run)
    if best is None:
        return "-"
    suffix = "" if vectors_label(best) == GLOVE else f" ({WORD2VEC})"
    return f"{ROW_LABELS[best['name']]}{suffix}: {accuracy(best)}"


def _margin(run: Run) -> str:
    """Best model's mean test accuracy minus the baseline's, in points."""
    best = best_model(run)
    if best is None or "test_accuracy" not in run.get("mean", {}):
        return "-"
    return f"{100 * (best['mean']['test_accuracy'] - run['mean']['test_accuracy']):+.1f}"


BASELINES_VS_BEST = RunTable(
    title="Baselines against the best RNN/CNN row of the same dataset, test accuracy %",
    select=lambda r: classify_run(r) and r.get("name") in BASELINE_ROWS,
    columns=(
        Column("data", lambda r: r.get("dataset", "")),
        Column("baseline", lambda r: ROW_LABELS[r["name"]]),
        Column("baseline accuracy", accuracy),
        Column("best RNN/CNN row (any vectors)", _best_label),
        Column("best row - baseline (points)", _margin),
    ),
    sort=lambda r: (r.get("dataset", ""), r.get("name", "")),
    note="The best row is the one of the highest mean over its replicates among the committed "
         "runs of the dataset (folds x seeds as its cell says; the baselines are 10 folds x 1 "
         "deterministic fit each). Fold-to-fold spreads are 2 to 4 points on the sentence "
         "datasets.")

def best_epoch(run: Run) -> str:
    return f"{run['mean']['best_epoch']:.1f}" if "best_epoch" in run.get("mean", {}) else "-"


def baseline_accuracy(run: Run) -> str:
    """The mean test accuracy % of the TF-IDF+LR baseline fitted beside the run, or '-'."""
    value = run.get("mean", {}).get("test_tfidf_lr_accuracy")
    return "-" if value is None else f"{100 * value:.1f}"


SWEEP = RunTable(
    title="Defaults sweep: the BiLSTM with one change, test accuracy % (README \"Defaults\")",
    select=lambda r: r.get("experiment") == "classify" and in_sweep(r),
    columns=(
        Column("data", lambda r: r.get("dataset", "")),
        Column("change", lambda r: Path(r["workdir"]).name),
        Column("epochs at most", lambda r: r.get("config", {}).get("num_epochs", "")),
        Column("test accuracy %", accuracy),
        Column("TF-IDF+LR, same folds %", baseline_accuracy),
        Column("best epoch (mean)", best_epoch),
        Column("CPU wall time", minutes),
    ),
    sort=lambda r: (r.get("dataset", ""), Path(r["workdir"]).name),
    note="Each run: `--config.seeds=1 --config.data.folds_to_run=5` and the change named by "
         "its folder under results/classify/defaults_sweep/<data>/ (`bilstm_epochs10`: the "
         "earlier default, at most 10 epochs; the others at most 30).")

RUNS = RunTable(
    title="Every run",
    select=classify_run,
    columns=(
        Column("run", lambda r: r.get("name", "")),
        Column("data", lambda r: r.get("dataset", "")),
        Column("vectors", lambda r: r.get("vectors") or "random"),
        Column("max_len", lambda r: r.get("max_len", "")),
        Column("replicates", lambda r: f"{r.get('replicates_done')}/{r.get('replicates_total')}"),
        Column("test accuracy %", accuracy),
        Column("best epoch (mean)", best_epoch),
        Column("CPU wall time", minutes),
        Column("status", lambda r: r.get("status", "")),
    ),
    sort=lambda r: (r.get("dataset", ""), r.get("name", "")))
TABLES = (TABLE_A, TABLE_B, BASELINES_VS_BEST, SWEEP, RUNS)


def plot_accuracy(runs: Sequence[Run], out_dir: Path) -> Path:
    """Grouped bars: test accuracy (mean, std as error bar) of every row on every dataset."""
    rows = [name for name in (*TABLE_A_ROWS, *KIM_ROWS)
            if any(r.get("name") == name and r.get("mean") for r in runs)]
    fig, ax = plots.pyplot().subplots(figsize=(max(6.0, 1.1 * len(rows)), 4))
    width = 0.8 / len(DATASETS)
    for k, dataset in enumerate(DATASETS):
        found = {r["name"]: r for r in runs if r.get("dataset") == dataset and r.get("mean")
                 and vectors_label(r) == GLOVE and not in_sweep(r)}
        xs = [i + k * width for i, name in enumerate(rows) if name in found]
        means = [100 * found[n]["mean"]["test_accuracy"] for n in rows if n in found]
        stds = [100 * found[n]["std"]["test_accuracy"] for n in rows if n in found]
        if xs:
            ax.bar(xs, means, width, yerr=stds, capsize=2, label=dataset)
    ax.set_xticks([i + width * (len(DATASETS) - 1) / 2 for i in range(len(rows))])
    ax.set_xticklabels([ROW_LABELS[n] for n in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy % (mean ± std over folds × seeds)")
    ax.set_ylim(40, 100)
    if rows:
        ax.legend(fontsize=8)
    return plots.save(fig, out_dir / "accuracy.png")


PLOTS = (plot_accuracy,)
