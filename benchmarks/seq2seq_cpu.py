r"""Seq2seq on CPU: rnnjax's Seq2Seq against the same model in torch, on the same batches.

    python -m benchmarks.seq2seq_cpu [--steps=20 --rounds=2 --threads=1]

The model is the depth study's baseline shape (experiments/seq2seq/configs.py:baseline, dropout
off): GRU, 2-layer bidirectional encoder, 2-layer decoder, 128 units, general (Luong)
attention, dense bridge, 2000 BPE pieces per side. Batches are the first ``--steps`` training
batches of trans_de_en en-de (``PaddedBatches``, batch 64, seed 0; prepare the corpus first).

  training   Adam step (clip 5) on the masked token NLL: target tokens per second. Every batch
             runs once untimed first (rnnjax compiles each shape), then the same batches are timed.
  greedy     greedy decoding of the first 512 valid sentences (batches of 128, at most 100
             tokens): sentences per second; torch steps nn.GRU one token at a time under no_grad.
  beam       rnnjax's beam search (beam 5, GNMT alpha 0.6) on the same sentences; its cost is
             reported as a ratio to rnnjax's greedy decoding (torch has no beam search here).

Each framework runs in its own process (``--child``), rounds interleaved; the medians over rounds
are printed as a markdown table with ratios to torch, and written as JSON with the machine and
the 1-minute load average (a loaded machine distorts the ratios).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from absl import app, flags

from rnnjax.memory import keep_freed_memory
from rnnjax.train.metrics import machine

_STEPS = flags.DEFINE_integer("steps", 20, "Training batches timed.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Interleaved repetitions (median over rounds).")
_SENTENCES = flags.DEFINE_integer("sentences", 512, "Valid sentences decoded.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/seq2seq_cpu.json", "JSON output.")
_CHILD = flags.DEFINE_string("child", None, "Internal: 'rnnjax' or 'torch'; prints JSON.")
_THREADS = flags.DEFINE_integer(
    "threads", 0, "Threads per framework: 1 runs torch (set_num_threads) and XLA (no Eigen "
    "thread pool) on one thread each; 0 keeps both defaults. On a loaded machine torch's OpenMP "
    "threads wait for each other, so there only --threads=1 compares fairly.")

VOCAB, HIDDEN, BATCH, EVAL_BATCH, MAX_LENGTH, BEAM, ALPHA = 2000, 128, 64, 128, 100, 5, 0.6


def data():
    """(training batches, decoding batches, BOS, EOS): the same arrays for both frameworks."""
    from rnnjax.data.padded import PaddedBatches
    from rnnjax.data.parallel import encode_pairs, load_pairs, train_tokenizer

    pairs = load_pairs("trans_de_en", direction="en-de")
    train = pairs["train"]
    source = train_tokenizer("bpe", [p.source for p in train], VOCAB)
    target = train_tokenizer("bpe", [p.target for p in train], VOCAB)
    examples = {}
    for split, limit in (("train", 48), ("valid", 10**9)):
        src, tgt, _ = encode_pairs(pairs[split], source, target, max_length=limit,
                                   too_long="drop", origin=split)
        examples[split] = {"source": src, "target": tgt}
    batches = PaddedBatches(examples["train"], BATCH, shuffle=True, seed=0)
    steps = [batches.batch(0, i) for i in range(_STEPS.value)]
    valid = {k: v[: _SENTENCES.value] for k, v in examples["valid"].items()}
    decode = list(PaddedBatches(valid, EVAL_BATCH, shuffle=False).iter_epoch())
    return steps, decode, target.bos_id, target.eos_id


def tokens(batch) -> int:
    return int(((batch["target_lengths"] - 1) * batch["weight"]).sum())


def timed(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - start


def run_rnnjax(steps, decode, bos, eos) -> dict:
    import jax
    import optax
    from flax import nnx

    from rnnjax.models import Seq2Seq
    from rnnjax.models.decoding import beam_search, greedy_decode

    model = Seq2Seq(VOCAB, VOCAB, rngs=nnx.Rngs(0), embed_size=HIDDEN, hidden_size=HIDDEN)
    graphdef, params = nnx.split(model)
    tx = optax.chain(optax.clip_by_global_norm(5.0), optax.adam(1e-3))
    state = {"params": params, "opt": tx.init(params)}

    def loss(params, batch):
        target = batch["target"]
        logits, _ = nnx.merge(graphdef, params)(batch["source"], batch["source_lengths"],
                                                target[:, :-1])
        mask = jax.numpy.arange(target.shape[1] - 1) < batch["target_lengths"][:, None] - 1
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, target[:, 1:])
        return (nll * mask).sum() / mask.sum()

    @jax.jit
    def train_step(params, opt, batch):
        grads = jax.grad(loss)(params, batch)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), opt

    def step(batch):
        state["params"], state["opt"] = train_step(state["params"], state["opt"], batch)
        jax.block_until_ready(state["params"])

    timed(step, steps)  # compile every shape
    train_s = timed(step, steps)
    model = nnx.merge(graphdef, state["params"])
    ids = {"max_length": MAX_LENGTH, "bos_id": bos, "eos_id": eos}
    greedy = lambda b: greedy_decode(model, b["source"], b["source_lengths"], **ids)  # noqa: E731
    beam = lambda b: beam_search(model, b["source"], b["source_lengths"],  # noqa: E731
                                 beam_size=BEAM, alpha=ALPHA, **ids)
    timed(greedy, decode)
    greedy_s = timed(greedy, decode)
    timed(beam, decode)
    beam_s = timed(beam, decode)
    return {"train_s": train_s, "greedy_s": greedy_s, "beam_s": beam_s}


def run_torch(steps, decode, bos, eos) -> dict:
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    if _THREADS.value:
        torch.set_num_threads(_THREADS.value)

    class TorchSeq2Seq(nn.Module):
        """The same equations as rnnjax.models.Seq2Seq with the baseline's options."""

        def __init__(self):
            super().__init__()
            self.source_embed = nn.Embedding(VOCAB, HIDDEN)
            self.target_embed = nn.Embedding(VOCAB, HIDDEN)
            self.encoder = nn.GRU(HIDDEN, HIDDEN, 2, batch_first=True, bidirectional=True)
            self.bridge = nn.Linear(2 * HIDDEN, 2 * HIDDEN)
            self.decoder = nn.GRU(HIDDEN, HIDDEN, 2, batch_first=True)
            self.attention = nn.Linear(2 * HIDDEN, HIDDEN, bias=False)  # general: q^T W m
            self.combine = nn.Linear(3 * HIDDEN, HIDDEN, bias=False)
            self.out = nn.Linear(HIDDEN, VOCAB)

        def encode(self, source, lengths):
            packed = pack_padded_sequence(self.source_embed(source), lengths, batch_first=True,
                                          enforce_sorted=False)
            states, final = self.encoder(packed)
            states, _ = pad_packed_sequence(states, batch_first=True,
                                            total_length=source.shape[1])
            top = torch.cat([final[-2], final[-1]], -1)  # the top layer's two directions
            carry = torch.tanh(self.bridge(top)).view(-1, 2, HIDDEN).transpose(0, 1)
            mask = torch.arange(source.shape[1])[None] < lengths[:, None]
            return states, self.attention(states), mask, carry.contiguous()

        def decode(self, memory, tokens, carry):
            states, keys, mask, _ = memory
            h, carry = self.decoder(self.target_embed(tokens), carry)
            scores = torch.einsum("btk,bsk->bts", h, keys).masked_fill(~mask[:, None], -1e30)
            context = torch.einsum("bts,bsm->btm", scores.softmax(-1), states)
            return self.out(torch.tanh(self.combine(torch.cat([context, h], -1)))), carry

    model = TorchSeq2Seq()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    tensors = [{k: torch.from_numpy(v).long() for k, v in b.items() if k != "weight"}
               for b in steps]

    def step(batch):
        optimizer.zero_grad(set_to_none=True)
        target = batch["target"]
        memory = model.encode(batch["source"], batch["source_lengths"])
        logits, _ = model.decode(memory, target[:, :-1], memory[3])
        mask = torch.arange(target.shape[1] - 1)[None] < batch["target_lengths"][:, None] - 1
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), target[:, 1:],
                                          reduction="none")
        ((nll * mask).sum() / mask.sum()).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()

    timed(step, tensors)
    train_s = timed(step, tensors)

    @torch.no_grad()
    def greedy(batch):
        source, lengths = (torch.from_numpy(batch[k]).long() for k in ("source",
                                                                       "source_lengths"))
        memory = model.encode(source, lengths)
        carry, last = memory[3], torch.full((source.shape[0], 1), bos)
        done = torch.zeros(source.shape[0], dtype=torch.bool)
        for _ in range(MAX_LENGTH):
            logits, carry = model.decode(memory, last, carry)
            last = logits.argmax(-1)
            done |= last[:, 0] == eos
            if done.all():
                break

    timed(greedy, decode)
    return {"train_s": train_s, "greedy_s": timed(greedy, decode)}


