"""``train_and_evaluate``: a language model trained with truncated backpropagation through time.

Each epoch walks the training stream in [batch, bptt] chunks (``rnnjax.data.LMBatches``). The
recurrent carry flows from chunk to chunk with its gradient stopped and is reset at the start of
every epoch; evaluation carries the state through the whole valid/test stream. The loss is the
token NLL; with ``loss_sum_over_time`` the optimised objective is sum over time of the batch mean
(Zaremba et al. 2014's ``ptb_word_lm``, which their lr 1 and clip 5 assume). The dropout key of
step s is fold_in(key, s), so a run resumed from a checkpoint repeats an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm
from absl import logging
from flax import nnx

from rnnjax.data import LMBatches, Vocab, load_corpus
from rnnjax.models import make_model
from rnnjax.models.sampling import sample_text
from rnnjax.train import sharding
from rnnjax.train.checkpoint import CONFIG_FILE, VOCAB_FILE, Checkpointer
from rnnjax.train.metrics import MetricWriter, machine, read_metrics, summarize_nll
from rnnjax.train.optim import learning_rate, make_optimizer
from rnnjax.validation import check_positive_int, fail

RESULTS_FILE = "results.json"
_WHERE = "train_and_evaluate"


def check_config(config: ml_collections.ConfigDict) -> None:
    """Raise on a bad top-level or data field (model and optimiser fields: where they are used)."""
    for name in ("num_epochs", "log_every_steps", "checkpoint_every_steps"):
        check_positive_int(_WHERE, f"config.{name}", config[name])
    for name in ("batch_size", "bptt", "eval_batch_size", "eval_bptt"):
        check_positive_int(_WHERE, f"config.data.{name}", config.data[name])
    steps = config.steps_per_epoch
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        fail(_WHERE, "config.steps_per_epoch", "an int >= 0 (0 = whole epochs)", repr(steps))
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        fail(_WHERE, "config.seed", "an int >= 0", repr(config.seed))


def make_train_step(graphdef: Any, tx: optax.GradientTransformation, sum_over_time: bool,
                    mesh: jax.sharding.Mesh) -> Callable:
    """jit(params, opt_state, carry, inputs, targets, key, lr) -> (params, opt_state, carry,
    loss): one SGD-family update on one chunk."""

    def objective(params, carry, inputs, targets, key):
        logits, carry = nnx.merge(graphdef, params)(inputs, carry, dropout_key=key)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return (nll.mean(0).sum() if sum_over_time else nll.mean()), (nll.mean(), carry)

    def step(params, opt_state, carry, inputs, targets, key, lr):
        grads, (loss, carry) = jax.grad(objective, has_aux=True)(params, carry, inputs, targets,
                                                                  key)
        opt_state.hyperparams["learning_rate"] = jnp.asarray(lr, jnp.float32)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, jax.lax.stop_gradient(carry),
                loss)

    replicated, batched = sharding.replicated(mesh), sharding.batch_sharding(mesh)
    return jax.jit(step, donate_argnums=(0, 1, 2),
                   out_shardings=(replicated, replicated, batched, replicated))


def make_eval_step(graphdef: Any, mesh: jax.sharding.Mesh) -> Callable:
    """jit(params, carry, inputs, targets, length) -> (NLL in nats summed over the first
    ``length`` steps, carry)."""

    def step(params, carry, inputs, targets, length):
        logits, carry = nnx.merge(graphdef, params)(inputs, carry)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return jnp.where(jnp.arange(inputs.shape[1]) < length, nll, 0.0).sum(), carry

    replicated, batched = sharding.replicated(mesh), sharding.batch_sharding(mesh)
    return jax.jit(step, donate_argnums=(1,), out_shardings=(replicated, batched))


def evaluate(eval_step: Callable, params: Any, model: nnx.Module, ids: np.ndarray,
             batch_size: int, bptt: int, mesh: jax.sharding.Mesh) -> float:
    """Mean NLL per token of the stream ``ids``, carrying the state through all of it.

    A shorter last chunk is padded to ``bptt`` (and its padding not scored), so that one
    compiled step serves every chunk.
    """
    batches = LMBatches(ids, batch_size, bptt)
    carry = sharding.shard_batch(model.initial_carry(batch_size), mesh)
    sums, count = [], 0
    for inputs, targets in batches.iter_epoch(0):
        length = inputs.shape[1]
        pad = ((0, 0), (0, bptt - length))
        chunk = sharding.shard_batch((np.pad(inputs, pad), np.pad(targets, pad)), mesh)
        nll, carry = eval_step(params, carry, *chunk, length)
        sums.append(nll)
        count += targets.size
    return float(sum(sums)) / count


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically, so a killed run never leaves half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


def _describe(split: str, nll: float, level: str) -> str:
    """'valid bpc 2.104' at char level (nats / ln 2), else 'valid ppl 120.70' (exp of nats)."""
    if level == "char":
        return f"{split} bpc {nll / math.log(2.0):.3f}"
    return f"{split} ppl {math.exp(min(nll, 700.0)):.2f}"


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | os.PathLike
                       ) -> dict[str, Any]:
    """Train ``config`` in ``workdir`` (resuming from its latest checkpoint); return the results."""
    check_config(config)
    tx = make_optimizer(config.optim)
    workdir = Path(workdir)
    main = jax.process_index() == 0
    if main:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / CONFIG_FILE).write_text(config.to_json_best_effort(indent=2) + "\n")
    data, started = config.data, time.perf_counter()
    vocab_path = workdir / VOCAB_FILE
    corpus = load_corpus(data.corpus, data_dir=data.data_dir, path=data.path, level=data.level,
                         max_vocab=data.max_vocab,
                         vocab=Vocab.load(vocab_path) if vocab_path.is_file() else None)
    vocab, level = corpus.vocab, corpus.vocab.level
    if main:
        vocab.save(vocab_path)
    mesh = sharding.make_mesh()
    sharding.check_divisible(_WHERE, "config.data.batch_size", data.batch_size, mesh)
    sharding.check_divisible(_WHERE, "config.data.eval_batch_size", data.eval_batch_size, mesh)

    init_key, dropout_key, sample_key = jax.random.split(jax.random.PRNGKey(config.seed), 3)

    def init(key: jax.Array) -> Any:
        return nnx.split(make_model(config.model, len(vocab), rngs=nnx.Rngs(params=key)))[1]

    # One compiled program for the whole initialisation, laid out replicated on the mesh.
    params = jax.jit(init, out_shardings=sharding.replicated(mesh))(init_key)
    graphdef = nnx.graphdef(nnx.eval_shape(lambda: make_model(config.model, len(vocab),
                                                              rngs=nnx.Rngs(0))))
    model = nnx.merge(graphdef, params)
    train_batches = LMBatches(corpus.train_ids, data.batch_size, data.bptt,
                              random_bptt=data.random_bptt, seed=config.seed, drop_last=True)
    state = {"opt_state": sharding.replicate(tx.init(params), mesh),
             "carry": sharding.shard_batch(model.initial_carry(data.batch_size), mesh),
             "rng": sharding.replicate(dropout_key, mesh), "step": 0, "epoch": 0, "batch": 0,
             "epoch_nll": 0.0, "epoch_tokens": 0, "train_seconds": 0.0, "wall_seconds": 0.0}
    checkpointer = Checkpointer(workdir)
    if checkpointer.latest_step() is not None:
        params, state = checkpointer.restore(params, state)
        logging.info("resumed from step %d (epoch %d, batch %d)", state["step"],
                     state["epoch"] + 1, state["batch"])
    writer = MetricWriter(workdir, enabled=main)
    writer.truncate_after(state["step"])
    started -= state["wall_seconds"]
    train_step = make_train_step(graphdef, tx, config.loss_sum_over_time, mesh)
    eval_step = make_eval_step(graphdef, mesh)

    def evaluate_split(params: Any, ids: np.ndarray) -> float:
        return evaluate(eval_step, params, model, ids, data.eval_batch_size, data.eval_bptt, mesh)

    def sample(params: Any) -> str:
        return sample_text(nnx.merge(graphdef, params), vocab, config.sample.prime,
                           config.sample.length, key=sample_key,
                           temperature=config.sample.temperature, top_k=config.sample.top_k)

    def results(status: str, **extra: Any) -> dict[str, Any]:
        epochs = [r for r in read_metrics(workdir) if "valid_loss" in r]
        last = epochs[-1] if epochs else {}
        tokens_per_s = last.get("tokens_per_s")
        return {"status": status, "name": config.get("name", ""), "corpus": data.corpus,
                "level": level, "epochs": state["epoch"], "num_epochs": config.num_epochs,
                "steps": state["step"],
                **{k: v for k, v in last.items() if k.startswith(("train_", "valid_"))},
                **extra, "wall_time_s": round(time.perf_counter() - started, 1),
                "train_tokens_per_s": tokens_per_s, "machine": machine(),
                "command": shlex.join(["python", *getattr(sys, "orig_argv", sys.argv)[1:]]),
                "model": config.model.to_dict(), "optim": config.optim.to_dict()}

    num_epochs, every = config.num_epochs, config.log_every_steps
    while state["epoch"] < num_epochs:
        epoch = state["epoch"]
        lr = learning_rate(config.optim, epoch)
        count = train_batches.num_batches(epoch)
        if config.steps_per_epoch:
            count = min(count, config.steps_per_epoch)
        if state["batch"] == 0:
            state["carry"] = sharding.shard_batch(model.initial_carry(data.batch_size), mesh)
            state["epoch_nll"], state["epoch_tokens"] = 0.0, 0
        bar = tqdm.tqdm(total=count, initial=state["batch"], desc=f"epoch {epoch + 1}/{num_epochs}",
                        unit="batch", disable=None if main else True, dynamic_ncols=True)
        for index in range(state["batch"], count):
            tick = time.perf_counter()
            inputs, targets = train_batches.batch(epoch, index)
            key = jax.random.fold_in(state["rng"], state["step"])
            params, state["opt_state"], state["carry"], loss = train_step(
                params, state["opt_state"], state["carry"],
                *sharding.shard_batch((inputs, targets), mesh), key, lr)
            loss = float(loss)
            state["step"] += 1
            state["batch"] = index + 1
            if not math.isfinite(loss):
                bar.close()
                writer.close()
                fail(_WHERE, "the training loss", "finite", f"{loss} at step {state['step']} "
                     f"(epoch {epoch + 1}, batch {index + 1}); stopped, the last good checkpoint "
                     f"is step {checkpointer.latest_step()} in {checkpointer.directory}",
                     FloatingPointError)
            seconds = time.perf_counter() - tick
            state["train_seconds"] += seconds
            state["epoch_nll"] += loss * targets.size
            state["epoch_tokens"] += targets.size
            bar.update()
            if state["step"] % every == 0 or index + 1 == count:
                speed = targets.size / seconds
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{speed:,.0f}")
                writer.write(state["step"], train_loss=loss, lr=lr, tokens_per_s=speed)
            if state["step"] % config.checkpoint_every_steps == 0 and index + 1 < count:
                state["wall_seconds"] = time.perf_counter() - started
                checkpointer.save(state["step"], params, state)
        bar.close()
        train_nll = state["epoch_nll"] / max(state["epoch_tokens"], 1)
        valid_nll = evaluate_split(params, corpus.valid_ids)
        tokens_per_s = state["epoch_tokens"] / max(state["train_seconds"], 1e-9)
        state.update(epoch=epoch + 1, batch=0, train_seconds=0.0)
        state["wall_seconds"] = time.perf_counter() - started
        writer.write(state["step"], epoch=epoch + 1, lr=lr, tokens_per_s=round(tokens_per_s, 1),
                     **summarize_nll("train", train_nll, level),
                     **summarize_nll("valid", valid_nll, level))
        logging.info("epoch %d/%d: %s | %s | lr %.4g | %.0f tokens/s | %.0f s", epoch + 1,
                     num_epochs, _describe("train", train_nll, level),
                     _describe("valid", valid_nll, level), lr, tokens_per_s,
                     state["wall_seconds"])
        checkpointer.save(state["step"], params, state)
        if main:
            text = sample(params)
            (workdir / "samples").mkdir(exist_ok=True)
            (workdir / "samples" / f"epoch_{epoch + 1:03d}.txt").write_text(text)
            _write_json(workdir / RESULTS_FILE, results("partial"))

    test_nll = evaluate_split(params, corpus.test_ids)
    final = results("complete", **summarize_nll("test", test_nll, level))
    text = sample(params)
    logging.info("done: %s | %s; sample:\n%s", _describe("valid", final.get("valid_loss", math.nan),
                 level), _describe("test", test_nll, level), text)
    if main:
        _write_json(workdir / RESULTS_FILE, final)
    writer.close()
    checkpointer.close()
    return final
