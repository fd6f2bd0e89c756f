"""The pure row store behind :class:`~ksystui.ui.widgets.virtual_table.VirtualTable`.

No Textual import: this module is the keyed change-set logic of the table
(row store, natural and sorted order, filtering, coalescing of queued
changes, cursor stability, incremental column widths) and is tested
directly, with Hypothesis, in ``tests/ui/test_table_model.py``.

Costs, with ``n`` stored rows and ``k`` changed rows per flush:

- ``set_rows``: O(n), a few C-level passes (no per-cell Python loop for
  plain ASCII cells).
- ``flush``: O(k) to store the changes; O(k log n) to move changed rows to
  their sorted place while fewer than ``n/8`` rows moved (a full re-sort
  past that); one O(n) pass to rebuild the visible order only when rows
  were added, removed or moved, or left/entered the filter.
- ``set_filter``: one substring test per candidate row on a lower-cased
  search string computed when the row changed; a narrowing filter (the
  operator typed one more character) only tests the previous result.
- column widths: a histogram of cell widths per column, updated per
  changed cell; reading a width is O(max_width), never a scan of the rows.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

__all__ = [
    "Column",
    "FlushResult",
    "Row",
    "RowChanges",
    "TableModel",
    "Term",
    "cell_text",
    "cell_width",
    "narrows",
    "parse_filter",
]

SEP = "\x1f"  # joins a row's cells in its search string; never typed into a filter
_REMOVED = object()  # marks a queued removal in the pending map


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``sort_key`` is called with the row's ``data`` when the row carries some
    (``Row.data is not None``), otherwise with the cell's plain text; without
    ``sort_key`` the column sorts on its lower-cased cell text. ``None``
    values sort last in ascending order.
    """

    key: str
    label: str
    width: int | None = None  # None: fit content up to max_width
    max_width: int = 40
    align: Literal["left", "right"] = "left"
    sort_key: Callable[[object], object] | None = None


@dataclass(frozen=True, eq=False)
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
class Term:
    """One filter word: ``needle`` (lower case) searched in every cell, or
    only in column ``column`` (an index) for a column-qualified word."""

    column: int | None
    needle: str


@dataclass(frozen=True)
class FlushResult:
    """What a flush changed: ``structural`` when the visible order changed
    (rows added, removed, moved or filtered in/out); ``updated`` the keys
    whose content changed in place."""

    structural: bool
    updated: frozenset[Hashable]


def cell_text(cell: str | Text) -> str:
    """The plain text of a cell."""
    return cell if type(cell) is str else cell.plain  # type: ignore[union-attr]


def cell_width(cell: str | Text) -> int:
    """Terminal cells a cell's text occupies."""
    if type(cell) is str:
        return len(cell) if cell.isascii() else cell_len(cell)
    return cell.cell_len  # type: ignore[union-attr]


def _search_text(cells: tuple[str | Text, ...]) -> str:
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


class _Widths:
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
        lens = list(map(len if ascii_only else cell_width, cells))  # type: ignore[arg-type]
        best = max(lens, default=0)
        if best >= cap:
            self.best[i], self.count[i] = cap, sum(map(cap.__le__, lens))
        else:
            self.best[i], self.count[i] = best, lens.count(best)
        self.dirty.discard(i)

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


