"""The pure row store behind :class:`~ksystui.ui.widgets.virtual_table.VirtualTable`:
keyed rows, coalesced change sets, filter, cursor stability. No Textual
import; over :mod:`.table_rows` (rows, filter words, search index, column
widths) and :mod:`.table_order` (natural or sorted order). Property-tested
in ``tests/ui/test_table_model.py``.

Costs, with ``n`` rows and ``k`` changed rows per flush: ``set_rows`` is a
few C-level passes over the rows; ``flush`` is O(k) to store, O(k log n) to
move changed rows to their sorted place (a full re-sort past n/8 of them),
and one O(n) pass to rebuild the view only when rows were added, removed or
moved, or entered/left the filter; ``set_filter`` tests each candidate's
lower-cased search string (computed when the row changed), and a narrowing
filter only tests the previous result; column widths never scan the rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from ksystui.ui.widgets.table_order import SortOrder
from ksystui.ui.widgets.table_rows import (
    Column,
    ColumnWidths,
    FlushResult,
    Row,
    RowChanges,
    SearchIndex,
    Term,
    cell_text,
    narrows,
    parse_filter,
)

__all__ = ["Column", "FlushResult", "Row", "RowChanges", "TableModel"]

_REMOVED = object()  # marks a queued removal in the pending map


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
        self._search = SearchIndex(self._rows)
        self._seq: list[int] = []  # arrival number: ties keep the natural order
        self._free: list[int] = []
        self._next_seq = 0
        self._pending: dict[Hashable, object] = {}
        self._widths = ColumnWidths(self.columns)
        self._order = SortOrder(lambda: list(self._slot.values()), self._sort_key_of)
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
        sort = self._order.sort
        return None if sort is None else (self.columns[sort[0]].key, sort[1])

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
        ascii_only = self._search.load(self._rows, cells)
        self._widths.load(cells, ascii_only)
        self._seq = list(range(len(rows)))
        self._next_seq = len(rows)
        self._free = []
        self._order.rebuild(len(self._rows))
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
        slots, rows, widths = self._slot, self._rows, self._widths
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
        order = self._order
        sorted_ = order.active
        terms = self._terms
        moved: list[int] = []  # sorted slots taken out of _order, to re-insert
        changes = len(removed) + len(updated) + len(added)
        full_resort = sorted_ and changes > len(slots) // 8 + self.RESORT_SLACK
        membership_changed = False

        for slot in removed:
            row = rows[slot]
            assert row is not None
            if sorted_ and not full_resort:
                order.delete(slot)
            widths.remove(row)
            del slots[row.key]
            rows[slot] = None
            self._search.store(slot, None)
            order.keys[slot] = None
        for slot, row in updated:
            was = bool(terms) and self._search.matches(slot, terms)
            widths.remove(rows[slot])  # type: ignore[arg-type]
            widths.add(row)
            rows[slot] = row
            self._search.store(slot, row)
            if sorted_:
                new_key = self._sort_key_of(slot)
                if new_key != order.keys[slot]:
                    if not full_resort:
                        order.delete(slot)
                        moved.append(slot)
                    order.keys[slot] = new_key
            if terms and was != self._search.matches(slot, terms):
                membership_changed = True
        new_slots: list[int] = []
        for row in added:
            slot = self._alloc(row)
            new_slots.append(slot)
            widths.add(row)
            if sorted_:
                order.keys[slot] = self._sort_key_of(slot)
                moved.append(slot)
        self._free.extend(removed)  # reused from the next flush on, never within one

        if sorted_:
            if full_resort:
                order.rebuild(len(rows))
            else:
                order.insert(moved)
        elif removed:
            order.order = list(slots.values())
        else:
            order.order.extend(new_slots)

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
            self._view = self._scan(self._order.source(), terms)
        self._settle_cursor(None, -1)

    def set_sort(self, column_key: str | None, descending: bool = False) -> None:
        """Sort by a column (None: the natural order)."""
        self._set_sort(None if column_key is None else (self._column_index(column_key), descending))

    def sort_by(self, column_key: str) -> None:
        """Ascending, then descending, then back to the natural order."""
        index = self._column_index(column_key)
        sort = self._order.sort
        if sort is None or sort[0] != index:
            self._set_sort((index, False))
        elif not sort[1]:
            self._set_sort((index, True))
        else:
            self._set_sort(None)

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
            src = self._order.source()
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
        return not self._terms or self._search.matches(slot, self._terms)

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
            self._seq.append(seq)
            self._search.grow()
            self._order.new_slot()
        self._slot[row.key] = slot
        self._search.store(slot, row)
        return slot

    def _remeasure(self, col: int) -> None:
        rows = [self._rows[s] for s in self._slot.values()]
        self._widths.measure(col, [r.cells[col] for r in rows if col < len(r.cells)])  # type: ignore[union-attr]

    def _column_index(self, column_key: str) -> int:
        for i, column in enumerate(self.columns):
            if column.key == column_key:
                return i
        raise KeyError(f"no column {column_key!r}")

    def _rebuild_view(self) -> None:
        src = self._order.source()
        self._view = self._scan(src, self._terms) if self._terms else list(src)

    def _scan(self, slots: Iterable[int], terms: Sequence[Term]) -> list[int]:
        return self._search.scan(slots if isinstance(slots, list) else list(slots), terms)

    def _set_sort(self, sort: tuple[int, bool] | None) -> None:
        self._order.set(sort, len(self._rows))
        self._rebuild_view()
        self._settle_cursor(None, -1)

    def _sort_key_of(self, slot: int) -> tuple:
        sort = self._order.sort
        assert sort is not None
        column = self.columns[sort[0]]
        row = self._rows[slot]
        assert row is not None
        if column.sort_key is None:  # the lower-cased cell text
            return (0, self._search.column(sort[0])[slot], self._seq[slot])
        cell = row.cells[sort[0]] if sort[0] < len(row.cells) else ""
        value = column.sort_key(row.data if row.data is not None else cell_text(cell))
        if value is None:
            return (1, 0, self._seq[slot])
        return (0, str(value) if self._order.as_text else value, self._seq[slot])
