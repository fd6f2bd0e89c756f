"""Which columns a table shows in the width it has, and how wide each is.
Pure (no Textual import).

A wide terminal shows every column at its content's width, and a long text
column (``Column.grow``: a description, a reason, WHY/PROGRESS) its whole
text. When the columns do not fit, long text shrinks first (down to
``GROW_MIN`` cells, its cells then end in an ellipsis); then the columns a
view does not keep (``Column.keep`` False) go, those it ranks first
(``Column.drop_rank``) in their order, then the others rightmost first, and their
width goes back to the long text; if the kept columns alone are still too
wide, long text shrinks down to its label (and the table scrolls sideways). A table never loses a column silently: the
layout says how many it hid (the header says so), and every cell is whole
in the row's detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len

from ksystui.ui.widgets.table_rows import Column

__all__ = ["GROW_MIN", "PAD", "Layout", "hidden_note", "layout"]

PAD = 2  # one cell each side of every column
GROW_MIN = 24  # a long text column never shrinks below this (or its content, if shorter)


@dataclass(frozen=True)
class Layout:
    shown: tuple[int, ...]  # column indexes, in order
    widths: tuple[int, ...]  # content width of each shown column (without padding)
    hidden: int = 0  # columns that did not fit

    @property
    def total(self) -> int:
        return sum(self.widths) + PAD * len(self.widths)


def hidden_note(count: int) -> str:
    """What the header says when columns did not fit (the row's detail shows them)."""
    return f"+{count} hidden" if count else ""  # after the last column's own padding


def layout(columns: Sequence[Column], natural: Sequence[int], available: int | None) -> Layout:
    """Columns to show and their widths in ``available`` cells (None: no
    limit). ``natural`` is each column's content width (capped at its
    ``max_width``; a long text column's cap is its whole text)."""
    everything = tuple(range(len(columns)))
    if available is None or _total(natural, everything) <= available:
        return Layout(everything, tuple(natural[i] for i in everything), 0)
    floor = [min(natural[i], max(GROW_MIN, cell_len(c.label) + 1)) if c.grow else natural[i]
             for i, c in enumerate(columns)]
    shown = list(everything)
    # ranked columns first (``Column.drop_rank``), then the rest, rightmost first
    droppable = sorted((i for i in reversed(everything) if not columns[i].keep),
                       key=lambda i: (columns[i].drop_rank == 0, columns[i].drop_rank, -i))
    room = available
    dropped: list[int] = []
    while droppable and _total(floor, shown) > room:
        dropped.append(droppable.pop(0))
        shown.remove(dropped[-1])
        room = available - cell_len(hidden_note(len(columns) - len(shown)))
    # a narrower column dropped before a wide one may fit after all (where no long text wants the room)
    growing_shown = any(columns[i].grow for i in shown)
    for i in reversed(dropped[:-1]):
        if not growing_shown and _total(floor, shown) + floor[i] + PAD <= room:
            shown = sorted([*shown, i])
    widths = {i: floor[i] for i in shown}
    growing = [i for i in shown if columns[i].grow]
    spare = room - _total(floor, shown)
    # still too wide with only the kept columns: long text gives up more, down to its label
    for i in growing:
        if spare >= 0:
            break
        least = min(widths[i], cell_len(columns[i].label) + 1)
        take = min(widths[i] - least, -spare)
        widths[i] -= take
        spare += take
    # hand the spare width to the long text columns, the narrowest first, none past its whole text
    while spare > 0 and growing:
        wanting = [i for i in growing if widths[i] < natural[i]]
        if not wanting:
            break
        share = max(1, spare // len(wanting))
        for i in sorted(wanting, key=lambda i: natural[i] - widths[i]):
            give = min(share, natural[i] - widths[i], spare)
            widths[i] += give
            spare -= give
            if spare <= 0:
                break
    return Layout(tuple(shown), tuple(widths[i] for i in shown), len(columns) - len(shown))


def _total(widths: Sequence[int], shown: Sequence[int]) -> int:
    return sum(widths[i] + PAD for i in shown)
