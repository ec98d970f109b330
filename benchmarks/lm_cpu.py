r"""Language-model training on CPU, rnnjax against PyTorch on the same batches.

    python -m benchmarks.lm_cpu                     # training tokens/s, every row, same run
    python -m benchmarks.lm_cpu --curves --rows=char_lstm --epochs=3 --inits=default,torch

Both frameworks train the same model (embedding -> stacked LSTM/GRU -> softmax, untied) with the
same optimiser on the same ``rnnjax.data.LMBatches`` (recurrent state carried from batch to batch
with its gradient stopped and reset each epoch), each in its own fresh process.

Speed (default): for rnnjax with each ``--impls`` value (``auto``: the row ``rnnjax``, any other
``rnnjax.layers`` impl: ``rnnjax_<impl>``, e.g. ``--impls=auto,cpu_fused``; ``per_core``: the row
``rnnjax_per_core``, per-core data parallelism, below) and torch, the median
time of one training step (batch transfer, forward, backward, clipped
update, the loss read back) after warm-up, as tokens/s, and the process's CPU time per step;
rows and frameworks interleaved over ``--rounds`` (``benchmarks.common``). Rows:
  char_lstm   the default char LM (experiments/lm shakespeare_char): embedding 128, 2 x 256 LSTM,
              Adam 2e-3, clip 5, batch 32, bptt 64, embedded Shakespeare
  char_gru    the same with GRU cells
  ptb_small   Zaremba et al. 2014 small: embedding 200, 2 x 200 LSTM, U[-0.1, 0.1], SGD lr 1,
              clip 5, batch 20, bptt 20, loss summed over time, PTB (``python -m rnnjax.data prepare
              --corpus=ptb`` first)

Per-core data parallelism (``--impls=per_core``): the child runs with one XLA CPU device per core
(``rnnjax.train.sharding.use_cores_as_devices``: single-threaded products and kernel calls), the
parameters replicated, each batch and the carried state split over the devices along the batch
(``rnnjax.train.sharding``) and the mesh set with ``jax.set_mesh``, so that ``impl="auto"`` runs
the fused LSTM kernel on each device's rows (``rnnjax.layers.rows_per_device``) and XLA
all-reduces the gradients.

Curves (``--curves``): each framework trains ``--epochs`` epochs; after every epoch the validation
stream is scored (state carried through it, batch 32, bptt 64) and training tokens/s recorded.
``--inits`` lists rnnjax initialisations to compare (the ablation): ``default`` (rnnjax's own),
``torch`` (PyTorch's defaults, reproduced), the single swaps toward PyTorch listed in INITS and
their combinations joined by "+" (e.g. ``embedding+bias``).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time

import numpy as np
from absl import app, flags

from benchmarks import common
from rnnjax.memory import keep_freed_memory

ROWS = {
    "char_lstm": {"corpus": "shakespeare", "cell": "lstm", "embed": 128, "hidden": 256,
                  "layers": 2, "batch": 32, "bptt": 64, "optim": "adam", "lr": 2e-3,
                  "clip": 5.0, "sum_over_time": False, "init_scale": None},
    "char_gru": {"corpus": "shakespeare", "cell": "gru", "embed": 128, "hidden": 256,
                 "layers": 2, "batch": 32, "bptt": 64, "optim": "adam", "lr": 2e-3,
                 "clip": 5.0, "sum_over_time": False, "init_scale": None},
    "ptb_small": {"corpus": "ptb", "cell": "lstm", "embed": 200, "hidden": 200, "layers": 2,
                  "batch": 20, "bptt": 20, "optim": "sgd", "lr": 1.0, "clip": 5.0,
                  "sum_over_time": True, "init_scale": 0.1},
}
EVAL_BATCH, EVAL_BPTT = 32, 64
# rnnjax initialisations for the ablation: name -> the parameters replaced by PyTorch's defaults
# (embedding N(0, 1); recurrent layers U[-1/sqrt(H), 1/sqrt(H)] for w_x, w_h and both biases,
# so no forget-gate bias; output layer U[-1/sqrt(fan_in), 1/sqrt(fan_in)]).
INITS = {
    "default": (),
    "torch": ("embedding", "input", "recurrent", "bias", "output"),
    "embedding": ("embedding",),
    "input": ("input",),
    "recurrent": ("recurrent",),
    "bias": ("bias",),
    "output": ("output",),
}

_ROWS = flags.DEFINE_list("rows", list(ROWS), "Rows to run.")
_CURVES = flags.DEFINE_bool("curves", False, "Learning curves instead of speed.")
_EPOCHS = flags.DEFINE_integer("epochs", 1, "Epochs per learning curve.")
_INITS = flags.DEFINE_list("inits", ["default"], "rnnjax initialisations for --curves.")
_WITH_TORCH = flags.DEFINE_bool("with_torch", True, "--curves: train the torch peer too.")
_STEPS = flags.DEFINE_integer("steps", 30, "Timed training steps (speed).")
_WARMUP = flags.DEFINE_integer("warmup", 5, "Untimed steps after compilation (speed).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved repetitions (speed).")
_IMPLS = flags.DEFINE_list("impls", ["auto"], "rnnjax impl= values timed beside torch (speed); "
                           "per_core: impl='auto' data-parallel over one device per core.")
_SEED = flags.DEFINE_integer("seed", 0, "Initialisation seed.")
_TORCH_THREADS = flags.DEFINE_integer(
    "torch_threads", 0, "torch.set_num_threads for the torch runs (0: one per CPU the process "
    "may use). On a busy machine torch's spinning OpenMP threads slow it by orders of "
    "magnitude; 1 avoids that for learning curves.")
_CORES = flags.DEFINE_string("cores", None, "Pin every run to these CPUs (taskset -c), e.g. 1.")
_OUT = flags.DEFINE_string("out", None, "JSON record (default benchmarks/results/lm_cpu.json, "
                           "or lm_curves.json with --curves).")
_CHILD = flags.DEFINE_string("child", None, "Internal: 'mode:row:framework:init'.")


def _corpus(row: dict):
    from rnnjax.data import load_corpus

    return load_corpus(row["corpus"])


def _torch_trainer(row: dict, vocab_size: int, seed: int):
    """(train_step(inputs, targets) -> loss, evaluate(ids) -> nats/token, reset())."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(common.torch_threads(_TORCH_THREADS.value))
    rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[row["cell"]]

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, row["embed"])
            self.rnn = rnn_cls(row["embed"], row["hidden"], row["layers"], batch_first=True)
            self.out = torch.nn.Linear(row["hidden"], vocab_size)

        def forward(self, tokens, state):
            y, state = self.rnn(self.embed(tokens), state)
            return self.out(y), state

    model = LM()
    if row["init_scale"]:
        for p in model.parameters():
            torch.nn.init.uniform_(p, -row["init_scale"], row["init_scale"])
    opt = (torch.optim.Adam(model.parameters(), row["lr"]) if row["optim"] == "adam"
           else torch.optim.SGD(model.parameters(), row["lr"]))
    state = {"carry": None}

    def detach(carry):
        return tuple(c.detach() for c in carry) if isinstance(carry, tuple) else carry.detach()

    def train_step(inputs, targets):
        logits, carry = model(torch.from_numpy(inputs).long(), state["carry"])
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab_size),
                                                torch.from_numpy(targets).long().reshape(-1))
        loss = nll * inputs.shape[1] if row["sum_over_time"] else nll
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), row["clip"])
        opt.step()
        state["carry"] = detach(carry)
        return float(nll)

    @torch.no_grad()
    def evaluate(ids):
        from rnnjax.data import LMBatches

        carry, total, count = None, 0.0, 0
        for inputs, targets in LMBatches(ids, EVAL_BATCH, EVAL_BPTT).iter_epoch(0):
            logits, carry = model(torch.from_numpy(inputs).long(), carry)
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, vocab_size), torch.from_numpy(targets).long().reshape(-1),
                reduction="sum"))
            count += targets.size
        return total / count

    def reset():
        state["carry"] = None

    return train_step, evaluate, reset


