"""The Neural Programmer: each operation with one-hot selections against hand-computed values on
a small table, the reference program of every template against the generator's answers,
float64 gradients of the hand-written mixes, the model's checks, and learning on sums and counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.test_util import check_grads

from rnnjax.data.table_questions import TEMPLATES, VOCABULARY, make_table_questions
from rnnjax.models.neural_programmer import (
    OPERATIONS,
    Memory,
    NeuralProgrammer,
    Program,
    comparisons,
    correct_answers,
    execute,
    execute_step,
    huber,
    programmer_loss,
)

# rows x columns; column 0: 3, -1, 4, 2; column 1: 10, 20, 30, 40
TABLE = jnp.array([[[3.0, 10.0], [-1.0, 20.0], [4.0, 30.0], [2.0, 40.0]]])
ROWS = jnp.array([[1.0, 0.0, 1.0, 1.0]])  # rs_{t-1}: rows 0, 2, 3
ROWS_BEFORE = jnp.array([[0.0, 1.0, 1.0, 0.0]])  # rs_{t-2}: rows 1, 2
MEMORY = Memory((jnp.array([5.0]), jnp.array([7.0]), jnp.array([11.0])), (ROWS, ROWS_BEFORE))
NUMBERS = jnp.array([[2.0, 20.0]])


def _one_hot(name: str) -> jax.Array:
    return jax.nn.one_hot(jnp.array([OPERATIONS.index(name)]), len(OPERATIONS))


def _run(name: str, column: int, pivot: int = 0) -> tuple[Memory, jax.Array]:
    pivots = jax.nn.one_hot(jnp.full((1, 3), pivot), 2)
    compared = comparisons(TABLE, NUMBERS, pivots)
    return execute_step(TABLE, compared, _one_hot(name), jax.nn.one_hot(jnp.array([column]), 2),
                        MEMORY)


@pytest.mark.parametrize("name, column, pivot, scalar", [
    ("sum", 0, 0, 3 + 4 + 2), ("sum", 1, 0, 10 + 30 + 40), ("count", 0, 0, 3),
    ("difference", 0, 0, 11 - 5),
])
def test_scalar_operations(name, column, pivot, scalar):
    memory, lookup = _run(name, column, pivot)
    assert float(memory.scalars[0][0]) == scalar
    np.testing.assert_array_equal(memory.rows[0], 0.0)  # no row selection
    np.testing.assert_array_equal(memory.rows[1], ROWS)  # rs_{t-1} moves back
    assert [float(s[0]) for s in memory.scalars[1:]] == [5.0, 7.0]
    np.testing.assert_array_equal(lookup, 0.0)


@pytest.mark.parametrize("name, column, pivot, rows", [
    ("greater", 0, 0, [1, 0, 1, 0]),  # column 0 > 2
    ("greater", 1, 1, [0, 0, 1, 1]),  # column 1 > 20
    ("lesser", 0, 0, [0, 1, 0, 0]),  # column 0 < 2
    ("lesser", 1, 1, [1, 0, 0, 0]),  # column 1 < 20
    ("select", 0, 0, [0, 0, 0, 1]),  # column 0 == 2
    ("select", 1, 1, [0, 1, 0, 0]),  # column 1 == 20
    ("and", 0, 0, [0, 0, 1, 0]), ("or", 1, 0, [1, 1, 1, 1]),
    ("first", 0, 0, [1, 0, 0, 0]), ("last", 1, 0, [0, 0, 0, 1]), ("reset", 0, 0, [1, 1, 1, 1]),
])
def test_row_operations(name, column, pivot, rows):
    memory, lookup = _run(name, column, pivot)
    np.testing.assert_array_equal(memory.rows[0][0], rows)
    assert float(memory.scalars[0][0]) == 0.0
    np.testing.assert_array_equal(lookup, 0.0)


def test_print_marks_the_selected_rows_of_the_column():
    memory, lookup = _run("print", 1)
    np.testing.assert_array_equal(lookup[0], [[0, 1], [0, 0], [0, 1], [0, 1]])
    assert float(memory.scalars[0][0]) == 0.0


def test_soft_selection_is_the_weighted_mix_of_the_operations():
    weights = jnp.array([[0.5, 0.25, 0.25] + [0.0] * (len(OPERATIONS) - 3)])  # sum, count, diff
    compared = comparisons(TABLE, NUMBERS, jnp.full((1, 3, 2), 0.5))
    memory, _ = execute_step(TABLE, compared, weights, jnp.array([[0.5, 0.5]]), MEMORY)
    assert float(memory.scalars[0][0]) == pytest.approx(0.5 * (9 + 80) / 2 + 0.25 * 3 + 0.25 * 6)


def _programs(batch) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One-hot selections of every question's reference program, read from its own words,
    after leading resets to 6 steps: operations [N, 6, O], columns [N, 6, C], pivots [N, 3, 2]."""
    names, words = list(TEMPLATES), {i: w for w, i in VOCABULARY.items()}
    operations, columns, pivots = [], [], []
    for n in range(len(batch.table)):
        name = names[batch.template[n]]
        question = [words[i] for i in batch.question[n, :batch.length[n]]]
        column_names = [words[i] for i in batch.column_names[n]]
        order = [w[1] for slot in TEMPLATES[name].slots for w in slot[0] if w.startswith("{")]
        roles = dict(zip(order, [column_names.index(w) for w in question if w in column_names],
                         strict=True))
        program = TEMPLATES[name].program
        pad = STEPS - len(program)
        operations.append([OPERATIONS.index("reset")] * pad
                          + [OPERATIONS.index(s.operation) for s in program])
        columns.append([0] * pad + [roles.get(s.column, 0) for s in program])
        numbers = {s.operation: s.number for s in program if s.number >= 0}
        pivots.append([numbers.get(op, 0) for op in ("greater", "lesser", "select")])
    return (jax.nn.one_hot(jnp.array(operations), len(OPERATIONS)),
            jax.nn.one_hot(jnp.array(columns), batch.table.shape[-1]),
            jax.nn.one_hot(jnp.array(pivots), 2))


