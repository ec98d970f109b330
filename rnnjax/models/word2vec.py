"""Skip-gram with negative sampling (SGNS; Mikolov et al. 2013b), trained with sparse SGD.

For a context word c (input vector v_c) and a centre word o (output vector u_o) with noise words
k_1..k_K, the loss is (eq. 4 of Mikolov et al. 2013b, as a loss):

    L(c, o) = -log sigmoid(v_c . u_o) - sum_j w_j log sigmoid(-v_c . u_{k_j})

(w_j = 0 skips a noise word equal to o, as word2vec.c does). An update touches few rows of the two
[V, D] matrices, so it gathers them, differentiates the summed loss of its pairs with respect to
the gathered rows and scatter-adds ``-lr * gradient`` back: the same result as SGD with the dense
gradient of the summed loss (zero outside the gathered rows; a row gathered several times gets the
sum of its gradients), at a cost proportional to the pairs rather than the vocabulary.

word2vec.c updates after every pair (Hogwild threads); summing the gradients of many pairs into
one update multiplies the step of frequent rows (a frequent noise word appears hundreds of times
in 16k pairs) and diverges at word2vec's learning rate. A host batch is therefore applied as a
``lax.scan`` of sequential updates of ``pairs_per_update`` pairs (e.g. 64): close to word2vec's
sequential SGD, one compiled call per batch, and the gathered rows of an update stay in cache.
Initialisation: input vectors U[-r/D, r/D] with r = ``init_range``, output vectors zero. The
default r = 1 is gensim 4's (``prep_vectors`` draws U[-1/D, 1/D)); word2vec.c's is r = 0.5. On
enwiki_text r = 1 scored higher than r = 0.5 on analogies, WordSim-353 and SimLex-999 with each
of 3 seeds (experiments/word2vec/README.md, "Ablation against gensim's algorithm").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.validation import check_positive_int, fail


def sgns_loss(input_rows: jax.Array, output_rows: jax.Array, weights: jax.Array) -> jax.Array:
    """Per-pair SGNS loss [B] of input vectors [B, D] against output vectors [B, 1 + K, D]
    (the positive first, then the noise words) with weights [B, 1 + K]."""
    scores = jnp.einsum("bd,btd->bt", input_rows, output_rows)
    signs = jnp.where(jnp.arange(scores.shape[1]) == 0, 1.0, -1.0)
    return -(weights * jax.nn.log_sigmoid(signs * scores)).sum(-1)


class SkipGram(nnx.Module):
    """word2vec's two embedding matrices: ``input_vectors`` (the word vectors) and
    ``output_vectors`` (word2vec.c's syn1neg)."""

    def __init__(self, vocab_size: int, dim: int, *, rngs: nnx.Rngs, init_range: float = 1.0):
        vocab_size = check_positive_int("SkipGram", "vocab_size", vocab_size)
        dim = check_positive_int("SkipGram", "dim", dim)
        if isinstance(init_range, bool) or not isinstance(init_range, int | float) or not (
                init_range > 0):
            fail("SkipGram", "init_range", "a number > 0", repr(init_range))
        bound = init_range / dim
        self.input_vectors = nnx.Param(jax.random.uniform(
            rngs.params(), (vocab_size, dim), jnp.float32, -bound, bound))
        self.output_vectors = nnx.Param(jnp.zeros((vocab_size, dim), jnp.float32))

    def __call__(self, inputs: jax.Array, targets: jax.Array, weights: jax.Array) -> jax.Array:
        """Per-pair loss [B] of context ids [B] against target ids [B, 1 + K]."""
        return sgns_loss(self.input_vectors[...][inputs], self.output_vectors[...][targets],
                         weights)

    def sparse_sgd_update(self, inputs: jax.Array, targets: jax.Array, weights: jax.Array,
                          learning_rate: jax.Array, pairs_per_update: int | None = None
                          ) -> jax.Array:
        """SGD on the batch's summed loss, touching only the batch's rows (in place on this
        module), in sequential updates of ``pairs_per_update`` pairs (None: one update); returns
        the mean loss of the weighted pairs, each measured before its update."""
        size = inputs.shape[0]
        chunk = size if pairs_per_update is None else pairs_per_update
        if size % chunk:
            fail("SkipGram.sparse_sgd_update", "the batch size", f"a multiple of "
                 f"pairs_per_update ({chunk})", size)

        def update(matrices, pieces):
            input_vectors, output_vectors = matrices
            inputs, targets, weights = pieces
            total, (input_grad, output_grad) = jax.value_and_grad(
                lambda v, u: sgns_loss(v, u, weights).sum(), argnums=(0, 1))(
                    input_vectors[inputs], output_vectors[targets])
            return (input_vectors.at[inputs].add(-learning_rate * input_grad),
                    output_vectors.at[targets].add(-learning_rate * output_grad)), total

        pieces = jax.tree.map(lambda x: x.reshape(size // chunk, chunk, *x.shape[1:]),
                              (inputs, targets, weights))
        (input_vectors, output_vectors), totals = jax.lax.scan(
            update, (self.input_vectors[...], self.output_vectors[...]), pieces)
        self.input_vectors.set_value(input_vectors)
        self.output_vectors.set_value(output_vectors)
        return totals.sum() / jnp.maximum(weights[:, 0].sum(), 1.0)


def make_sparse_train_step(graphdef: Any, pairs_per_update: int | None = None) -> Callable:
    """The harness's step for a ``SkipGram``: jit(params, opt_state, state, batch, key, lr) ->
    (params, opt_state, state, mean loss), with batch = {"inputs", "targets", "weights"}
    (``rnnjax.data.skipgram.SkipGramBatches``) applied in updates of ``pairs_per_update`` pairs;
    the optimiser state and the carried state pass through unchanged and the parameters are
    updated in place (donated)."""

    def train_step(params: Any, opt_state: Any, state: Any, batch: Mapping[str, jax.Array],
                   key: jax.Array, lr: jax.Array) -> tuple[Any, Any, Any, jax.Array]:
        del key
        model = nnx.merge(graphdef, params)
        loss = model.sparse_sgd_update(batch["inputs"], batch["targets"], batch["weights"], lr,
                                       pairs_per_update)
        return nnx.state(model), opt_state, state, loss

    return jax.jit(train_step, donate_argnums=(0,))  # the harness's name, in compile logs