def init_parts(init: str) -> tuple[str, ...]:
    """The parameter groups an --inits entry ("embedding+bias") replaces."""
    return tuple(part for name in init.split("+") for part in INITS[name])


def _torch_default_init(model, row: dict, parts: tuple[str, ...], seed: int) -> None:
    """Replace the named parts of an rnnjax RNNLM's parameters by PyTorch's default init."""
    import jax
    import jax.numpy as jnp

    keys = iter(jax.random.split(jax.random.PRNGKey(seed + 1), 64))
    bound = row["hidden"] ** -0.5

    def uniform(shape, limit):
        return jax.random.uniform(next(keys), shape, jnp.float32, -limit, limit)

    if "embedding" in parts:
        model.embed.embedding[...] = jax.random.normal(next(keys), model.embed.embedding.shape)
    for layer in model.rnn.layers:
        cell = layer.cell
        if "input" in parts:
            cell.w_x[...] = uniform(cell.w_x.shape, bound)
        if "recurrent" in parts:
            cell.w_h[...] = uniform(cell.w_h.shape, bound)
        if "bias" in parts:  # b_ih + b_hh; the GRU's b_hh of the n gate is b_hn
            b_hh = uniform(cell.b.shape, bound)
            if hasattr(cell, "b_hn"):
                cell.b_hn[...] = b_hh[2 * row["hidden"]:]
                b_hh = b_hh.at[2 * row["hidden"]:].set(0.0)
            cell.b[...] = uniform(cell.b.shape, bound) + b_hh
    if "output" in parts:
        limit = model.out.kernel.shape[0] ** -0.5
        model.out.kernel[...] = uniform(model.out.kernel.shape, limit)
        model.out.bias[...] = uniform(model.out.bias.shape, limit)