STEPS = 6


@jax.jit
def _execute_programs(batch, operations, columns, pivots):
    """Correct answers [N] of the programs, and the program run from its last 4 steps."""
    compared = comparisons(batch.table, batch.numbers, pivots)
    answers = (batch.scalar_answer, batch.lookup_answer, batch.is_lookup)
    right = []
    for start in (0, STEPS - 4):  # 6 steps (two more leading resets) and 4
        scalar, lookup = execute(batch.table, compared, operations[:, start:],
                                 columns[:, start:])
        right.append(correct_answers(Program(scalar, lookup, operations, columns), *answers))
    return right


def test_reference_programs_reproduce_the_generator_answers():
    batch = make_table_questions(np.random.default_rng(3), 300, rows=7, columns=3, max_value=9)
    for right in _execute_programs(batch, *_programs(batch)):
        wrong = np.flatnonzero(~np.asarray(right))
        assert wrong.size == 0, [list(TEMPLATES)[batch.template[n]] for n in wrong]


def test_gradients_of_the_mixes_float64():
    rng = np.random.default_rng(0)  # numpy draws: no float64 random program to compile

    def simplex(*shape):
        weights = np.exp(rng.normal(size=shape))
        return weights / weights.sum(-1, keepdims=True)

    with jax.enable_x64(True):
        table, numbers = (jnp.asarray(rng.normal(size=shape)) for shape in ((2, 4, 2), (2, 2)))
        pivots, operation = jnp.asarray(simplex(2, 3, 2)), jnp.asarray(simplex(2, len(OPERATIONS)))
        column, rows = jnp.asarray(simplex(2, 2)), jnp.asarray(rng.uniform(size=(2, 2, 4)))
        scalars = jnp.asarray(rng.normal(size=(3, 2)))

        @jax.jit
        def outputs(table, pivots, operation, column, rows, scalars):
            memory = Memory(tuple(scalars), tuple(rows))
            new, lookup = execute_step(table, comparisons(table, numbers, pivots), operation,
                                       column, memory)
            return new.scalars[0], new.rows[0], lookup

        check_grads(outputs, (table, pivots, operation, column, rows, scalars), order=1,
                    modes=["rev"], atol=1e-6, rtol=1e-6, eps=1e-6)
        errors = jnp.array([-30.0, -2.0, 0.5, 3.0, 25.0], jnp.float64)
        check_grads(jax.jit(lambda e: huber(e, 10.0)), (errors,), order=1, modes=["rev"],
                    eps=1e-6)


