"""Rows, columns and the words of a filter: the vocabulary of the virtual table.

Pure (no Textual import). :class:`SearchIndex` keeps each row's
lower-cased search text, computed when the row changes and never per
keystroke; :class:`ColumnWidths` keeps each fit-content column width
incrementally, so painting never scans the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

__all__ = [
    "SEP",
    "Column",
    "ColumnWidths",
    "FlushResult",
    "Row",
    "RowChanges",
    "SearchIndex",
    "Term",
    "cell_text",
    "cell_width",
    "narrows",
    "parse_filter",
    "search_text",
]

SEP = "\x1f"  # joins a row's cells in its search string; never typed into a filter


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``sort_key`` is called with the row's ``data`` when the row carries some
    (``Row.data is not None``), otherwise with the cell's plain text; without
    ``sort_key`` the column sorts on its lower-cased cell text. ``None``
    values sort last in ascending order. How ``keep`` and ``grow`` shape a
    narrow or a wide table: :mod:`.table_layout`.
    """

    key: str
    label: str
    width: int | None = None  # None: fit content up to max_width
    max_width: int = 40
    align: Literal["left", "right"] = "left"
    sort_key: Callable[[object], object] | None = None
    keep: bool = True  # a narrow table keeps it (the others go first, rightmost first)
    drop_rank: int = 0  # 1, 2, …: a column not kept that goes before the others, in this order
    grow: bool = False  # long text: takes the free width, shrinks first (with an ellipsis)


@dataclass(frozen=True)
class Row:
    """One row: ``cells`` has one entry per column; ``style`` names a row class
    (``"stale"``, ``"unreachable"``, ``"alert"``, ``"selected-op"``; several may
    be given separated by spaces); ``data`` is handed back to the screen."""

    key: Hashable
    cells: tuple[str | Text, ...]
    style: str | None = None
    data: object = None


@dataclass(frozen=True)
class RowChanges:
    """A keyed change set: rows added or changed, keys gone."""

    upsert: tuple[Row, ...] = ()
    remove: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class FlushResult:
    """What a flush changed: ``structural`` when the visible order changed
    (rows added, removed, moved or filtered in/out); ``updated`` the keys
    whose content changed in place."""

    structural: bool
    updated: frozenset[Hashable]


@dataclass(frozen=True)
class Term:
    """One filter word: ``needle`` (lower case) searched in every cell, or
    only in column ``column`` (an index) for a column-qualified word."""

    column: int | None
    needle: str


def cell_text(cell: str | Text) -> str:
    """The plain text of a cell."""
    return cell if type(cell) is str else cell.plain  # type: ignore[union-attr]


def cell_width(cell: str | Text) -> int:
    """Terminal cells a cell's text occupies."""
    if type(cell) is str:
        return len(cell) if cell.isascii() else cell_len(cell)
    return cell.cell_len  # type: ignore[union-attr]


def search_text(cells: tuple[str | Text, ...]) -> str:
    """A row's lower-cased search string: its cells joined by SEP (so a
    word never matches across two cells)."""
    try:
        return SEP.join(cells).lower()  # type: ignore[arg-type]
    except TypeError:  # a rich Text cell
        return SEP.join(map(cell_text, cells)).lower()


def parse_filter(text: str, columns: Sequence[Column]) -> tuple[Term, ...]:
    """Split a filter into terms: words separated by spaces must all match;
    ``name:value`` restricts a word to the column whose key or label is
    ``name`` (case-insensitive); an unknown ``name`` leaves the word as is.
    Duplicate terms are dropped; ``state:`` alone matches every row."""
    names: dict[str, int] = {}
    for i, column in enumerate(columns):
        names.setdefault(column.key.lower(), i)
        names.setdefault(column.label.lower(), i)
    terms: list[Term] = []
    for word in text.lower().split():
        term = Term(None, word)
        head, colon, tail = word.partition(":")
        if colon and head in names:
            term = Term(names[head], tail)
        if term not in terms and (term.needle or term.column is None):
            terms.append(term)
    return tuple(terms)


def narrows(new: Sequence[Term], old: Sequence[Term]) -> bool:
    """True when every row matching ``new`` also matches ``old``, so the new
    result can be searched within the old one."""
    return all(
        any(
            o.needle in n.needle and (o.column is None or o.column == n.column)
            for n in new
        )
        for o in old
    )