def _rnnjax_trainer(row: dict, vocab_size: int, seed: int, init: str, impl: str = "auto"):
    """(train_step, evaluate, reset) as ``_torch_trainer``; ``impl="per_core"``: "auto" with the
    batch split over every device (a mesh set with ``jax.set_mesh``, parameters replicated)."""
    import jax
    import optax
    from flax import nnx

    from rnnjax.data import LMBatches
    from rnnjax.models import RNNLM
    from rnnjax.train import sharding

    mesh = sharding.make_mesh()
    if impl == "per_core":
        impl = "auto"
        sharding.check_divisible("lm_cpu", "batch", row["batch"], mesh)
        sharding.check_divisible("lm_cpu", "eval batch", EVAL_BATCH, mesh)
    elif jax.device_count() > 1:
        raise RuntimeError(f"lm_cpu: impl {impl!r} times one device, got {jax.devices()}")

    model = RNNLM(vocab_size, rngs=nnx.Rngs(seed), cell=row["cell"], embed_size=row["embed"],
                  hidden_size=row["hidden"], num_layers=row["layers"],
                  init_scale=row["init_scale"], impl=impl)
    _torch_default_init(model, row, init_parts(init), seed)
    graphdef, params = nnx.split(model)
    tx = optax.chain(optax.clip_by_global_norm(row["clip"]),
                     optax.adam(row["lr"]) if row["optim"] == "adam" else optax.sgd(row["lr"]))
    state = {"params": sharding.replicate(params, mesh),
             "opt": sharding.replicate(tx.init(params), mesh),
             "carry": sharding.shard_batch(model.initial_carry(row["batch"]), mesh)}

    def objective(params, carry, inputs, targets):
        logits, carry = nnx.merge(graphdef, params)(inputs, carry)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()
        return (nll * inputs.shape[1] if row["sum_over_time"] else nll), (nll, carry)

    @jax.jit
    def step(params, opt_state, carry, inputs, targets):
        grads, (nll, carry) = jax.grad(objective, has_aux=True)(params, carry, inputs, targets)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, jax.lax.stop_gradient(carry), nll

    @jax.jit
    def eval_step(params, carry, inputs, targets):
        logits, carry = nnx.merge(graphdef, params)(inputs, carry)
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets).sum(), carry

    def train_step(inputs, targets):
        with jax.set_mesh(mesh):
            state["params"], state["opt"], state["carry"], nll = step(
                state["params"], state["opt"], state["carry"],
                *sharding.shard_batch((inputs, targets), mesh))
        return float(nll)

    def evaluate(ids):
        carry, total, count = sharding.shard_batch(model.initial_carry(EVAL_BATCH), mesh), 0.0, 0
        for inputs, targets in LMBatches(ids, EVAL_BATCH, EVAL_BPTT).iter_epoch(0):
            with jax.set_mesh(mesh):
                nll, carry = eval_step(state["params"], carry,
                                       *sharding.shard_batch((inputs, targets), mesh))
            total += float(nll)
            count += targets.size
        return total / count

    def reset():
        state["carry"] = sharding.shard_batch(model.initial_carry(row["batch"]), mesh)

    return train_step, evaluate, reset


