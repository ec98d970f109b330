"""Random tables and templated questions: the synthetic task of the Neural Programmer
(Neelakantan, Le & Sutskever, ICLR 2016, section 3: experiments on random tables of numbers).

A table has ``rows`` x ``columns`` integer entries drawn uniformly from [-max_value, max_value];
its columns are named by ``columns`` distinct words drawn from ``COLUMN_NAMES`` (a fresh draw per
table, so a column is found by its name, never by its position). A question is one of the
``TEMPLATES``, its column roles A, B, C drawn uniformly (with replacement) among the table's
columns and its words among each slot's alternatives; its numbers (at most two) stand in the
question as the token ``<num>`` and are listed apart, with the position of the word to their
left (the question module reads the numbers' left context, as in the paper). The answer is a
scalar (sum, count, difference) or a lookup, a 0/1 matrix [rows, columns] marking the printed
entries.

Each template's answer is computed directly (row masks and numpy sums, ``_answer``), and each
template also carries a reference ``program``: the operations (``rnnjax.models.
neural_programmer.OPERATIONS``) that produce the answer when executed over ``len(program)``
steps, the shortest form. A model with T >= ``len(program)`` steps can answer by prepending
resets (no-ops at the start: the row selector starts all ones).

Batches are drawn from a ``numpy.random.Generator``: ``default_rng((seed, epoch, index))`` gives
the same batch whenever asked, and the fixed evaluation sets use seeds no training batch uses
(the splits of ``experiments/programmer``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnjax.validation import check_choices, check_positive_int, fail


class Step(NamedTuple):
    """One step of a reference program: the operation, its column role ("" when the operation
    reads no column) and the index of its question number (-1 when it reads none)."""

    operation: str
    column: str = ""
    number: int = -1


class Template(NamedTuple):
    """A question form: its slots (each a tuple of alternative word sequences, drawn uniformly;
    ``{A}``, ``{B}``, ``{C}`` stand for column names and ``<num>`` for the numbers in order),
    whether the answer is a lookup, and the reference program."""

    slots: tuple[tuple[tuple[str, ...], ...], ...]
    lookup: bool
    program: tuple[Step, ...]


SUM = (("sum",), ("total",))
COUNT = (("how", "many", "rows"), ("count", "rows"), ("number", "of", "rows"))
GREATER = (("greater", "than"), ("more", "than"), ("above",))
LESSER = (("less", "than"), ("lower", "than"), ("below",))
WHERE = (("where",), ("whose",))


def _phrase(*slots: tuple[tuple[str, ...], ...] | str) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """The slots of a question: each a tuple of alternatives (tuples of words) or one word."""
    return tuple(((s,),) if isinstance(s, str) else s for s in slots)


#: name -> template; column roles: A the column aggregated or printed, B and C the columns the
#: conditions read
TEMPLATES: dict[str, Template] = {
    "sum": Template(_phrase(SUM, "of", "{A}"), False, (Step("sum", "A"),)),
    "count": Template(_phrase(COUNT), False, (Step("count"),)),
    "sum_greater": Template(_phrase(SUM, "of", "{A}", WHERE, "{B}", GREATER, "<num>"), False,
                            (Step("greater", "B", 0), Step("sum", "A"))),
    "sum_lesser": Template(_phrase(SUM, "of", "{A}", WHERE, "{B}", LESSER, "<num>"), False,
                           (Step("lesser", "B", 0), Step("sum", "A"))),
    "count_greater": Template(_phrase(COUNT, WHERE, "{B}", GREATER, "<num>"), False,
                              (Step("greater", "B", 0), Step("count"))),
    "count_lesser": Template(_phrase(COUNT, WHERE, "{B}", LESSER, "<num>"), False,
                             (Step("lesser", "B", 0), Step("count"))),
    "count_equal": Template(_phrase(COUNT, WHERE, "{B}", (("is",), ("equals",)), "<num>"),
                            False, (Step("select", "B", 0), Step("count"))),
    "sum_and": Template(
        _phrase(SUM, "of", "{A}", WHERE, "{B}", GREATER, "<num>", "and", "{C}", LESSER,
                "<num>"), False,
        (Step("greater", "B", 0), Step("lesser", "C", 1), Step("and"), Step("sum", "A"))),
    "count_or": Template(
        _phrase(COUNT, WHERE, "{B}", GREATER, "<num>", "or", "{C}", LESSER, "<num>"), False,
        (Step("greater", "B", 0), Step("lesser", "C", 1), Step("or"), Step("count"))),
    "difference": Template(
        _phrase("difference", "between", SUM, "of", "{A}", "and", SUM, "of", "{A}", WHERE, "{B}",
                GREATER, "<num>"), False,
        (Step("sum", "A"), Step("greater", "B", 0), Step("sum", "A"), Step("difference"))),
    "print_greater": Template(_phrase("print", "{A}", WHERE, "{B}", GREATER, "<num>"), True,
                              (Step("greater", "B", 0), Step("print", "A"))),
    "print_first": Template(
        _phrase("print", "{A}", "of", "the", "first", "row", WHERE, "{B}", GREATER, "<num>"),
        True, (Step("greater", "B", 0), Step("first"), Step("print", "A"))),
    "print_last": Template(
        _phrase("print", "{A}", "of", "the", "last", "row", WHERE, "{B}", LESSER, "<num>"),
        True, (Step("lesser", "B", 0), Step("last"), Step("print", "A"))),
}
#: the most numbers a question holds (one per condition)
MAX_NUMBERS = 2
#: the words that name columns (a table of C columns uses C of them, drawn afresh)
COLUMN_NAMES = tuple(f"col{k}" for k in range(10))
PAD, NUMBER = "<pad>", "<num>"


def _words() -> tuple[str, ...]:
    """Every word a question can hold, in a fixed order."""
    seen = {PAD: None, NUMBER: None}
    for template in TEMPLATES.values():
        for slot in template.slots:
            for alternative in slot:
                seen.update(dict.fromkeys(w for w in alternative if "{" not in w))
    return (*seen, *COLUMN_NAMES)


#: the vocabulary: word -> id (``<pad>`` is 0)
VOCABULARY: dict[str, int] = {word: i for i, word in enumerate(_words())}
#: words in the longest question
QUESTION_LENGTH = max(sum(max(len(a) for a in slot) for slot in t.slots)
                      for t in TEMPLATES.values())


class TableQuestions(NamedTuple):
    """A batch of N tables and questions (numpy arrays)."""

    table: np.ndarray  # [N, rows, columns] float32, integer entries
    column_names: np.ndarray  # [N, columns] int32 word ids
    question: np.ndarray  # [N, QUESTION_LENGTH] int32 word ids, 0 past the length
    length: np.ndarray  # [N] int32 words in the question
    numbers: np.ndarray  # [N, MAX_NUMBERS] float32, the question's numbers in order (0: none)
    number_positions: np.ndarray  # [N, MAX_NUMBERS] int32, index of the word left of each
    number_mask: np.ndarray  # [N, MAX_NUMBERS] float32, 1 where the number exists
    scalar_answer: np.ndarray  # [N] float32 (0 for lookup questions)
    lookup_answer: np.ndarray  # [N, rows, columns] float32 0/1 (0 for scalar questions)
    is_lookup: np.ndarray  # [N] float32, 1 for lookup questions
    template: np.ndarray  # [N] int32 index into the ``templates`` the batch was drawn from


def program_steps(templates: tuple[str, ...]) -> int:
    """Steps of the longest reference program among ``templates``."""
    return max(len(TEMPLATES[name].program) for name in templates)


def _condition(table: np.ndarray, step: Step, roles: dict[str, int], numbers: list[float]
               ) -> np.ndarray:
    """Rows [M] bool meeting one comparison step of a program."""
    column = table[:, roles[step.column]]
    number = numbers[step.number]
    return {"greater": column > number, "lesser": column < number,
            "select": column == number}[step.operation]


def _answer(template: Template, table: np.ndarray, roles: dict[str, int],
            numbers: list[float]) -> tuple[float, np.ndarray]:
    """(scalar answer, lookup matrix [M, C]) of one question, computed directly from the rows
    that meet its conditions (numpy masks, not the operations of the model)."""
    operations = {step.operation for step in template.program}
    conditions = [_condition(table, s, roles, numbers) for s in template.program
                  if s.number >= 0]
    rows = conditions[0] if conditions else np.ones(table.shape[0], bool)
    if "and" in operations:
        rows = rows & conditions[1]
    if "or" in operations:
        rows = rows | conditions[1]
    lookup = np.zeros(table.shape, np.float32)
    column_a = table[:, roles["A"]]
    if "print" in operations:
        hits = np.flatnonzero(rows)
        hits = hits[:1] if "first" in operations else hits[-1:] if "last" in operations else hits
        lookup[hits, roles["A"]] = 1.0
        return 0.0, lookup
    if "difference" in operations:
        return float(column_a.sum() - column_a[rows].sum()), lookup
    if "sum" in operations:
        return float(column_a[rows].sum()), lookup
    return float(rows.sum()), lookup


def make_table_questions(rng: np.random.Generator, size: int, *, rows: int = 30,
                         columns: int = 1, max_value: int = 100,
                         templates: tuple[str, ...] | list[str] = tuple(TEMPLATES)
                         ) -> TableQuestions:
    """``size`` random tables with one question each, templates drawn uniformly (module
    docstring). Pivot numbers are uniform in [-max_value, max_value]; the number of an
    equality question is an entry of its column."""
    where = "make_table_questions"
    size = check_positive_int(where, "size", size)
    rows = check_positive_int(where, "rows", rows)
    columns = check_positive_int(where, "columns", columns)
    max_value = check_positive_int(where, "max_value", max_value)
    templates = check_choices(where, "templates", templates, TEMPLATES)
    if columns > len(COLUMN_NAMES):
        fail(where, "columns", f"<= {len(COLUMN_NAMES)} (the column names)", columns)
    batch = TableQuestions(
        table=rng.integers(-max_value, max_value + 1, (size, rows, columns)).astype(np.float32),
        column_names=np.zeros((size, columns), np.int32),
        question=np.zeros((size, QUESTION_LENGTH), np.int32),
        length=np.zeros(size, np.int32), numbers=np.zeros((size, MAX_NUMBERS), np.float32),
        number_positions=np.zeros((size, MAX_NUMBERS), np.int32),
        number_mask=np.zeros((size, MAX_NUMBERS), np.float32),
        scalar_answer=np.zeros(size, np.float32),
        lookup_answer=np.zeros((size, rows, columns), np.float32),
        is_lookup=np.zeros(size, np.float32), template=np.zeros(size, np.int32))
    for n in range(size):
        index = int(rng.integers(len(templates)))
        name = templates[index]
        template = TEMPLATES[name]
        names = rng.choice(len(COLUMN_NAMES), columns, replace=False)
        roles = {role: int(rng.integers(columns)) for role in "ABC"}
        table = batch.table[n]
        numbers = [float(table[rng.integers(rows), roles["B"]]) if s.operation == "select"
                   else float(rng.integers(-max_value, max_value + 1))
                   for s in template.program if s.number >= 0]
        words = [w for slot in template.slots for w in slot[int(rng.integers(len(slot)))]]
        words = [COLUMN_NAMES[names[roles[w[1]]]] if w.startswith("{") else w for w in words]
        positions = [i - 1 for i, w in enumerate(words) if w == NUMBER]
        batch.column_names[n] = [VOCABULARY[COLUMN_NAMES[k]] for k in names]
        batch.question[n, :len(words)] = [VOCABULARY[w] for w in words]
        batch.length[n] = len(words)
        batch.numbers[n, :len(numbers)] = numbers
        batch.number_positions[n, :len(positions)] = positions
        batch.number_mask[n, :len(numbers)] = 1.0
        batch.scalar_answer[n], batch.lookup_answer[n] = _answer(template, table, roles, numbers)
        batch.is_lookup[n] = float(template.lookup)
        batch.template[n] = index
    return batch
