"""Neural Programmer (Neelakantan, Le & Sutskever, ICLR 2016, "Neural Programmer: Inducing
Latent Programs with Gradient Descent", section 2): a question RNN, a selector that picks an
operation and a column softly at each of T steps, a history RNN over those choices, and
built-in operations on a table whose results are mixed by the selection weights.

Question module (section 2, "Question module"): the words w_1..w_Q of the question (its numbers
replaced by ``<num>``) are embedded, V(w_i), and read by an RNN, z_i = RNN(z_{i-1}, V(w_i))
(``rnnjax.layers.RNN``, any ``rnnjax.cells.make_cell`` kind; the paper's tanh RNN is
``elman_tanh``); the question vector is q = z_Q. The hidden vectors of the words left of the
question's numbers, Z = [z_{left(1)}, ...], choose the pivot numbers below.

Selector (section 2, "Selector"): with U [O, d] the operations' embeddings and P [C, d] the
embeddings of the table's column names (the question's word embeddings of those names),

    alpha_op_t  = softmax(U tanh(W_op [q; h_t]))         over the O operations,
    alpha_col_t = softmax(P tanh(W_col [q; h_t]))        over the C columns.

History RNN (section 2, "History RNN"): c_t = [alpha_op_{t-1}^T U; alpha_col_{t-1}^T P] (c_0 = 0)
and h_t = RNN(h_{t-1}, c_t) (the paper: tanh(W_history [c_t; h_{t-1}])).

Operations (section 2, "Operations", the paper's table of definitions), at step t on the table
X [M, C], the row selector rs_{t-1} [M] (rs_0 = 1: every row) and the scalar outputs s:

    sum_t[j]   = sum_i rs_{t-1}[i] X[i, j]          count_t = sum_i rs_{t-1}[i]
    diff_t     = s_{t-3} - s_{t-1}
    greater_t[i, j] = X[i, j] > pivot_g             lesser_t[i, j] = X[i, j] < pivot_l
    select_t[i, j]  = X[i, j] == pivot_s            (the paper's text match, on numbers)
    and_t[i]   = min(rs_{t-1}[i], rs_{t-2}[i])      or_t[i] = max(rs_{t-1}[i], rs_{t-2}[i])
    first_t[i] = max(0, rs_{t-1}[i] - sum_{k<i} rs_{t-1}[k])     (last_t: sum over k > i)
    reset_t[i] = 1                                  print_t[i, j] = rs_{t-1}[i]

(``assign`` in the paper's first version is ``print`` here). Their results are mixed by the
selection (section 2, "Output and row selector"):

    s_t  = alpha_op(sum) sum_j alpha_col[j] sum_t[j] + alpha_op(count) count_t
           + alpha_op(diff) diff_t
    rs_t = sum_j alpha_col[j] (alpha_op(greater) greater_t[:, j] + alpha_op(lesser) lesser_t[:, j]
           + alpha_op(select) select_t[:, j]) + alpha_op(and) and_t + alpha_op(or) or_t
           + alpha_op(first) first_t + alpha_op(last) last_t + alpha_op(reset) reset_t
    lookup_t[i, j] = alpha_op(print) alpha_col[j] print_t[i, j]

and the answer is s_T or lookup_T. Pivots: beta_op = softmax_k(U_op . W_z z_{left(k)}) over the
question's numbers qn_k (W_z a linear map; the paper has Z and U of one size and no map) and
pivot_op = sum_k beta_op(k) qn_k. So that beta receives a gradient, each comparison is made with
every number and weighted by beta, greater_t[i, j] = sum_k beta_g(k) [X[i, j] > qn_k]: the
paper's comparison with pivot_g whenever beta is one-hot. With one-hot selections (``hard=True``,
argmax of every softmax: the inference of section 3) every mix is exactly one operation, so the
model executes a discrete program.

Loss (section 2, "Training objective"): Huber on scalar answers, L_scalar = a^2 / 2 for a =
|s_T - y| <= delta, else delta a - delta^2 / 2; log-loss on lookup answers, L_lookup =
-(1 / MC) sum_ij [y_ij log lookup_T[i, j] + (1 - y_ij) log(1 - lookup_T[i, j])]; per question
(1 - n) L_scalar + n lambda L_lookup with n = 1 for lookup questions (:func:`programmer_loss`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.cells import make_cell
from rnnjax.layers import RNN
from rnnjax.validation import check_choices, check_positive_int

Array = jax.Array

#: the built-in operations, in the order of U's rows
OPERATIONS = ("sum", "count", "difference", "greater", "lesser", "and", "or", "select",
              "first", "last", "print", "reset")
#: operations that compare the table with a pivot number, in the order of ``comparisons``
PIVOT_OPERATIONS = ("greater", "lesser", "select")
#: the logit of a choice that is not allowed (an unused operation, a missing number)
MASKED_LOGIT = -1e9
#: clip of lookup probabilities inside the log-loss
LOOKUP_EPSILON = 1e-6


class Memory(NamedTuple):
    """What the operations of step t read: s_{t-1}, s_{t-2}, s_{t-3} [B] and rs_{t-1},
    rs_{t-2} [B, M]."""

    scalars: tuple[Array, Array, Array]
    rows: tuple[Array, Array]


class Program(NamedTuple):
    """A run of the model: the answers and the selections it made."""

    scalar: Array  # [B] s_T
    lookup: Array  # [B, M, C] lookup_T
    operations: Array  # [B, T, O] alpha_op_t
    columns: Array  # [B, T, C] alpha_col_t


def initial_memory(batch: int, rows: int, dtype: Any = jnp.float32) -> Memory:
    """Before step 1: scalar outputs 0, every row selected."""
    zero, ones = jnp.zeros((batch,), dtype), jnp.ones((batch, rows), dtype)
    return Memory((zero, zero, zero), (ones, ones))


def comparisons(table: Array, numbers: Array, pivots: Array) -> Array:
    """[B, 3, M, C]: for each of ``PIVOT_OPERATIONS``, sum_k pivots[b, op, k] [X[i, j] op qn_k].

    table [B, M, C], numbers [B, K], pivots [B, 3, K] (beta_op over the question's numbers).
    """
    x, qn = table[:, :, :, None], numbers[:, None, None, :]
    tests = jnp.stack([x > qn, x < qn, x == qn], axis=1).astype(table.dtype)  # [B, 3, M, C, K]
    return jnp.einsum("bomck,bok->bomc", tests, pivots)


def execute_step(table: Array, compared: Array, operation: Array, column: Array,
                 memory: Memory) -> tuple[Memory, Array]:
    """One step of the operations mixed by the selection (module docstring).

    table [B, M, C], compared [B, 3, M, C] (``comparisons``), operation [B, O] (alpha_op over
    ``OPERATIONS``), column [B, C] (alpha_col), memory before the step -> (memory after it,
    lookup_t [B, M, C]).
    """
    weight = dict(zip(OPERATIONS, jnp.unstack(operation, axis=-1), strict=True))
    rows, rows_before = memory.rows
    last_scalar, _, third_scalar = memory.scalars
    column_sums = jnp.einsum("bm,bmc->bc", rows, table)
    scalar = (weight["sum"] * jnp.sum(column * column_sums, axis=-1)
              + weight["count"] * jnp.sum(rows, axis=-1)
              + weight["difference"] * (third_scalar - last_scalar))
    by_column = jnp.einsum("bc,bomc->bom", column, compared)  # [B, 3, M]
    before = jnp.cumsum(rows, axis=-1) - rows
    after = jnp.sum(rows, axis=-1, keepdims=True) - jnp.cumsum(rows, axis=-1)
    parts = {"greater": by_column[:, 0], "lesser": by_column[:, 1], "select": by_column[:, 2],
             "and": jnp.minimum(rows, rows_before), "or": jnp.maximum(rows, rows_before),
             "first": jax.nn.relu(rows - before), "last": jax.nn.relu(rows - after),
             "reset": jnp.ones_like(rows)}
    new_rows = sum(weight[name][:, None] * part for name, part in parts.items())
    lookup = weight["print"][:, None, None] * rows[:, :, None] * column[:, None, :]
    return Memory((scalar, last_scalar, memory.scalars[1]), (new_rows, rows)), lookup


def execute(table: Array, compared: Array, operations: Array, columns: Array
            ) -> tuple[Array, Array]:
    """Run T steps of given selections operations [B, T, O], columns [B, T, C] from the
    initial memory: (s_T [B], lookup_T [B, M, C])."""
    memory = initial_memory(table.shape[0], table.shape[1], table.dtype)
    lookup = jnp.zeros_like(table)
    for t in range(operations.shape[1]):
        memory, lookup = execute_step(table, compared, operations[:, t], columns[:, t], memory)
    return memory.scalars[0], lookup


def huber(error: Array, delta: float) -> Array:
    """a^2 / 2 where |a| <= delta, else delta |a| - delta^2 / 2 (elementwise)."""
    a = jnp.abs(error)
    return jnp.where(a <= delta, 0.5 * a * a, delta * a - 0.5 * delta * delta)


def programmer_loss(program: Program, scalar_answer: Array, lookup_answer: Array,
                    is_lookup: Array, *, delta: float, lookup_weight: float) -> Array:
    """Per question [B]: (1 - n) Huber(s_T - y) + n lambda L_lookup (module docstring)."""
    p = jnp.clip(program.lookup, LOOKUP_EPSILON, 1.0 - LOOKUP_EPSILON)
    log_loss = -jnp.mean(lookup_answer * jnp.log(p) + (1.0 - lookup_answer) * jnp.log1p(-p),
                         axis=(1, 2))
    return ((1.0 - is_lookup) * huber(program.scalar - scalar_answer, delta)
            + is_lookup * lookup_weight * log_loss)


def correct_answers(program: Program, scalar_answer: Array, lookup_answer: Array,
                    is_lookup: Array) -> Array:
    """[B] bool: the answer of a (hard) program is right. The answer is a lookup when the last
    step prints (else the scalar); a scalar is right within 0.5 of the integer answer, a lookup
    when its entries above 0.5 are exactly the marked ones."""
    prints = jnp.argmax(program.operations[:, -1], axis=-1) == OPERATIONS.index("print")
    scalar_right = jnp.abs(program.scalar - scalar_answer) < 0.5
    lookup_right = jnp.all((program.lookup > 0.5) == (lookup_answer > 0.5), axis=(1, 2))
    return jnp.where(is_lookup > 0.5, prints & lookup_right, ~prints & scalar_right)


class NeuralProgrammer(nnx.Module):
    """The model of the module docstring; ``operations`` restricts the softmax to a subset of
    ``OPERATIONS`` (the others get weight 0)."""

    def __init__(self, vocab_size: int, *, rngs: nnx.Rngs, cell: str = "elman_tanh",
                 history_cell: str = "elman_tanh", hidden_size: int = 64, steps: int = 4,
                 operations: tuple[str, ...] | list[str] = OPERATIONS, impl: str = "auto",
                 cell_kwargs: dict[str, Any] | None = None):
        where = "NeuralProgrammer"
        vocab_size = check_positive_int(where, "vocab_size", vocab_size)
        d = check_positive_int(where, "hidden_size", hidden_size)
        self.steps = check_positive_int(where, "steps", steps)
        allowed = check_choices(where, "operations", operations, OPERATIONS)
        self.allowed = tuple(op in allowed for op in OPERATIONS)
        cell_kwargs = dict(cell_kwargs or {})
        self.embed = nnx.Embed(vocab_size, d, rngs=rngs)
        self.question_rnn = RNN(make_cell(cell, d, d, rngs=rngs, **cell_kwargs), impl=impl)
        self.history_rnn = RNN(make_cell(history_cell, 2 * d, d, rngs=rngs, **cell_kwargs),
                               impl=impl)
        selector_in = self.question_rnn.output_size + self.history_rnn.output_size
        normal = nnx.initializers.normal(stddev=d ** -0.5)
        self.operation_embeddings = nnx.Param(normal(rngs.params(), (len(OPERATIONS), d)))
        self.operation_selector = nnx.Linear(selector_in, d, rngs=rngs)
        self.column_selector = nnx.Linear(selector_in, d, rngs=rngs)
        self.number_keys = nnx.Linear(self.question_rnn.output_size, d, use_bias=False,
                                      rngs=rngs)

    def __call__(self, table: Array, column_names: Array, question: Array, length: Array,
                 numbers: Array, number_positions: Array, number_mask: Array, *,
                 hard: bool = False) -> Program:
        """Answer one question per table (``rnnjax.data.table_questions.TableQuestions``'s
        fields); ``hard``: argmax selections, a discrete program."""
        z, _ = self.question_rnn(self.embed(question), seq_lengths=length)  # [B, Q, H]
        batch = jnp.arange(z.shape[0])
        q = z[batch, length - 1]
        left = z[batch[:, None], number_positions]  # [B, K, H]
        u = self.operation_embeddings[...]
        pivot_rows = u[jnp.array([OPERATIONS.index(op) for op in PIVOT_OPERATIONS])]
        scores = jnp.einsum("od,bkd->bok", pivot_rows, self.number_keys(left))
        pivots = _softmax(scores, number_mask[:, None, :] > 0, hard)
        compared = comparisons(table, numbers, pivots)
        names = self.embed(column_names)  # [B, C, d]
        carry = self.history_rnn.initial_carry(table.shape[0])
        previous = jnp.zeros((table.shape[0], 2 * u.shape[1]), z.dtype)
        allowed = jnp.array(self.allowed)[None, :]
        chosen_operations, chosen_columns = [], []
        for _ in range(self.steps):  # the selections never read the table: run them first
            h, carry = self.history_rnn.step(previous, carry)
            state = jnp.concatenate([q, h], axis=-1)
            operation = _softmax(jnp.tanh(self.operation_selector(state)) @ u.T, allowed, hard)
            column = _softmax(jnp.einsum("bcd,bd->bc", names, jnp.tanh(
                self.column_selector(state))), jnp.ones(names.shape[:2], bool), hard)
            previous = jnp.concatenate([operation @ u, jnp.einsum("bc,bcd->bd", column, names)],
                                       axis=-1)
            chosen_operations.append(operation)
            chosen_columns.append(column)
        operations = jnp.stack(chosen_operations, axis=1)
        columns = jnp.stack(chosen_columns, axis=1)
        return Program(*execute(table, compared, operations, columns), operations, columns)


def _softmax(logits: Array, allowed: Array, hard: bool) -> Array:
    """Softmax over the last axis restricted to ``allowed`` (bool, broadcast), or with ``hard``
    the one-hot of the allowed argmax. Rows with nothing allowed (a question without numbers)
    are all zero, with finite gradients."""
    logits = jnp.where(allowed, logits, MASKED_LOGIT)
    if hard:
        weights = jax.nn.one_hot(jnp.argmax(logits, axis=-1), logits.shape[-1],
                                 dtype=logits.dtype)
    else:
        weights = jax.nn.softmax(logits, axis=-1)
    return weights * jnp.any(allowed, axis=-1, keepdims=True)