def _child(spec: str) -> dict:
    mode, row_name, framework, init = spec.split(":")
    from rnnjax.data import LMBatches
    from rnnjax.train import sharding

    if framework == "rnnjax_per_core":  # before JAX computes anything
        sharding.use_cores_as_devices()

    row = ROWS[row_name]
    corpus = _corpus(row)
    vocab_size = len(corpus.vocab)
    trainer = (_torch_trainer(row, vocab_size, _SEED.value) if framework == "torch"
               else _rnnjax_trainer(row, vocab_size, _SEED.value, init,
                                    framework.partition("_")[2] or "auto"))
    train_step, evaluate, reset = trainer
    batches = LMBatches(corpus.train_ids, row["batch"], row["bptt"], drop_last=True)
    tokens = row["batch"] * row["bptt"]
    if mode == "speed":
        count = 1 + _WARMUP.value + _STEPS.value
        chunks = [batches.batch(0, i % batches.num_batches(0)) for i in range(count)]
        index = iter(range(count))
        times, cpu_times = common.timed_calls(lambda: train_step(*chunks[next(index)]),
                                              _WARMUP.value, _STEPS.value)
        median = statistics.median(times)
        return {"tokens_per_s": tokens / median * 1e3, "step_ms": median,
                "cpu_ms": statistics.median(cpu_times)}
    epochs = []
    for epoch in range(_EPOCHS.value):
        reset()
        start, losses = time.perf_counter(), []
        for inputs, targets in batches.iter_epoch(epoch):
            losses.append(train_step(inputs, targets))
        seconds = time.perf_counter() - start
        valid = evaluate(corpus.valid_ids)
        epochs.append({"epoch": epoch + 1, "train_nll": float(np.mean(losses)),
                       "valid_nll": valid, "valid_bits_per_char": valid / math.log(2),
                       "valid_perplexity": math.exp(valid),
                       "tokens_per_s": len(losses) * tokens / seconds})
        print(json.dumps(epochs[-1]), file=sys.stderr)
    return {"epochs": epochs}


def _curves_table(runs: dict[str, dict], level: str) -> str:
    metric = "valid_bits_per_char" if level == "char" else "valid_perplexity"
    epochs = max(len(r["epochs"]) for r in runs.values())
    lines = ["| run | " + " | ".join(f"epoch {e + 1}" for e in range(epochs))
             + " | tokens/s |", "|---" * (epochs + 2) + "|"]
    for name, run in runs.items():
        values = [f"{e[metric]:.3f}" for e in run["epochs"]]
        speed = np.median([e["tokens_per_s"] for e in run["epochs"]])
        lines.append(f"| {name} | " + " | ".join(values) + f" | {speed:,.0f} |")
    return f"valid {metric.removeprefix('valid_').replace('_', ' ')}\n\n" + "\n".join(lines)


def main(argv):
    del argv
    if _CHILD.value:
        print(json.dumps(_child(_CHILD.value)))
        return
    for name in _ROWS.value:
        if name not in ROWS:
            raise app.UsageError(f"--rows: {name!r} is not one of {list(ROWS)}")
    for name in _INITS.value:
        if any(part not in INITS for part in name.split("+")):
            raise app.UsageError(f"--inits: {name!r} is not one of {list(INITS)} or a "
                                 "'+'-joined combination")
    load_before = os.getloadavg()[0]
    passed = [f"--seed={_SEED.value}", f"--epochs={_EPOCHS.value}", f"--steps={_STEPS.value}",
              f"--warmup={_WARMUP.value}", f"--torch_threads={_TORCH_THREADS.value}"]
    if _CURVES.value:
        payload = {}
        for row in _ROWS.value:
            runs = {}
            peers = ["torch"] if _WITH_TORCH.value else []
            for name in peers + [f"rnnjax_{init}" for init in _INITS.value]:
                framework, _, init = name.partition("_")
                run = common.run_child("benchmarks.lm_cpu",
                                       f"curves:{row}:{framework}:{init or 'default'}", passed,
                                       _CORES.value)
                if run:
                    runs[name] = run
            level = "char" if row.startswith("char") else "word"
            payload[row] = {"runs": runs, "table": _curves_table(runs, level)}
            print(f"## {row}\n\n{payload[row]['table']}\n")
        common.write_record(_OUT.value or "benchmarks/results/lm_curves.json",
                            {"curves": payload, "config": {r: ROWS[r] for r in _ROWS.value}},
                            load_before)
        return
    frameworks = [("rnnjax" if impl == "auto" else f"rnnjax_{impl}") for impl in _IMPLS.value]
    frameworks.append("torch")
    specs = [(row, framework) for row in _ROWS.value for framework in frameworks]
    rows = common.interleaved(
        specs, _ROUNDS.value,
        lambda row, fw: common.run_child("benchmarks.lm_cpu", f"speed:{row}:{fw}:default",
                                         passed, _CORES.value), "tokens_per_s", also=["cpu_ms"])
    table = common.ratio_table(rows, frameworks, "tokens_per_s")
    cpu_table = common.ratio_table(rows, frameworks, "cpu_ms", digits=1)
    print(f"training tokens/s (ratio to torch; higher is faster)\n\n{table}\n\n"
          f"CPU ms per training step, all threads (ratio to torch's)\n\n{cpu_table}")
    common.write_record(_OUT.value or "benchmarks/results/lm_cpu.json",
                        {"rows": rows, "table": table, "cpu_table": cpu_table,
                         "config": {r: ROWS[r] for r in _ROWS.value},
                         "steps": _STEPS.value, "warmup": _WARMUP.value}, load_before)


if __name__ == "__main__":
    keep_freed_memory()
    app.run(main)