def test_loss_is_huber_on_scalars_and_weighted_log_loss_on_lookups():
    lookup = jnp.full((2, 2, 1), 0.25)
    program = Program(jnp.array([13.0, 0.0]), lookup, jnp.zeros((2, 4, len(OPERATIONS))),
                      jnp.zeros((2, 4, 1)))
    answers = jnp.zeros((2, 2, 1)).at[1, 0, 0].set(1.0)
    losses = programmer_loss(program, jnp.array([1.0, 0.0]), answers, jnp.array([0.0, 1.0]),
                             delta=10.0, lookup_weight=2.0)
    assert float(losses[0]) == pytest.approx(10.0 * 12.0 - 50.0)  # |a| = 12 > delta
    log_loss = -(np.log(0.25) + np.log(0.75)) / 2
    assert float(losses[1]) == pytest.approx(2.0 * log_loss, rel=1e-5)
    assert float(huber(jnp.array(3.0), 10.0)) == 4.5


def _model(**kwargs) -> NeuralProgrammer:
    return NeuralProgrammer(len(VOCABULARY), rngs=nnx.Rngs(0), hidden_size=8, **kwargs)


def _inputs(batch) -> tuple:
    return (batch.table, batch.column_names, batch.question, batch.length, batch.numbers,
            batch.number_positions, batch.number_mask)


def _jitted(model: NeuralProgrammer):
    """The model's call under ``jax.jit`` (graphdef, state), ``hard`` static."""
    graphdef, state = nnx.split(model)
    return jax.jit(lambda batch, hard: nnx.merge(graphdef, state)(*_inputs(batch), hard=hard),
                   static_argnums=1)


def test_hard_selection_is_one_hot_and_restricted_to_the_allowed_operations():
    batch = make_table_questions(np.random.default_rng(0), 6, rows=5, columns=2)
    call = _jitted(_model(operations=["sum", "count", "greater"], steps=3))
    allowed = [OPERATIONS.index(o) for o in ("sum", "count", "greater")]
    for hard in (False, True):
        program = call(batch, hard)
        assert program.operations.shape == (6, 3, len(OPERATIONS))
        np.testing.assert_allclose(program.operations.sum(-1), 1.0, rtol=1e-6)
        others = np.delete(np.asarray(program.operations), allowed, axis=-1)
        np.testing.assert_array_equal(others, 0.0)
    assert set(np.unique(program.operations)) <= {0.0, 1.0}
    assert set(np.unique(program.columns)) <= {0.0, 1.0}


@pytest.mark.parametrize("kwargs, message", [
    ({"operations": ["sum", "median"]}, r"^NeuralProgrammer: operations must be one of"),
    ({"operations": []}, r"^NeuralProgrammer: operations must be a non-empty list"),
    ({"steps": 0}, r"^NeuralProgrammer: steps must be a positive int, got 0$"),
    ({"cell": "transformer"}, r"^make_cell: kind must be one of"),
])
def test_bad_arguments_fail_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _model(**kwargs)


def test_other_cell_kinds_run_the_question_and_history_rnns():
    batch = make_table_questions(np.random.default_rng(0), 3, rows=4, columns=2)
    program = _jitted(_model(cell="lstm", history_cell="gru"))(batch, False)
    assert program.scalar.shape == (3,) and np.all(np.isfinite(program.scalar))


LEARN = {"rows": 8, "columns": 1, "max_value": 9, "templates": ("sum", "count")}


@pytest.fixture(scope="module")
def trained_on_sums_and_counts():
    """50 Adam steps on sum / count questions (the test accuracy reaches 1.0 within 20); the
    accuracy of the discrete programs before and after."""
    model = NeuralProgrammer(len(VOCABULARY), rngs=nnx.Rngs(0), hidden_size=16, steps=2)
    graphdef, params = nnx.split(model)
    tx = optax.adam(1e-2)
    opt_state = tx.init(params)

    def loss(params, batch):
        program = nnx.merge(graphdef, params)(*_inputs(batch))
        return jnp.mean(programmer_loss(program, batch.scalar_answer, batch.lookup_answer,
                                        batch.is_lookup, delta=10.0, lookup_weight=1.0))

    @jax.jit
    def step(params, opt_state, batch):
        grads = jax.grad(loss)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    @jax.jit
    def accuracy(params, batch):
        program = nnx.merge(graphdef, params)(*_inputs(batch), hard=True)
        return jnp.mean(correct_answers(program, batch.scalar_answer, batch.lookup_answer,
                                        batch.is_lookup))

    test = make_table_questions(np.random.default_rng(99), 200, **LEARN)
    before = float(accuracy(params, test))
    for i in range(50):
        batch = make_table_questions(np.random.default_rng(i), 32, **LEARN)
        params, opt_state = step(params, opt_state, batch)
    return before, float(accuracy(params, test))


def test_learns_sums_and_counts(trained_on_sums_and_counts):
    before, after = trained_on_sums_and_counts
    assert after >= 0.95 and after > before + 0.3, (before, after)