def child(name: str) -> dict:
    if _THREADS.value == 1:  # before jax is imported
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                                   "=false intra_op_parallelism_threads=1")
    steps, decode, bos, eos = data()
    result = (run_rnnjax if name == "rnnjax" else run_torch)(steps, decode, bos, eos)
    result["tokens"] = sum(map(tokens, steps))
    result["sentences"] = sum(int(b["weight"].sum()) for b in decode)
    return result


def main(argv):
    del argv
    if _CHILD.value:
        print(json.dumps(child(_CHILD.value)))
        return
    load = [os.getloadavg()[0]]
    rounds: dict[str, list[dict]] = {"rnnjax": [], "torch": []}
    for _ in range(_ROUNDS.value):
        for name in rounds:
            command = [sys.executable, "-m", "benchmarks.seq2seq_cpu", f"--child={name}",
                       f"--steps={_STEPS.value}", f"--sentences={_SENTENCES.value}",
                       f"--threads={_THREADS.value}"]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            rounds[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{name}: {rounds[name][-1]}", file=sys.stderr)
    load.append(os.getloadavg()[0])
    median = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
              for name, runs in rounds.items()}
    jx, th = median["rnnjax"], median["torch"]
    rows = [
        ("training, target tokens/s", jx["tokens"] / jx["train_s"], th["tokens"] / th["train_s"]),
        ("greedy decoding, sentences/s", jx["sentences"] / jx["greedy_s"],
         th["sentences"] / th["greedy_s"]),
        (f"beam {BEAM} decoding, sentences/s", jx["sentences"] / jx["beam_s"], None),
    ]
    table = ["| measure | rnnjax | torch | rnnjax / torch |", "|---|---|---|---|"]
    table += [f"| {label} | {a:,.0f} | {'-' if b is None else f'{b:,.0f}'} | "
              f"{'-' if b is None else f'{a / b:.2f}x'} |" for label, a, b in rows]
    table.append(f"| beam {BEAM} / greedy time (rnnjax) | {jx['beam_s'] / jx['greedy_s']:.2f}x "
                 "| | |")
    text = "\n".join(table)
    print(text)
    os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
    with open(_OUT.value, "w") as f:
        json.dump({"machine": machine(), "command": " ".join(sys.argv),
                   "threads": _THREADS.value or "default", "medians": median,
                   "rounds": rounds, "load_average_1min": load, "table": text}, f, indent=1)


if __name__ == "__main__":
    keep_freed_memory()
    app.run(main)
