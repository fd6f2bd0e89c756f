"""Drawing one line of a VirtualTable: the header, a row, a row's style.

Plain-string cells of a row become one ``Segment``; a ``rich.text.Text``
cell keeps its own styles over the row's. Each column takes its width plus
one cell of padding each side; a longer cell is cut with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from ksystui.ui.widgets.table_rows import Column, Row

__all__ = ["ROW_CLASSES", "fit", "header_strip", "row_strip", "row_style"]

ROW_CLASSES = ("stale", "unreachable", "alert", "selected-op")


def header_strip(
    columns: Sequence[Column], widths: Sequence[int], sort: tuple[str, bool] | None, style: Style,
    note: str = "",
) -> Strip:
    """Column labels; the sorted column's ends with ▲ (ascending) or ▼;
    ``note`` after them (how many columns did not fit)."""
    parts: list[str] = []
    for column, width in zip(columns, widths, strict=True):
        label = column.label
        if sort is not None and sort[0] == column.key:
            label = set_cell_size(label, max(0, width - 1)).rstrip() + ("▼" if sort[1] else "▲")
        parts.append(fit(label, width, column.align))
    return Strip([Segment("".join(parts) + note, style)])


def row_strip(
    columns: Sequence[Column], widths: Sequence[int], row: Row, style: Style, console: Console
) -> Strip:
    segments: list[Segment] = []
    plain: list[str] = []  # runs of plain-string cells become one segment
    for column, width, cell in zip(columns, widths, row.cells, strict=False):
        if type(cell) is str:
            plain.append(fit(cell, width, column.align))
            continue
        text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
        text.truncate(width, overflow="ellipsis")
        pad = " " * (width - text.cell_len)
        left, right = (pad, "") if column.align == "right" else ("", pad)
        plain.append(f" {left}")
        segments.append(Segment("".join(plain), style))
        plain = [f"{right} "]
        own = style + console.get_style(text.style, default=Style.null())
        segments.extend(Segment.apply_style(text.render(console), own))
    if plain:
        segments.append(Segment("".join(plain), style))
    return Strip(segments)


def row_style(
    base: Style,
    component: Callable[..., Style],
    index: int,
    row: Row,
    is_cursor: bool,
    zebra: bool,
) -> Style:
    """``base``, then the zebra stripe, then each row class (its colour and
    text style; its background only if the class sets one), then the cursor.
    ``component`` is the widget's ``get_component_rich_style``."""
    style = base
    if zebra and index % 2:
        style += component("virtual-table--even-row")
    if row.style:
        for name in row.style.split():
            if name in ROW_CLASSES:
                full = component(f"virtual-table--{name}")
                own_background = component(f"virtual-table--{name}", partial=True).bgcolor
                style += full.without_color + Style.from_color(
                    full.color, full.bgcolor if own_background else None
                )
    if is_cursor:
        style += component("virtual-table--cursor")
    return style


def fit(text: str, width: int, align: str) -> str:
    """``text`` padded or cut (with an ellipsis) to ``width`` cells, with one
    cell of padding each side."""
    if width <= 0:
        return "  "
    length = len(text) if text.isascii() else cell_len(text)
    if length > width:
        cut = text[: width - 1] if text.isascii() else set_cell_size(text, width - 1)
        return f" {cut}… "
    pad = " " * (width - length)
    return f" {pad}{text} " if align == "right" else f" {text}{pad} "
