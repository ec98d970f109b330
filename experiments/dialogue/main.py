"""Train utterance labelling in conversations: ``python -m experiments.dialogue --workdir=DIR
[--config=...]``.

Without --config this is DialogueRNN (GRU cells) on the synthetic conversations of
``rnnjax.data.dialogue``; the variants of experiments/dialogue/configs.py are the rows of its
table (DialogueRNN with and without the listener update, a GRU over the conversation, a
context-free utterance classifier). The shared flags are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.dialogue.train import train_and_evaluate

CONFIG = launch.define_config(__file__, "dialogue_rnn")


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
