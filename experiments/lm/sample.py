"""Sample text from a trained language model.

    python -m experiments.lm.sample --workdir=/tmp/lm --prime="ROMEO:" --length=300 \
        --temperature=0.8 --top_k=0 --seed=0

--temperature=0 is greedy decoding (the same text for every seed).
"""

from __future__ import annotations

import jax
from absl import flags

from experiments.launch import WORKDIR
from experiments.lm.train import load_model
from rnnjax import cli
from rnnjax.models.sampling import sample_text

_PRIME = flags.DEFINE_string("prime", "\n", "Text the sample continues.")
_LENGTH = flags.DEFINE_integer("length", 500, "Tokens to sample.")
_TEMPERATURE = flags.DEFINE_float("temperature", 0.8, "Softmax temperature (0: greedy).")
_TOP_K = flags.DEFINE_integer("top_k", 0, "Sample among the k most likely tokens (0: all).")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")


def main(argv: list[str]) -> None:
    del argv
    model, vocab, _ = load_model(WORKDIR.value)
    print(sample_text(model, vocab, _PRIME.value, _LENGTH.value,
                      key=jax.random.PRNGKey(_SEED.value), temperature=_TEMPERATURE.value,
                      top_k=_TOP_K.value))


if __name__ == "__main__":
    cli.run(main)
