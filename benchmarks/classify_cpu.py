r"""Training throughput (sentences/s) of the sentence classifiers against the same models in torch,
on the same batches, on CPU.

    python -m rnnjax.data prepare --corpus=mr_subset     # once
    python -m benchmarks.classify_cpu [--models=bilstm,kim] [--rounds=3] [--passes=5]
    python -m benchmarks.classify_cpu --curves [--epochs=6] [--seeds=3]   # learning curves

``--curves`` trains the BiLSTM below on all of fold 0's training part, rnnjax (with its default
embedding, and with N(0, 1) rows as PyTorch draws them) and torch, the same shuffled batches per
seed, and scores fold 0's test part after every epoch (classify_curves.json).

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
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from absl import app, flags

from rnnjax.memory import keep_freed_memory

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

class Trainer(NamedTuple):
    step: Callable[[dict, int], None]  # one training step on a batch (its index seeds dropout)
    predict: Callable[[dict], np.ndarray]  # class ids of a batch, dropout off
    wait: Callable[[], None]  # until the last step has finished (JAX dispatches asynchronously)


_CURVES = flags.DEFINE_bool("curves", False, "Learning curves of the BiLSTM instead of speed.")
_EPOCHS = flags.DEFINE_integer("epochs", 6, "--curves: epochs over fold 0's training part.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "--curves: seeds (initialisation, order, dropout).")
CURVES = {  # --curves variant -> trainer
    "rnnjax (Flax embedding, the default)": lambda vocab, seed: rnnjax_trainer(
        "bilstm", vocab, seed),
    "rnnjax, N(0, 1) embedding": lambda vocab, seed: rnnjax_trainer(
        "bilstm", vocab, seed, embedding="normal"),
    "torch (its defaults)": lambda vocab, seed: torch_trainer("bilstm", vocab, seed),
}
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def fold0(seed: int = 0):
    """Fold 0 of the MR subset: (train PaddedBatches shuffled by ``seed``, test batches in order,
    vocab size); Kim's ``clean_str`` tokens, vocabulary from the training part."""
    from rnnjax.data import Vocab
    from rnnjax.data.labelled import load_labelled, make_splits
    from rnnjax.data.padded import PaddedBatches

    data = load_labelled("mr_subset")
    splits = make_splits(data, fold=0, num_folds=10, valid_fraction=0.1)
    tokens = data.tokenize()
    vocab = Vocab.from_sequences(tokens[i] for i in splits["train"])

    def examples(part: str) -> dict:
        return {"tokens": [vocab.lookup(tokens[i] or ["<unk>"]) for i in splits[part]],
                "label": data.label_ids[splits[part]]}

    test = PaddedBatches(examples("test"), BATCH, shuffle=False)
    return (PaddedBatches(examples("train"), BATCH, shuffle=True, seed=seed),
            [test.batch(0, i) for i in range(test.num_batches())], len(vocab))


def batches(count: int) -> tuple[list[dict[str, np.ndarray]], int]:
    """The first ``count`` training batches of fold 0 of the MR subset, and the vocab size."""
    train, _, vocab = fold0()
    return [train.batch(0, i) for i in range(min(count, train.num_batches()))], vocab


def rnnjax_trainer(model: str, vocab: int, seed: int = 0, embedding: str = "default"):
    """(step(batch, index): one training step, predict(batch): class ids), rnnjax + optax.

    ``embedding="normal"`` replaces the BiLSTM's Flax-default embedding rows by N(0, 1) ones
    (PyTorch's default).
    """
    import jax
    import optax
    from flax import nnx

    from rnnjax.models import KimCNN, RNNClassifier
    from rnnjax.train.optim import make_optimizer

    rngs = nnx.Rngs(seed)
    if model == "bilstm":
        net = RNNClassifier(vocab, 2, rngs=rngs, embed_size=EMBED, hidden_size=HIDDEN,
                            bidirectional=True, dropout=0.5, impl="xla")
        if embedding == "normal":
            net.embed.embedding[...] = jax.random.normal(jax.random.PRNGKey(seed), (vocab, EMBED))
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

    key = jax.random.PRNGKey(seed)
    logits = jax.jit(lambda params, tokens, lengths: nnx.merge(graphdef, params)(tokens, lengths))

    def train_step(batch: dict, index: int) -> None:
        state.update(step(state, {k: batch[k] for k in ("tokens", "tokens_lengths", "label")},
                          jax.random.fold_in(key, index)))

    def predict(batch: dict) -> np.ndarray:
        return np.asarray(logits(state["params"], batch["tokens"], batch["tokens_lengths"])
                          ).argmax(-1)

    return Trainer(train_step, predict, lambda: jax.block_until_ready(state))


