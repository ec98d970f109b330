"""The table-question generator: every answer against a row-by-row brute force read back from the
question's own words, the numbers' positions, seeding, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax.data.table_questions import (
    NUMBER,
    TEMPLATES,
    VOCABULARY,
    make_table_questions,
)

WORDS = {i: w for w, i in VOCABULARY.items()}


def _roles(name: str, words: list[str], column_names: list[str]) -> dict[str, int]:
    """The column of each role, read from the column words of the question in slot order."""
    order = [w[1] for slot in TEMPLATES[name].slots for w in slot[0] if w.startswith("{")]
    named = [column_names.index(w) for w in words if w in column_names]
    assert len(order) == len(named)
    return dict(zip(order, named, strict=True))


def _brute_force(name: str, table: np.ndarray, roles: dict[str, int], numbers: list[float]):
    """(scalar, lookup) by a loop over rows, from the template's name alone."""
    rows, columns = table.shape
    a, b, c = (roles.get(k) for k in "ABC")
    meets = []
    for i in range(rows):
        if name in ("sum", "count"):
            meets.append(True)
        elif name in ("sum_and", "count_or"):
            first, second = table[i, b] > numbers[0], table[i, c] < numbers[1]
            meets.append(first and second if name == "sum_and" else first or second)
        elif name.endswith("equal"):
            meets.append(table[i, b] == numbers[0])
        elif name.endswith("lesser") or name == "print_last":
            meets.append(table[i, b] < numbers[0])
        else:
            meets.append(table[i, b] > numbers[0])
    lookup = np.zeros((rows, columns))
    if name.startswith("print"):
        hits = [i for i in range(rows) if meets[i]]
        for i in {"print_first": hits[:1], "print_last": hits[-1:]}.get(name, hits):
            lookup[i, a] = 1
        return 0.0, lookup
    if name == "difference":
        return sum(table[i, a] for i in range(rows) if not meets[i]), lookup
    if name.startswith("sum"):
        return sum(table[i, a] for i in range(rows) if meets[i]), lookup
    return float(sum(meets)), lookup


@pytest.mark.parametrize("columns", [1, 3])
def test_answers_match_a_row_by_row_computation(columns):
    batch = make_table_questions(np.random.default_rng(7), 400, rows=6, columns=columns,
                                 max_value=5)
    names = list(TEMPLATES)
    assert set(batch.template) == set(range(len(names)))  # every template drawn
    for n in range(len(batch.table)):
        name = names[batch.template[n]]
        words = [WORDS[i] for i in batch.question[n, :batch.length[n]]]
        column_names = [WORDS[i] for i in batch.column_names[n]]
        count = int(batch.number_mask[n].sum())
        assert words.count(NUMBER) == count
        for k in range(count):
            assert words[batch.number_positions[n, k] + 1] == NUMBER
        roles = _roles(name, words, column_names)
        scalar, lookup = _brute_force(name, batch.table[n], roles, list(batch.numbers[n]))
        assert batch.is_lookup[n] == TEMPLATES[name].lookup
        assert batch.scalar_answer[n] == pytest.approx(scalar)
        np.testing.assert_array_equal(batch.lookup_answer[n], lookup)
    positions = np.arange(batch.question.shape[1])[None, :]
    assert np.all(batch.question[positions >= batch.length[:, None]] == 0)
    assert np.all(np.abs(batch.table) <= 5) and np.all(batch.table == np.round(batch.table))


def test_same_seed_same_batch_and_column_names_are_distinct():
    first, second = (make_table_questions(np.random.default_rng((1, 2, 3)), 20, columns=4)
                     for _ in range(2))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(len(set(row)) == 4 for row in first.column_names)


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": 0}, r"^make_table_questions: rows must be a positive int, got 0$"),
    ({"columns": 11}, r"^make_table_questions: columns must be <= 10 \(the column names\)"),
    ({"templates": ["sum", "median"]}, r"^make_table_questions: templates must be one of"),
    ({"templates": []}, r"^make_table_questions: templates must be a non-empty list"),
])
def test_bad_arguments_fail_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_table_questions(np.random.default_rng(0), 2, **kwargs)
