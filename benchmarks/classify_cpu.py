r"""Training throughput (sentences/s) of the sentence classifiers against the same models in torch,
on the same batches, on CPU.

    python -m rnnjax.data prepare --corpus=mr_subset     # once
    python -m benchmarks.classify_cpu [--models=bilstm,kim] [--rounds=3] [--passes=5]

The batches: the first ``--batches`` training batches (50 sentences each, bucketed by length
and zero-padded, ``rnnjax.data.padded.PaddedBatches``) of fold 0 of the MR subset, tokenised
with Kim's ``clean_str``, vocabulary from that fold's training part. Each implementation sees
exactly these arrays. One training step = forward, backward and the optimiser's update:

  bilstm  embedding 50 -> BiLSTM 100 per direction (lengths respected: rnnjax's masking, torch's
          packed sequences) -> last pooling (forward end, backward start) -> dropout 0.5 ->
          softmax; Adam 2e-3, gradient clipping 5 (the ``bilstm`` config of experiments/classify)
  kim     embedding 50 (tuned) -> convolutions of widths 3, 4, 5 x 100 maps with h - 1 zero pads,
          ReLU, max over the windows that overlap the sentence -> dropout 0.5 -> softmax;
          Adadelta (rho 0.95, eps 1e-6) and max-norm 3 on the softmax weights
          (``kim_nonstatic``)

Each (model, implementation) runs in its own fresh process: one untimed pass over the batches
(compiles every padded length), then ``--passes`` timed passes; its number is the median pass.
``--rounds`` repeats the series with the implementations interleaved and the median over rounds
is reported, with the 1-minute load average before and after (on a shared machine, compare only
ratios from the same run). ``--threads=1`` runs both libraries on one thread (torch
``set_num_threads(1)``, XLA without its multi-threaded Eigen pool): on a machine that other jobs
load, torch's OpenMP threads otherwise stall for whole scheduler slices. Prints a markdown table
and writes JSON with the machine described.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

MODELS = ("bilstm", "kim")
IMPLS = ("rnnjax", "torch")
EMBED, HIDDEN, MAPS, WINDOWS, BATCH = 50, 100, 100, (3, 4, 5), 50

_MODELS = flags.DEFINE_list("models", list(MODELS), "Models to time.")
_BATCHES = flags.DEFINE_integer("batches", 30, "Training batches per pass.")
_PASSES = flags.DEFINE_integer("passes", 5, "Timed passes per process (median).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved repetitions of the whole series.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/classify_cpu.json", "Where to write JSON.")
_CHILD = flags.DEFINE_string("child", None, "Internal: time one 'model:impl' and print JSON.")
_THREADS = flags.DEFINE_integer("threads", 0, "Threads per library (0: each library's default; "
                                "1: torch.set_num_threads(1) and single-threaded XLA).")
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def batches(count: int) -> tuple[list[dict[str, np.ndarray]], int]:
    """The first ``count`` training batches of fold 0 of the MR subset, and the vocab size."""
    from rnnjax.data import Vocab
    from rnnjax.data.labelled import load_labelled, make_splits
    from rnnjax.data.padded import PaddedBatches

    data = load_labelled("mr_subset")
    train = make_splits(data, fold=0, num_folds=10, valid_fraction=0.1)["train"]
    tokens = data.tokenize()
    vocab = Vocab.from_sequences(tokens[i] for i in train)
    examples = {"tokens": [vocab.lookup(tokens[i] or ["<unk>"]) for i in train],
                "label": data.label_ids[train]}
    padded = PaddedBatches(examples, BATCH, shuffle=True, seed=0)
    return [padded.batch(0, i) for i in range(min(count, padded.num_batches()))], len(vocab)


def rnnjax_pass(model: str, data: list[dict], vocab: int):
    """A function that runs one training step on every batch (rnnjax + optax, one jit)."""
    import jax
    import optax
    from flax import nnx

    from rnnjax.models import KimCNN, RNNClassifier
    from rnnjax.train.optim import make_optimizer

    rngs = nnx.Rngs(0)
    if model == "bilstm":
        net = RNNClassifier(vocab, 2, rngs=rngs, embed_size=EMBED, hidden_size=HIDDEN,
                            bidirectional=True, dropout=0.5, impl="xla")
        tx = make_optimizer({"name": "adam", "learning_rate": 2e-3, "clip_norm": 5.0})
    else:
        net = KimCNN(vocab, 2, rngs=rngs, embed_size=EMBED, windows=WINDOWS, feature_maps=MAPS)
        tx = make_optimizer({"name": "adadelta", "learning_rate": 1.0, "max_norm": 3.0,
                             "max_norm_params": ["out.kernel"]})
    graphdef, params = nnx.split(net)
    state = {"params": params, "opt": tx.init(params)}

    def loss(params, batch, key):
        logits = nnx.merge(graphdef, params)(batch["tokens"], batch["tokens_lengths"],
                                             dropout_key=key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()

    @jax.jit
    def step(state, batch, key):
        grads = jax.grad(loss)(state["params"], batch, key)
        updates, opt = tx.update(grads, state["opt"], state["params"])
        return {"params": optax.apply_updates(state["params"], updates), "opt": opt}

    arrays = [{k: b[k] for k in ("tokens", "tokens_lengths", "label")} for b in data]
    key = jax.random.PRNGKey(0)

    def one_pass():
        nonlocal state
        for i, batch in enumerate(arrays):
            state = step(state, batch, jax.random.fold_in(key, i))
        jax.block_until_ready(state)

    return one_pass


def torch_pass(model: str, data: list[dict], vocab: int):
    """The same models and optimisers in torch, eager, on the same arrays."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    if _THREADS.value:
        torch.set_num_threads(_THREADS.value)

    class BiLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, EMBED)
            self.rnn = nn.LSTM(EMBED, HIDDEN, batch_first=True, bidirectional=True)
            self.drop, self.out = nn.Dropout(0.5), nn.Linear(2 * HIDDEN, 2)

        def forward(self, tokens, lengths):
            x = self.drop(self.embed(tokens))
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, (h, _) = self.rnn(packed)  # h: [2, B, H], forward end and backward start
            return self.out(self.drop(torch.cat([h[0], h[1]], dim=-1)))

    class Kim(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, EMBED)
            self.convs = nn.ModuleList(nn.Conv1d(EMBED, MAPS, h, padding=h - 1)
                                       for h in WINDOWS)
            self.drop, self.out = nn.Dropout(0.5), nn.Linear(MAPS * len(WINDOWS), 2)

        def forward(self, tokens, lengths):
            time_ = tokens.shape[1]
            mask = torch.arange(time_)[None, :] < lengths[:, None]
            x = (self.embed(tokens) * mask[..., None]).transpose(1, 2)  # [B, D, T]
            pooled = []
            for h, conv in zip(WINDOWS, self.convs, strict=True):
                c = torch.relu(conv(x))  # [B, maps, T + h - 1]
                overlap = torch.arange(time_ + h - 1)[None, :] < (lengths + h - 1)[:, None]
                pooled.append((c * overlap[:, None, :]).amax(dim=2))
            return self.out(self.drop(torch.cat(pooled, dim=-1)))

    net = BiLSTM() if model == "bilstm" else Kim()
    if model == "bilstm":
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    else:
        opt = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.95, eps=1e-6)
    arrays = [tuple(torch.from_numpy(np.asarray(b[k], np.int64))
                    for k in ("tokens", "tokens_lengths", "label")) for b in data]
    loss_fn = nn.CrossEntropyLoss()

    def one_pass():
        for tokens, lengths, labels in arrays:
            opt.zero_grad(set_to_none=True)
            loss_fn(net(tokens, lengths), labels).backward()
            if model == "bilstm":
                nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            if model == "kim":
                with torch.no_grad():  # max-norm 3 on each class's weight vector
                    w = net.out.weight
                    w.mul_(torch.clamp(3.0 / w.norm(dim=1, keepdim=True).clamp_min(1e-7),
                                       max=1.0))

    return one_pass