class ColumnWidths:
    """Fit-content width per auto-width column, kept incrementally as the
    widest (capped) cell width and how many cells have it. Only when the last
    cell of that width goes is the column re-measured, lazily, once."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = columns
        self.auto = [i for i, c in enumerate(columns) if c.width is None]
        self.best: dict[int, int] = dict.fromkeys(self.auto, 0)
        self.count: dict[int, int] = dict.fromkeys(self.auto, 0)
        self.dirty: set[int] = set()

    def clear(self) -> None:
        self.best = dict.fromkeys(self.auto, 0)
        self.count = dict.fromkeys(self.auto, 0)
        self.dirty.clear()

    def measure(self, i: int, cells: Iterable[str | Text], ascii_only: bool = False) -> None:
        """Measure column ``i`` from all its cells (bulk load or re-measure)."""
        cap = self.columns[i].max_width
        lens = list(map(len if ascii_only else cell_width, cells))
        best = max(lens, default=0)
        if best >= cap:
            self.best[i], self.count[i] = cap, sum(map(cap.__le__, lens))
        else:
            self.best[i], self.count[i] = best, lens.count(best)
        self.dirty.discard(i)

    def load(self, cells: Sequence[tuple[str | Text, ...]], ascii_only: bool) -> None:
        """Measure every auto column from scratch (``ascii_only``: every cell
        is a plain ASCII ``str``, so ``len`` is its width)."""
        self.clear()
        complete = min(map(len, cells), default=0)
        for i in self.auto:
            if i < complete:
                self.measure(i, list(map(itemgetter(i), cells)), ascii_only)
            else:
                self.measure(i, [c[i] for c in cells if len(c) > i])

    def add(self, row: Row) -> None:
        cells = row.cells
        for i in self.auto:
            if i < len(cells) and i not in self.dirty:
                w = min(cell_width(cells[i]), self.columns[i].max_width)
                if w > self.best[i]:
                    self.best[i], self.count[i] = w, 1
                elif w == self.best[i]:
                    self.count[i] += 1

    def remove(self, row: Row) -> None:
        cells = row.cells
        for i in self.auto:
            if i < len(cells) and i not in self.dirty:
                w = min(cell_width(cells[i]), self.columns[i].max_width)
                if w == self.best[i]:
                    self.count[i] -= 1
                    if self.count[i] <= 0 and w > 0:
                        self.dirty.add(i)

    def widths(self, remeasure: Callable[[int], None]) -> list[int]:
        """Column content widths (without padding); the header label and its
        sort indicator (one cell) always fit."""
        for i in list(self.dirty):
            remeasure(i)
        out: list[int] = []
        for i, column in enumerate(self.columns):
            if column.width is not None:
                out.append(column.width)
            else:
                out.append(min(max(self.best[i], cell_len(column.label) + 1), column.max_width))
        return out


class SearchIndex:
    """Per slot, the row's lower-cased search string; per column, the
    lower-cased cell text, built on a column's first use (a column-qualified
    filter, or sorting on the cell text) and kept up to date from then on."""

    def __init__(self, rows: list[Row | None]) -> None:
        self.rows = rows  # the model's slot list, shared
        self.text: list[str | None] = []
        self.columns: dict[int, list[str | None]] = {}

    def load(self, rows: list[Row | None], cells: list[tuple[str | Text, ...]]) -> bool:
        """Index every row; True when every cell is a plain ASCII ``str``."""
        self.rows = rows
        self.columns = {}
        try:
            self.text = list(map(str.lower, map(SEP.join, cells)))  # type: ignore[arg-type]
        except TypeError:  # some rich Text cells
            self.text = list(map(search_text, cells))
            return False
        return all(map(str.isascii, self.text))  # type: ignore[arg-type]

    def grow(self) -> None:
        self.text.append(None)
        for text in self.columns.values():
            text.append(None)

    def store(self, slot: int, row: Row | None) -> None:
        self.text[slot] = None if row is None else search_text(row.cells)
        for col, text in self.columns.items():
            text[slot] = None if row is None else _lower_cell(row, col)

    def column(self, col: int) -> list[str | None]:
        text = self.columns.get(col)
        if text is None:
            text = [None if row is None else _lower_cell(row, col) for row in self.rows]
            self.columns[col] = text
        return text

    def scan(self, slots: list[int], terms: Sequence[Term]) -> list[int]:
        """Slots whose row matches every term, in the given order; one pass
        per term over the survivors of the previous one, longest word first."""
        out = slots
        for term in sorted(terms, key=lambda t: -len(t.needle)):
            needle = term.needle
            text = self.text if term.column is None else self.column(term.column)
            out = [s for s in out if needle in text[s]]  # type: ignore[operator]
        return out if out is not slots else list(out)

    def matches(self, slot: int, terms: Sequence[Term]) -> bool:
        for term in terms:
            text = self.text if term.column is None else self.column(term.column)
            if term.needle not in text[slot]:  # type: ignore[operator]
                return False
        return True


def _lower_cell(row: Row, col: int) -> str:
    return cell_text(row.cells[col]).lower() if col < len(row.cells) else ""
