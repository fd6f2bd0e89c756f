"""The display order of a table's rows (before the filter): natural, or
sorted on one column, kept up to date row by row. Pure (no Textual import).

Rows are *slots* (ints). A sorted order is kept ascending by a per-slot key
``(0, value, seq)`` (``(1, 0, seq)`` for a ``None`` value, so it sorts
last); ``seq`` is the row's arrival number, so ties keep the natural order
and every key is unique. Descending is the exact reverse. A changed row is
taken out by bisection on its old key and put back by bisection on its new
one: O(log n) comparisons and one list move each.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Sequence

__all__ = ["SortOrder"]


class SortOrder:
    """All slots in display order before the filter.

    ``natural`` returns every live slot in natural order; ``key_of`` computes
    a slot's sort key for the current ``sort`` (it may read ``as_text``, set
    when the column's values turned out not to compare with each other).
    """

    def __init__(
        self, natural: Callable[[], list[int]], key_of: Callable[[int], tuple]
    ) -> None:
        self._natural = natural
        self._key_of = key_of
        self.sort: tuple[int, bool] | None = None  # (column index, descending)
        self.as_text = False
        self.order: list[int] = []  # natural, or ascending by keys
        self.keys: list[tuple | None] = []  # per slot, when sorted

    @property
    def active(self) -> bool:
        return self.sort is not None

    def source(self) -> list[int]:
        """Slots in display order (a copy when descending)."""
        if self.sort is not None and self.sort[1]:
            return self.order[::-1]
        return self.order

    def set(self, sort: tuple[int, bool] | None, slots: int) -> None:
        """Change the sort and order everything again."""
        self.sort = sort
        self.as_text = False
        self.rebuild(slots)

    def rebuild(self, slots: int) -> None:
        """Order every live slot again; ``slots`` is the number of slots."""
        natural = self._natural()
        self.keys = [None] * slots
        if self.sort is None:
            self.order = natural
            return
        for slot in natural:
            self.keys[slot] = self._key_of(slot)
        try:
            self.order = sorted(natural, key=self.keys.__getitem__)  # type: ignore[arg-type]
        except TypeError:  # values of mixed types: compare their text
            self.as_text = True
            for slot in natural:
                self.keys[slot] = self._key_of(slot)
            self.order = sorted(natural, key=self.keys.__getitem__)  # type: ignore[arg-type]

    def new_slot(self) -> None:
        """A slot was added at the end of the slot lists."""
        self.keys.append(None)

    def delete(self, slot: int) -> None:
        """Take ``slot`` out of a sorted order (by its current key)."""
        order = self.order
        i = bisect_left(order, self.keys[slot], key=self.keys.__getitem__)  # type: ignore[type-var]
        if i < len(order) and order[i] == slot:
            del order[i]
        else:  # not expected; stay correct anyway
            order.remove(slot)

    def insert(self, slots: Sequence[int]) -> None:
        """Put ``slots`` (with their keys set) in their sorted places."""
        try:
            for slot in slots:
                insort(self.order, slot, key=self.keys.__getitem__)  # type: ignore[type-var]
        except TypeError:
            self.as_text = True
            self.rebuild(len(self.keys))
