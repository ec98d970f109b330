"""Sample text from a trained language model.

    python -m experiments.lm.sample --workdir=/tmp/lm --prime="ROMEO:" --length=300 \
        --temperature=0.8 --top_k=0 --seed=0

--temperature=0 is greedy decoding (the same text for every seed).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
from absl import flags

from experiments.launch import WORKDIR
from experiments.lm.train import VOCAB_FILE, LanguageModelTask, load_model
from rnnjax import cli
from rnnjax.models.sampling import sample_text
from rnnjax.train.run import RUN_FILE
from rnnjax.validation import check_nonnegative_float, fail

_PRIME = flags.DEFINE_string("prime", "\n", "Text the sample continues.")
_LENGTH = flags.DEFINE_integer("length", 500, "Tokens to sample.")
_TEMPERATURE = flags.DEFINE_float("temperature", 0.8, "Softmax temperature (0: greedy).")
_TOP_K = flags.DEFINE_integer("top_k", 0, "Sample among the k most likely tokens (0: all).")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")
_WHERE = "lm.sample"


def check_lm_workdir(workdir: str | Path) -> Path:
    """``workdir``, or an error unless it is a language model's (its run.json names the
    experiment "lm" and it holds the vocabulary)."""
    workdir = Path(workdir).expanduser()
    record = workdir / RUN_FILE
    experiment = json.loads(record.read_text()).get("experiment") if record.is_file() else None
    if experiment != LanguageModelTask.experiment or not (workdir / VOCAB_FILE).is_file():
        missing = [name for name in (RUN_FILE, VOCAB_FILE) if not (workdir / name).is_file()]
        found = (f"a {experiment!r} run" if experiment not in (None, LanguageModelTask.experiment)
                 else f"without {' or '.join(missing)}")
        fail(_WHERE, "--workdir", "the workdir of a language model trained by "
             "`python -m experiments.lm --workdir=...`", f"{str(workdir)!r}, {found}")
    return workdir


def main(argv: list[str]) -> None:
    del argv
    check_nonnegative_float(_WHERE, "--temperature", _TEMPERATURE.value)
    model, vocab, _ = load_model(check_lm_workdir(WORKDIR.value))
    print(sample_text(model, vocab, _PRIME.value, _LENGTH.value,
                      key=jax.random.PRNGKey(_SEED.value), temperature=_TEMPERATURE.value,
                      top_k=_TOP_K.value))


if __name__ == "__main__":
    cli.run(main)
