"""Conversation labelling configs: ``get_config(variant)``, big_vision style.

    python -m experiments.dialogue --config=experiments/dialogue/configs.py:VARIANT --workdir=DIR

VARIANT: dialogue_rnn (the default), dialogue_rnn_listener, gru, context_free, or quick (a
smoke test of seconds).

Each variant is one row of the table in experiments/dialogue/README.md, all on the same
synthetic conversations (``rnnjax.data.dialogue.synthetic_dialogues``; no conversation corpus
with per-utterance labels ships in a registry package): DialogueRNN (Majumder et al. 2019) with
GRU cells, the same with the listener update, a GRU over [utterance ; speaker one-hot] and a
classifier of each utterance alone. ``--config.model.cell=KIND`` runs any ``rnnjax.cells`` kind.
"""

from __future__ import annotations

import ml_collections

from rnnjax.train.config import optim_config, run_config
from rnnjax.validation import check_choice

VARIANTS = ("dialogue_rnn", "dialogue_rnn_listener", "gru", "context_free", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: DialogueRNN on the default synthetic conversations; an
    epoch is a pass over the training conversations, patience counts on the valid weighted F1."""
    c = run_config("dialogue_rnn", num_epochs=20, patience=0, log_every_steps=20,
                   checkpoint_every_steps=1000)

    c.data = ml_collections.ConfigDict()
    c.data.source = "synthetic"  # rnnjax.data.dialogue: the only source that ships
    c.data.seed = 0  # seed of the conversations (the same for every training seed)
    c.data.num_train = 2000  # training conversations
    c.data.num_valid = 300  # validation conversations
    c.data.num_test = 500  # test conversations
    c.data.generator = ml_collections.ConfigDict({  # synthetic_dialogues' arguments
        "num_parties": 2,  # parties per conversation
        "num_moods": 4,  # classes
        "feature_size": 16,  # utterance feature size D_m
        "min_turns": 6,  # shortest conversation
        "max_turns": 16,  # longest conversation (the padded length)
        "stay": 0.2,  # probability that the speaker speaks again
        "reveal": 0.3,  # probability that a later utterance shows its speaker's mood
        "shift": 0.5,  # probability that a reveal comes with a new mood
        "empathy": 0.2,  # probability that a reply takes the previous speaker's mood
        "noise": 0.5,  # standard deviation of the feature noise
    })
    c.data.batch_size = 32  # conversations per training batch
    c.data.eval_batch_size = 100  # conversations per evaluation batch

    c.model = ml_collections.ConfigDict()
    c.model.kind = "dialogue_rnn"  # rnnjax.models.MODELS: dialogue_rnn | utterance_classifier
    c.model.cell = "gru"  # any rnnjax.cells.CELLS kind, for every state
    c.model.global_size = 64  # D_g, global state
    c.model.party_size = 64  # D_p, party states
    c.model.emotion_size = 64  # D_e, emotion state
    c.model.classifier_size = 64  # D_l, the ReLU layer of the classifier
    c.model.listener_update = False  # listeners' states updated by GRU_L (else kept)
    c.model.dropout = 0.1  # on e_t and l_t while training
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS
    c.model.cell_kwargs = {}  # the cell's own arguments

    c.optim = optim_config(learning_rate=1e-3, clip_norm=5.0, weight_decay=None)
    return c


def baseline(c: ml_collections.ConfigDict, context: str) -> ml_collections.ConfigDict:
    """An ``UtteranceClassifier`` of the same widths: over a GRU ("rnn") or alone ("none")."""
    c.model = ml_collections.ConfigDict({
        "kind": "utterance_classifier",  # rnnjax.models.MODELS
        "context": context,  # rnn: a recurrent layer over the conversation; none: u_t alone
        "cell": "gru",  # any rnnjax.cells.CELLS kind (context "rnn")
        "hidden_size": 64,  # width of the recurrent layer
        "classifier_size": 64,  # D_l, the ReLU layer of the classifier
        "dropout": 0.1,  # on the features and l_t while training
        "impl": "auto",  # recurrence implementation
        "cell_kwargs": {},  # the cell's own arguments
    })
    return c


def get_config(variant: str = "dialogue_rnn") -> ml_collections.ConfigDict:
    check_choice("get_config", "variant", variant, VARIANTS)
    c = base()
    c.name = variant
    if variant == "dialogue_rnn_listener":
        c.model.listener_update = True
    elif variant == "gru":
        baseline(c, "rnn")
    elif variant == "context_free":
        baseline(c, "none")
    elif variant == "quick":
        c.num_epochs = 1
        c.data.num_train, c.data.num_valid, c.data.num_test = 16, 8, 8
        c.data.generator.max_turns = 8
        c.data.batch_size = c.data.eval_batch_size = 8
        for field in ("global_size", "party_size", "emotion_size", "classifier_size"):
            c.model[field] = 8
    return c