class TableModel:
    """Keyed rows, their order, a filter and a cursor; no I/O, no Textual.

    Rows live in *slots* (list indexes, reused after removal) so that the
    order, the view and the filter scans are lists of ints and list lookups.
    The *view* is the slots shown, in display order, after the filter. The
    cursor is a key of the view, or ``None`` only when the view is empty.
    """

    RESORT_SLACK = 64  # a sorted flush moves rows one by one up to n/8 + this many

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns: tuple[Column, ...] = tuple(columns)
        self._slot: dict[Hashable, int] = {}  # key -> slot; insertion order is the natural order
        self._rows: list[Row | None] = []
        self._text: list[str | None] = []  # lower-cased search string per slot
        self._coltext: dict[int, list[str | None]] = {}  # per column, built on first use
        self._seq: list[int] = []  # arrival number: ties keep the natural order
        self._free: list[int] = []
        self._next_seq = 0
        self._pending: dict[Hashable, object] = {}
        self._widths = _Widths(self.columns)
        self._order: list[int] = []  # all slots: natural, or ascending by _skey when sorted
        self._sort: tuple[int, bool] | None = None  # (column index, descending)
        self._skey: list[tuple | None] = []  # sort key per slot, when sorted
        self._sort_as_text = False  # set when a column's sort values do not compare
        self._filter_text = ""
        self._terms: tuple[Term, ...] = ()
        self._view: list[int] = []
        self._cursor_key: Hashable | None = None
        self._cursor_index = -1
        self._last_key: Hashable | None = None  # cursor before the view went empty

    # ------------------------------------------------------------------ reading

    @property
    def row_count(self) -> int:
        return len(self._view)

    @property
    def total_count(self) -> int:
        return len(self._slot)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    @property
    def filter_text(self) -> str:
        return self._filter_text

    @property
    def sort_state(self) -> tuple[str, bool] | None:
        """``(column key, descending)`` or ``None`` for the natural order."""
        if self._sort is None:
            return None
        return self.columns[self._sort[0]].key, self._sort[1]

    @property
    def cursor_key(self) -> Hashable | None:
        return self._cursor_key

    @property
    def cursor_index(self) -> int:
        """Index of the cursor in the view, -1 when the view is empty."""
        return self._cursor_index

    def get(self, key: Hashable) -> Row | None:
        slot = self._slot.get(key)
        return None if slot is None else self._rows[slot]

    def row_at(self, index: int) -> Row:
        """The row at view index ``index``."""
        row = self._rows[self._view[index]]
        assert row is not None
        return row

    def rows_between(self, start: int, end: int) -> list[Row]:
        """Rows of the view from ``start`` to ``end`` (exclusive)."""
        rows = self._rows
        return [rows[s] for s in self._view[max(0, start) : max(0, end)]]  # type: ignore[misc]

    def view_keys(self) -> list[Hashable]:
        """Keys shown, in display order."""
        rows = self._rows
        return [rows[s].key for s in self._view]  # type: ignore[union-attr]

    def rows(self) -> list[Row]:
        """All stored rows, in natural order."""
        rows = self._rows
        return [rows[s] for s in self._slot.values()]  # type: ignore[misc]

    def widths(self) -> list[int]:
        return self._widths.widths(self._remeasure)

    def index_of(self, key: Hashable, hint: int = -1) -> int:
        """Index of ``key`` in the view, or -1."""
        slot = self._slot.get(key)
        if slot is None:
            return -1
        view = self._view
        if 0 <= hint < len(view) and view[hint] == slot:
            return hint
        if not self._visible(slot):
            return -1
        return view.index(slot)

    # ------------------------------------------------------------------ writing

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replace every row (and drop queued changes); filter, sort and, when
        its row is still there, the cursor are kept."""
        rows = list(rows)
        old_key = self._cursor_key if self._cursor_key is not None else self._last_key
        slots = {row.key: i for i, row in enumerate(rows)}
        if len(slots) != len(rows):  # duplicate keys: the last one wins, first place kept
            rows = list({row.key: row for row in rows}.values())
            slots = {row.key: i for i, row in enumerate(rows)}
        self._pending.clear()
        self._slot = slots
        self._rows = list(rows)
        cells = [row.cells for row in rows]
        try:
            self._text = list(map(str.lower, map(SEP.join, cells)))  # type: ignore[arg-type]
            plain = True
        except TypeError:  # some rich Text cells
            self._text = list(map(_search_text, cells))
            plain = False
        ascii_only = plain and all(map(str.isascii, self._text))  # type: ignore[arg-type]
        self._coltext = {}
        self._seq = list(range(len(rows)))
        self._next_seq = len(rows)
        self._free = []
        self._widths.clear()
        complete = min(map(len, cells), default=0)
        for i in self._widths.auto:
            if i < complete:
                self._widths.measure(i, list(map(itemgetter(i), cells)), ascii_only)
            else:
                self._widths.measure(i, [c[i] for c in cells if len(c) > i])
        self._resort()
        self._rebuild_view()
        self._cursor_key, self._cursor_index = None, -1
        self._last_key = old_key
        self._settle_cursor(None, -1)

    def queue(self, changes: RowChanges) -> None:
        """Queue a change set; later changes to a key replace earlier ones."""
        pending = self._pending
        for row in changes.upsert:
            pending[row.key] = row
        for key in changes.remove:
            pending[key] = _REMOVED

    def flush(self) -> FlushResult | None:
        """Apply the queued changes; ``None`` when nothing was queued."""
        if not self._pending:
            return None
        pending, self._pending = self._pending, {}
        slots, rows, text, widths = self._slot, self._rows, self._text, self._widths
        removed: list[int] = []
        updated: list[tuple[int, Row]] = []
        added: list[Row] = []
        for key, value in pending.items():
            slot = slots.get(key)
            if value is _REMOVED:
                if slot is not None:
                    removed.append(slot)
            elif slot is not None:
                updated.append((slot, value))  # type: ignore[arg-type]
            else:
                added.append(value)  # type: ignore[arg-type]

        old_view, old_index = self._view, self._cursor_index
        sorted_ = self._sort is not None
        terms = self._terms
        moved: list[int] = []  # sorted slots taken out of _order, to re-insert
        changes = len(removed) + len(updated) + len(added)
        full_resort = sorted_ and changes > len(slots) // 8 + self.RESORT_SLACK
        membership_changed = False

        for slot in removed:
            row = rows[slot]
            assert row is not None
            if sorted_ and not full_resort:
                self._order_delete(slot)
            widths.remove(row)
            del slots[row.key]
            rows[slot] = text[slot] = None
            for coltext in self._coltext.values():
                coltext[slot] = None
            self._skey[slot] = None
        for slot, row in updated:
            was = bool(terms) and self._matches(slot, terms)
            widths.remove(rows[slot])  # type: ignore[arg-type]
            widths.add(row)
            rows[slot] = row
            self._store_text(slot, row)
            if sorted_:
                new_key = self._sort_key_of(slot)
                if new_key != self._skey[slot]:
                    if not full_resort:
                        self._order_delete(slot)
                        moved.append(slot)
                    self._skey[slot] = new_key
            if terms and was != self._matches(slot, terms):
                membership_changed = True
        new_slots: list[int] = []
        for row in added:
            slot = self._alloc(row)
            new_slots.append(slot)
            widths.add(row)
            if sorted_:
                self._skey[slot] = self._sort_key_of(slot)
                moved.append(slot)
        self._free.extend(removed)  # reused from the next flush on, never within one

        if sorted_:
            if full_resort:
                self._resort()
            else:
                self._order_insert(moved)
        elif removed:
            self._order = list(slots.values())
        else:
            self._order.extend(new_slots)

        structural = bool(removed or new_slots or moved or membership_changed)
        if full_resort:
            structural = True
        if structural:
            if not sorted_ and not removed and not membership_changed:
                # only appends in natural order: extend the view in place
                self._view.extend(self._scan(new_slots, terms) if terms else new_slots)
            else:
                self._rebuild_view()
            self._settle_cursor(old_view, old_index)
        return FlushResult(structural, frozenset(row.key for _, row in updated))

    def set_filter(self, text: str) -> None:
        """Keep the rows matching every word of ``text`` (see parse_filter)."""
        terms = parse_filter(text, self.columns)
        self._filter_text = text
        if terms == self._terms:
            return
        old_terms, self._terms = self._terms, terms
        if not terms:
            self._rebuild_view()
        elif old_terms and narrows(terms, old_terms):
            extra = tuple(t for t in terms if t not in old_terms)
            self._view = self._scan(self._view, extra or terms)
        else:
            self._view = self._scan(self._source(), terms)
        self._settle_cursor(None, -1)

    def sort_by(self, column_key: str) -> None:
        """Ascending, then descending, then back to the natural order."""
        index = self._column_index(column_key)
        if self._sort is None or self._sort[0] != index:
            self._set_sort((index, False))
        elif not self._sort[1]:
            self._set_sort((index, True))
        else:
            self._set_sort(None)

    def set_sort(self, column_key: str | None, descending: bool = False) -> None:
        """Set the sort directly (``None``: natural order)."""
        self._set_sort(None if column_key is None else (self._column_index(column_key), descending))

    # ------------------------------------------------------------------ cursor

    def move_cursor(self, index: int) -> None:
        """Put the cursor on view index ``index`` (clamped)."""
        if not self._view:
            return
        index = max(0, min(index, len(self._view) - 1))
        self._cursor_index = index
        self._cursor_key = self._rows[self._view[index]].key  # type: ignore[union-attr]

    def move_cursor_to(self, key: Hashable) -> bool:
        """Put the cursor on ``key`` if it is shown; False otherwise."""
        index = self.index_of(key)
        if index < 0:
            return False
        self._cursor_index, self._cursor_key = index, key
        return True

    def _settle_cursor(self, old_view: Sequence[int] | None, old_index: int) -> None:
        """After the view changed: keep the cursor on its key, else move it to
        the nearest surviving row (the one below first, then the one above)."""
        view = self._view
        key = self._cursor_key
        if not view:
            if key is not None:
                self._last_key = key
            self._cursor_key, self._cursor_index = None, -1
            return
        if key is None:
            key = self._last_key
        self._last_key = None
        slot = self._slot.get(key) if key is not None else None
        if slot is not None and self._visible(slot):
            self._cursor_index = self.index_of(key, self._cursor_index)
            self._cursor_key = key
            return
        found = None
        if old_view is not None and 0 <= old_index < len(old_view):
            found = self._nearest(old_view, old_index)
        if found is None and slot is not None:
            # filtered out but still stored: nearest in the full display order
            src = self._source()
            found = self._nearest(src, src.index(slot))
        if found is None:
            found = view[0]
        self._cursor_index = view.index(found)
        self._cursor_key = self._rows[found].key  # type: ignore[union-attr]

    def _nearest(self, ref: Sequence[int], at: int) -> int | None:
        for step in range(1, len(ref)):
            below, above = at + step, at - step
            if below >= len(ref) and above < 0:
                break
            if below < len(ref) and self._visible(ref[below]):
                return ref[below]
            if above >= 0 and self._visible(ref[above]):
                return ref[above]
        return None

    # ------------------------------------------------------------------ internals

    def _visible(self, slot: int) -> bool:
        if self._rows[slot] is None:
            return False
        return not self._terms or self._matches(slot, self._terms)

    def _alloc(self, row: Row) -> int:
        seq = self._next_seq
        self._next_seq += 1
        if self._free:
            slot = self._free.pop()
            self._rows[slot] = row
            self._seq[slot] = seq
        else:
            slot = len(self._rows)
            self._rows.append(row)
            self._text.append(None)
            self._seq.append(seq)
            self._skey.append(None)
            for coltext in self._coltext.values():
                coltext.append(None)
        self._slot[row.key] = slot
        self._store_text(slot, row)
        return slot

    def _store_text(self, slot: int, row: Row) -> None:
        self._text[slot] = _search_text(row.cells)
        for col, coltext in self._coltext.items():
            coltext[slot] = cell_text(row.cells[col]).lower() if col < len(row.cells) else ""

    def _column_text(self, col: int) -> list[str | None]:
        """Lower-cased text of one column per slot, built on first use and then
        kept up to date (column-qualified filters and the default sort)."""
        coltext = self._coltext.get(col)
        if coltext is None:
            coltext = [
                None if row is None else (cell_text(row.cells[col]).lower() if col < len(row.cells) else "")
                for row in self._rows
            ]
            self._coltext[col] = coltext
        return coltext

    def _remeasure(self, col: int) -> None:
        self._widths.measure(col, [r.cells[col] for r in self.rows() if col < len(r.cells)])

    def _column_index(self, column_key: str) -> int:
        for i, column in enumerate(self.columns):
            if column.key == column_key:
                return i
        raise KeyError(f"no column {column_key!r}")

    def _source(self) -> list[int]:
        """All slots in display order (before the filter)."""
        if self._sort is not None and self._sort[1]:
            return self._order[::-1]
        return self._order

    def _rebuild_view(self) -> None:
        src = self._source()
        self._view = self._scan(src, self._terms) if self._terms else list(src)

    def _scan(self, slots: Iterable[int], terms: Sequence[Term]) -> list[int]:
        """Slots whose row matches every term, in the given order; one pass
        per term over the survivors of the previous one, longest word first."""
        out = slots if isinstance(slots, list) else list(slots)
        for term in sorted(terms, key=lambda t: -len(t.needle)):
            needle = term.needle
            text = self._text if term.column is None else self._column_text(term.column)
            out = [s for s in out if needle in text[s]]  # type: ignore[operator]
        return out if out is not slots else list(out)

    def _matches(self, slot: int, terms: Sequence[Term]) -> bool:
        for term in terms:
            text = self._text if term.column is None else self._column_text(term.column)
            if term.needle not in text[slot]:  # type: ignore[operator]
                return False
        return True

    def _set_sort(self, sort: tuple[int, bool] | None) -> None:
        self._sort = sort
        self._sort_as_text = False
        self._resort()
        self._rebuild_view()
        self._settle_cursor(None, -1)

    def _sort_key_of(self, slot: int) -> tuple:
        assert self._sort is not None
        col = self._sort[0]
        column = self.columns[col]
        row = self._rows[slot]
        assert row is not None
        if column.sort_key is None:
            value: object = self._column_text(col)[slot]
        else:
            cell = row.cells[col] if col < len(row.cells) else ""
            value = column.sort_key(row.data if row.data is not None else cell_text(cell))
            if self._sort_as_text and value is not None:
                value = str(value)
        if value is None:
            return (1, 0, self._seq[slot])
        return (0, value, self._seq[slot])

    def _resort(self) -> None:
        natural = list(self._slot.values())
        self._skey = [None] * len(self._rows)
        if self._sort is None:
            self._order = natural
            return
        for slot in natural:
            self._skey[slot] = self._sort_key_of(slot)
        try:
            self._order = sorted(natural, key=self._skey.__getitem__)  # type: ignore[arg-type]
        except TypeError:  # values of mixed types: compare their text
            self._sort_as_text = True
            for slot in natural:
                self._skey[slot] = self._sort_key_of(slot)
            self._order = sorted(natural, key=self._skey.__getitem__)  # type: ignore[arg-type]

    def _order_delete(self, slot: int) -> None:
        order = self._order
        i = bisect_left(order, self._skey[slot], key=self._skey.__getitem__)  # type: ignore[arg-type]
        if i < len(order) and order[i] == slot:
            del order[i]
        else:  # not expected; stay correct anyway
            order.remove(slot)

    def _order_insert(self, slots: Sequence[int]) -> None:
        try:
            for slot in slots:
                insort(self._order, slot, key=self._skey.__getitem__)  # type: ignore[arg-type]
        except TypeError:
            self._sort_as_text = True
            self._resort()
