"""Translation configs: ``get_config(variant)``, big_vision style.

    python -m experiments.seq2seq --config=experiments/seq2seq/configs.py:VARIANT --workdir=DIR

Variants: ``default`` (an attention model for your own pairs or trans_de_en), ``baseline`` and
one per row of the depth grid (``GRID``: enc1 ... dec8_resd, lstm, vanilla_decoder,
no_attention, additive) sized for a 2-core CPU, ``britz`` (the paper's sizes, for a GPU) and
``quick`` (tests). Any field can be overridden, e.g. ``--config.model.decoder_layers=4``.
Measured numbers and commands are in experiments/seq2seq/README.md.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.validation import check_choice


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant; an epoch is a pass over the training pairs, patience
    counts on the valid BLEU."""
    c = run_config("default", seeds=None, num_epochs=8, patience=0, log_every_steps=50,
                   checkpoint_every_steps=1000, divergence_factor=3.0)
    c.label_smoothing = 0.0  # on the optimised loss only (Szegedy et al. 2016); 0 = off

    c.data = ml_collections.ConfigDict()
    c.data.corpus = "trans_de_en"  # prepared pairs (python -m rnnjax.data prepare --corpus=...)
    c.data.path = config_dict.placeholder(str)  # a source<TAB>target file instead of the corpus
    c.data.direction = "de-en"  # of trans_de_en: "de-en" or "en-de" (a file: column 1 -> 2)
    c.data.data_dir = config_dict.placeholder(str)  # prepared data (default ~/.cache/rnnjax)
    c.data.tokenizer = "bpe"  # "bpe" (SentencePiece, per side) or "word" (whitespace words)
    c.data.source_vocab_size = 4000  # BPE pieces / most frequent words of the source side
    c.data.target_vocab_size = 4000  # the same for the target side
    c.data.max_length = 64  # tokens per side of a training pair (EOS included)
    c.data.too_long = "drop"  # a longer training pair: "drop" it or stop with an "error"
    c.data.pad_to = 8  # pad batches to a multiple of this many steps (fewer compilations)
    c.data.batch_size = 64  # pairs per training batch (bucketed by source length)
    c.data.eval_batch_size = 128  # pairs per evaluation / decoding batch

    c.model = ml_collections.ConfigDict()
    c.model.kind = "seq2seq"  # rnnjax.models.Seq2Seq
    c.model.cell = "gru"  # encoder and decoder cell (rnnjax.cells.CELLS)
    c.model.decoder_cell = config_dict.placeholder(str)  # a different decoder cell (None: cell)
    c.model.embed_size = 256  # source and target embedding width
    c.model.hidden_size = 256  # units per layer (per direction in a bidirectional layer)
    c.model.encoder_layers = 2  # encoder depth
    c.model.decoder_layers = 2  # decoder depth
    c.model.bidirectional = "all"  # bidirectional encoder layers: "all", "first" or "none"
    c.model.encoder_skip = "none"  # "none", "residual" or "dense" (ResD) between encoder layers
    c.model.decoder_skip = "none"  # the same between decoder layers
    c.model.attention = "general"  # "none", "additive" (Bahdanau), "dot" or "general" (Luong)
    c.model.attention_size = config_dict.placeholder(int)  # additive: v's width (None: hidden)
    c.model.input_feeding = False  # feed h~_{t-1} into step t (Luong); a per-step decoder loop
    c.model.bridge = "dense"  # decoder initial state: "dense" (from the encoder's) or "zero"
    c.model.dropout = 0.2  # on embeddings, between layers and before the softmax
    c.model.impl = "auto"  # recurrence implementation (rnnjax.layers.IMPLS; auto: per cell)

    c.optim = optim_config(learning_rate=2e-3, momentum=0.0, lr_decay=0.7, lr_decay_after=5,
                           clip_norm=5.0)

    c.decode = ml_collections.ConfigDict()
    c.decode.beam_size = 5  # beam width of the test translation (greedy is always reported)
    c.decode.alpha = 0.6  # GNMT length penalty ((5 + |Y|) / 6) ** alpha; 0 = none
    c.decode.max_length = 100  # tokens a translation may have (the guard against no EOS)
    c.decode.samples = 5  # valid sentences translated into samples/ after every epoch
    c.decode.heatmaps = 4  # attention heat maps of the first test sentences (samples/)
    return c


