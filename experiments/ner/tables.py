"""The NER table: entity-level F1 on CoNLL-2003 English testb, mean ± std over seeds, one row per
configs.py row variant, with the published numbers beside (labelled with their data)."""

from __future__ import annotations

from typing import Any

from experiments.report import columns
from experiments.report.tables import Column, GridTable, Reference, RunTable

Run = dict[str, Any]

ROW_LABELS = {"bilstm_softmax": "BiLSTM-softmax", "bilstm_crf": "BiLSTM-CRF",
              "bilstm_crf_charlstm": "BiLSTM-CRF + char BiLSTM",
              "bilstm_crf_charcnn": "BiLSTM-CRF + char CNN",
              "bilstm_crf_charlstm_glove": "BiLSTM-CRF + char BiLSTM + GloVe 6B 50d",
              "default": "BiLSTM-CRF, 1 seed, 3 epochs (the default command)"}
CORPUS = "ner_conll2003"
_CONLL = ("CoNLL-2003 English testb, our split, but with 100-d pretrained vectors, tuned training "
          "schedules and the authors' own code")


TABLES = (
    GridTable(
        title="Named-entity recognition: entity-level test F1 % (mean ± std over seeds)",
        select=lambda r: r.get("experiment") == "ner" and r.get("name") in ROW_LABELS,
        row=lambda r: ROW_LABELS[r["name"]], column=lambda r: r.get("corpus", "?"),
        cell=columns.percent("test_f1", 2), rows=tuple(ROW_LABELS.values()), columns=(CORPUS,),
        references=(
            Reference("LSTM-CRF + char BiLSTM + pretrained vectors (Lample et al. 2016)",
                      {CORPUS: "90.94"}, "Lample et al. 2016", _CONLL),
            Reference("BLSTM-CNN-CRF + GloVe 100d (Ma & Hovy 2016)", {CORPUS: "91.21"},
                      "Ma & Hovy 2016", _CONLL),
        ),
        note="Exact span and type, micro-averaged over PER / LOC / ORG / MISC, scored by "
             "seqeval on IOB2 tags (conlleval's reading). Trained on train; the epoch with the "
             "best testa (valid) F1 is tested on testb. Rows are the variants of "
             "experiments/ner/configs.py, trained for the epochs in the every-run table below "
             "(a run's command overrides the variants' 20 epochs with --config.num_epochs where "
             "a shared 2-core CPU had less time), so the rows are not converged; 'not run' "
             "marks rows still to be measured."),
    RunTable(
        title="Named-entity recognition: every run (F1 / precision / recall %, test and valid)",
        select=lambda r: r.get("experiment") == "ner",
        columns=(
            Column("run", lambda r: r["name"]),
            Column("corpus", lambda r: r.get("corpus", "?")),
            columns.SEEDS,
            columns.EPOCHS,
            Column("test F1", columns.percent("test_f1", 2)),
            Column("test precision", columns.percent("test_precision", 2)),
            Column("test recall", columns.percent("test_recall", 2)),
            Column("valid F1", columns.percent("valid_f1", 2)),
            *(Column(f"test F1 {kind}", columns.percent(f"test_f1_{kind}", 2))
              for kind in ("PER", "LOC", "ORG", "MISC")),
            columns.WALL_TIME,
            columns.STATUS,
        )),
)