def time_child(spec: str) -> dict:
    model, impl = spec.split(":")
    data, vocab = batches(_BATCHES.value)
    one_pass = (rnnjax_pass if impl == "rnnjax" else torch_pass)(model, data, vocab)
    one_pass()  # compiles every padded length (rnnjax); warms the allocator (torch)
    times = []
    for _ in range(_PASSES.value):
        start = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - start)
    sentences = BATCH * len(data)
    return {"model": model, "impl": impl, "sentences_per_pass": sentences,
            "median_s": statistics.median(times), "times_s": times,
            "sentences_per_s": sentences / statistics.median(times),
            "padded_lengths": sorted({int(b["tokens"].shape[1]) for b in data})}


def machine() -> dict[str, str]:
    """The CPU, the library versions and the JAX backend."""
    import platform

    import jax
    import torch

    from rnnjax.train.metrics import machine as describe

    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), platform.processor())
    return {"machine": describe(), "cpu_model": cpu, "jax": jax.__version__,
            "torch": torch.__version__}


def run_child(model: str, impl: str) -> dict | None:
    cmd = [sys.executable, "-m", "benchmarks.classify_cpu", f"--child={model}:{impl}",
           f"--batches={_BATCHES.value}", f"--passes={_PASSES.value}",
           f"--threads={_THREADS.value}"]
    env = dict(os.environ)
    if _THREADS.value == 1:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {SINGLE_THREAD_XLA}".strip()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        print(f"{model} {impl} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{model} {impl}: {result['sentences_per_s']:,.0f} sentences/s", file=sys.stderr)
    return result


def main(argv):
    del argv
    if _CHILD.value:
        print(json.dumps(time_child(_CHILD.value)))
        return
    for model in _MODELS.value:
        if model not in MODELS:
            raise app.UsageError(f"--models: {model!r} is not one of {list(MODELS)}")
    load_before = os.getloadavg()[0]
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(_ROUNDS.value):
        for model in _MODELS.value:
            for impl in IMPLS:
                result = run_child(model, impl)
                if result:
                    runs.setdefault((model, impl), []).append(result)
    rows = [{"model": model, "impl": impl,
             "sentences_per_s": statistics.median(r["sentences_per_s"] for r in per_round),
             "round_sentences_per_s": [r["sentences_per_s"] for r in per_round],
             "padded_lengths": per_round[0]["padded_lengths"]}
            for (model, impl), per_round in runs.items()]
    lines = ["| model | rnnjax sentences/s | torch sentences/s | rnnjax / torch |",
             "|---|---|---|---|"]
    for model in _MODELS.value:
        speed = {r["impl"]: r["sentences_per_s"] for r in rows if r["model"] == model}
        if len(speed) == 2:
            lines.append(f"| {model} | {speed['rnnjax']:,.0f} | {speed['torch']:,.0f} | "
                         f"{speed['rnnjax'] / speed['torch']:.2f}x |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
    with open(_OUT.value, "w") as f:
        json.dump({"machine": machine(), "command": " ".join(sys.argv), "rows": rows,
                   "batches": _BATCHES.value, "batch_size": BATCH, "threads": _THREADS.value,
                   "load_average_1min": [load_before, os.getloadavg()[0]], "table": table},
                  f, indent=1)


if __name__ == "__main__":
    app.run(main)