def default() -> ml_collections.ConfigDict:
    """A useful attention model on a 2-core CPU: 2+2 GRU layers of 256, bidirectional encoder,
    its training budgeted to the data (``train_tokens``) and selected on a valid subset.

    python -m experiments.seq2seq --workdir=DIR --config.data.path=pairs.tsv
    Measured: see experiments/seq2seq/README.md.
    """
    c = base()
    c.train_tokens = 1_500_000  # at most this many target tokens: epochs shrink to fit (0: none)
    c.valid_pairs = 500  # valid pairs (a fixed random subset) translated after each epoch (0: all)
    return c


def baseline() -> ml_collections.ConfigDict:
    """The depth study's baseline on trans_de_en en-de, sized for a 2-core CPU.

    Britz et al. 2017's baseline shape (GRU, 2-layer bidirectional encoder, 2-layer decoder,
    multiplicative attention) at 128 units. python -m experiments.seq2seq.grid runs every row.
    """
    c = base()
    c.name = "baseline"
    c.num_epochs = 10
    c.data.direction = "en-de"
    c.data.source_vocab_size = c.data.target_vocab_size = 2000  # the softmax dominates a step
    c.data.max_length = 48
    c.data.pad_to = 16  # sentences of ~15 pieces: 2-3 shapes per side
    c.model.embed_size = c.model.hidden_size = 128
    c.model.dropout = 0.2
    c.optim.lr_decay_after = 6
    c.decode.heatmaps = 2
    return c


SEEDS = 3  # replicates (seeds 0 .. SEEDS-1) per row of the depth grid
# Row of the depth grid -> changes to ``baseline`` (Britz et al. 2017, tables 4 and 5).
GRID: dict[str, dict[str, object]] = {
    "enc1": {"model.encoder_layers": 1},
    "baseline": {},  # Enc-2 and Dec-2
    "enc4": {"model.encoder_layers": 4},
    "enc8": {"model.encoder_layers": 8},
    "dec1": {"model.decoder_layers": 1},
    "dec2_res": {"model.decoder_skip": "residual"},
    "dec2_resd": {"model.decoder_skip": "dense"},
    "dec4": {"model.decoder_layers": 4},
    "dec4_res": {"model.decoder_layers": 4, "model.decoder_skip": "residual"},
    "dec4_resd": {"model.decoder_layers": 4, "model.decoder_skip": "dense"},
    "dec8": {"model.decoder_layers": 8},
    "dec8_res": {"model.decoder_layers": 8, "model.decoder_skip": "residual"},
    "dec8_resd": {"model.decoder_layers": 8, "model.decoder_skip": "dense"},
    "lstm": {"model.cell": "lstm"},
    "vanilla_decoder": {"model.decoder_cell": "elman_tanh"},
    "no_attention": {"model.attention": "none"},
    "additive": {"model.attention": "additive"},
}


def britz() -> ml_collections.ConfigDict:
    """Britz et al. 2017's baseline sizes, for a GPU: GRU 512, 2-layer bidirectional encoder,
    2-layer decoder, multiplicative attention, dropout 0.2, Adam 1e-4, batch 128, 32k BPE
    (here per side; they shared one). Not run here.

    python -m experiments.seq2seq --config=experiments/seq2seq/configs.py:britz --workdir=DIR
    """
    c = base()
    c.name = "britz"
    c.num_epochs = 20
    c.data.direction = "en-de"
    c.data.source_vocab_size = c.data.target_vocab_size = 32000
    c.data.max_length = 50
    c.data.batch_size = 128
    c.model.embed_size = c.model.hidden_size = 512
    c.model.dropout = 0.2
    c.model.impl = "auto"
    c.optim.learning_rate = 1e-4
    c.optim.lr_decay = 1.0
    c.optim.lr_decay_after = 0
    c.decode.beam_size = 10
    c.decode.alpha = 1.0
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): a tiny model, 2 epochs of 3 steps; seconds on a CPU.

    python -m experiments.seq2seq --config=experiments/seq2seq/configs.py:quick \
        --workdir=/tmp/s2s_quick --config.data.path=pairs.tsv
    """
    c = smoke_test(base(), num_epochs=2)
    c.data.tokenizer = "word"
    c.data.source_vocab_size = c.data.target_vocab_size = 200
    c.data.batch_size = 8
    c.data.eval_batch_size = 16
    c.model.embed_size = c.model.hidden_size = 16
    c.model.dropout = 0.1
    c.decode.beam_size = 2
    c.decode.max_length = 12
    c.decode.samples = 2
    c.decode.heatmaps = 1
    return c


VARIANTS = ("default", "britz", "quick", *GRID)


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``default``); a ``GRID`` row is baseline + its changes."""
    variant = check_choice("get_config", "variant", variant or "default", VARIANTS)
    if variant not in GRID:
        return globals()[variant]()
    c = baseline()
    c.update_from_flattened_dict(GRID[variant])
    c.name = variant
    return c