def torch_trainer(model: str, vocab: int, seed: int = 0):
    """The same models and optimisers in torch, eager: (step(batch, index), predict(batch))."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
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
    loss_fn = nn.CrossEntropyLoss()

    def tensors(batch: dict) -> tuple:
        return tuple(torch.from_numpy(np.asarray(batch[k], np.int64))
                     for k in ("tokens", "tokens_lengths", "label"))

    def train_step(batch: dict, index: int) -> None:
        del index
        tokens, lengths, labels = tensors(batch)
        net.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(net(tokens, lengths), labels).backward()
        if model == "bilstm":
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        if model == "kim":
            with torch.no_grad():  # max-norm 3 on each class's weight vector
                w = net.out.weight
                w.mul_(torch.clamp(3.0 / w.norm(dim=1, keepdim=True).clamp_min(1e-7), max=1.0))

    def predict(batch: dict) -> np.ndarray:
        tokens, lengths, _ = tensors(batch)
        net.eval()
        with torch.no_grad():
            return net(tokens, lengths).argmax(-1).numpy()

    return Trainer(train_step, predict, lambda: None)


def one_pass_of(trainer: Trainer, data: list[dict]):
    """A function running one training step on every batch of ``data``."""

    def one_pass():
        for index, batch in enumerate(data):
            trainer.step(batch, index)
        trainer.wait()

    return one_pass


def time_child(spec: str) -> dict:
    model, impl = spec.split(":")
    data, vocab = batches(_BATCHES.value)
    trainer = rnnjax_trainer(model, vocab) if impl == "rnnjax" else torch_trainer(model, vocab)
    one_pass = one_pass_of(trainer, data)
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


def curves() -> None:
    """Test accuracy of fold 0 after every epoch, per variant, mean over seeds; JSON + table."""
    from rnnjax.train.metrics import machine_details

    if _THREADS.value:
        import torch

        torch.set_num_threads(_THREADS.value)
    accuracy: dict[str, list[list[float]]] = {name: [] for name in CURVES}
    for seed in range(_SEEDS.value):
        train, test, vocab = fold0(seed)
        for name, make in CURVES.items():
            trainer, per_epoch = make(vocab, seed), []
            for epoch in range(_EPOCHS.value):
                for index in range(train.num_batches()):
                    trainer.step(train.batch(epoch, index), epoch * 10_000 + index)
                right = sum(int((trainer.predict(b) == b["label"]).sum()) for b in test)
                per_epoch.append(100.0 * right / sum(len(b["label"]) for b in test))
            print(f"seed {seed} {name}: " + " ".join(f"{a:.1f}" for a in per_epoch),
                  file=sys.stderr)
            accuracy[name].append(per_epoch)
    lines = ["| BiLSTM on MR-subset fold 0, test accuracy % after epoch | "
             + " | ".join(str(e + 1) for e in range(_EPOCHS.value)) + " |",
             "|---" * (_EPOCHS.value + 1) + "|"]
    for name, runs in accuracy.items():
        mean, std = np.mean(runs, 0), np.std(runs, 0)
        lines.append(f"| {name} | " + " | ".join(f"{m:.1f} ± {d:.1f}" for m, d in zip(
            mean, std, strict=True)) + " |")
    table = "\n".join(lines)
    print(table)
    with open(_OUT.value.replace("classify_cpu.json", "classify_curves.json"), "w") as f:
        json.dump({"machine": machine_details(), "command": " ".join(sys.argv),
                   "epochs": _EPOCHS.value,
                   "seeds": _SEEDS.value, "test_accuracy": accuracy, "table": table}, f,
                  indent=1)


def main(argv):
    del argv
    from rnnjax.train.metrics import machine_details

    if _CHILD.value:
        print(json.dumps(time_child(_CHILD.value)))
        return
    if _CURVES.value:
        curves()
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
        json.dump({"machine": machine_details(), "command": " ".join(sys.argv), "rows": rows,
                   "batches": _BATCHES.value, "batch_size": BATCH, "threads": _THREADS.value,
                   "load_average_1min": [load_before, os.getloadavg()[0]], "table": table},
                  f, indent=1)


if __name__ == "__main__":
    keep_freed_memory()
    app.run(main)
