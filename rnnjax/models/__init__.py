"""Models, and ``make_model``, which builds one from a config's ``model`` section."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from flax import nnx

from rnnjax.models.bengio import BengioLM
from rnnjax.models.classifier import RNNClassifier
from rnnjax.models.dialogue_rnn import DialogueRNN, UtteranceClassifier
from rnnjax.models.forecaster import RNNForecaster
from rnnjax.models.kim_cnn import KimCNN
from rnnjax.models.lm import RNNLM
from rnnjax.models.seq2seq import Seq2Seq
from rnnjax.models.tagger import RNNTagger
from rnnjax.validation import check_choice, fail

# config.model.kind -> model class
MODELS: dict[str, type[nnx.Module]] = {"rnn": RNNLM, "bengio": BengioLM,
                                       "rnn_classifier": RNNClassifier, "kim_cnn": KimCNN,
                                       "rnn_tagger": RNNTagger, "seq2seq": Seq2Seq,
                                       "rnn_forecaster": RNNForecaster,
                                       "dialogue_rnn": DialogueRNN,
                                       "utterance_classifier": UtteranceClassifier}


def make_model(model_config: Mapping[str, Any], *, rngs: nnx.Rngs, **data_sizes: Any
               ) -> nnx.Module:
    """``MODELS[model_config["kind"]](rngs=rngs, **data_sizes, **the config's other fields)``.

    ``data_sizes`` are what the task knows from its data (e.g. ``vocab_size``); a config field
    the model does not take is an error naming it.
    """
    fields = dict(model_config)
    cls = MODELS[check_choice("make_model", "model.kind", fields.pop("kind", None), MODELS)]
    accepted = [name for name in inspect.signature(cls.__init__).parameters
                if name not in ("self", "rngs", *data_sizes)]
    for name in fields:
        if name not in accepted:
            fail("make_model", f"model.{name}", f"absent (a {cls.__name__} takes {accepted})",
                 repr(fields[name]))
    return cls(rngs=rngs, **data_sizes, **fields)


__all__ = ["MODELS", "RNNLM", "BengioLM", "DialogueRNN", "KimCNN", "RNNClassifier", "RNNTagger",
           "Seq2Seq", "UtteranceClassifier", "make_model"]
