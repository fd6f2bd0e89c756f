"""A keyed, virtual table: only the rows on screen are rendered.

Why our own Line-API widget and not a library
---------------------------------------------
Textual's stock ``DataTable`` pays O(rows) per repaint and per removal and
takes seconds to load 50,000 rows (``/work/shared/ui-anchors.md`` §2.3).
``textual-fastdatatable`` (tconbeer, maintained, 0.19.5 on PyPI, installs
here with ``pyarrow``) renders fast from an immutable Arrow table, which is
what harlequin needs for query results, but it does not fit a live fleet:

- its API is index-based, with no row keys, so every keyed change would
  need our own key -> index map, re-derived after each sort or removal;
- ``ArrowBackend.update_cell`` rebuilds the whole column (O(rows) per
  cell), ``drop_row`` rebuilds the table and resets the width cache, and
  its README says mutating rows "may be slow": the opposite of 1,000 state
  changes a second on 100,000 rows;
- it has no filter, and its cursor is a coordinate, so cursor stability
  across changes, filters and sorts would be ours anyway;
- it pulls ``pyarrow`` (tens of MB) into a terminal UI for no other use.

What it would have given us, drawing only the visible lines, is the small
part: Textual's Line API (``ScrollView.render_line`` returning a ``Strip``)
does it here with :mod:`.table_render`. The keyed change sets, coalescing,
ordering, filtering and cursor logic live in :mod:`.table_model` (pure, no
Textual import, property-tested). Line 0 is the header (it never scrolls
vertically); line ``y`` shows view row ``scroll_y + y - 1``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from ksystui.ui.widgets.table_layout import Layout, hidden_note, layout
from ksystui.ui.widgets.table_model import Column, Row, RowChanges, TableModel
from ksystui.ui.widgets.table_render import ROW_CLASSES, header_strip, row_strip, row_style

__all__ = ["Column", "Row", "RowChanges", "VirtualTable"]


class _RowMessage(Message):
    def __init__(self, table: VirtualTable, key: Hashable | None, row: Row | None) -> None:
        super().__init__()
        self.table, self.key, self.row = table, key, row

    @property
    def control(self) -> VirtualTable:
        return self.table


class VirtualTable(ScrollView, can_focus=True):
    """A table of keyed rows that renders only what is on screen.

    Changes arrive as keyed change sets (:meth:`apply`) and are painted at
    most once per ``paint_interval``. The cursor follows its row's key
    through changes, filters and sorts.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even-row",
        "virtual-table--empty",
        *(f"virtual-table--{name}" for name in ROW_CLASSES),
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .virtual-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .virtual-table--even-row { background: $surface-lighten-1 50%; }
        & > .virtual-table--stale { color: $text-muted; }
        & > .virtual-table--unreachable { color: $text-disabled; text-style: italic; }
        & > .virtual-table--alert { color: $text-error; text-style: bold; }
        & > .virtual-table--selected-op { background: $accent-muted; }
        & > .virtual-table--empty { color: $text-muted; text-style: italic; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G,shift+g", "last", "Last", show=False),
        Binding("enter", "activate", "Open", show=False),
    ]

    class RowActivated(_RowMessage):
        """Enter or a double click on a row."""

    class CursorMoved(_RowMessage):
        """The cursor moved to another key (``None`` when the table shows no row)."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        paint_interval: float = 0.5,
        zebra_stripes: bool = False,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._model = TableModel(columns)
        self._columns = tuple(columns)
        self._paint_interval = paint_interval
        self._zebra = zebra_stripes
        self._timer: Timer | None = None
        self._flush_count = 0
        self._layout: Layout = layout(self._columns, self._model.widths(), None)
        self._reported_key: Hashable | None = None
        self._update_virtual_size()

    # ------------------------------------------------------------------ public API

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def cursor_key(self) -> Hashable | None:
        return self._model.cursor_key

    @property
    def cursor_row(self) -> Row | None:
        key = self._model.cursor_key
        return None if key is None else self._model.get(key)

    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return self._model.row_count

    @property
    def total_count(self) -> int:
        """Rows stored."""
        return self._model.total_count

    @property
    def filter_text(self) -> str:
        return self._model.filter_text

    @property
    def sort_state(self) -> tuple[str, bool] | None:
        """``(column key, descending)``, or ``None`` for the natural order."""
        return self._model.sort_state

    def get_row(self, key: Hashable) -> Row | None:
        return self._model.get(key)

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replace every row (first load); queued changes are dropped."""
        self._stop_timer()
        anchor = self._anchor()
        self._model.set_rows(rows)
        self._changed(anchor)

    def apply(self, changes: RowChanges) -> None:
        """Queue keyed changes; they are painted at most once per paint_interval."""
        self._model.queue(changes)
        if self._paint_interval <= 0:
            self.flush()
        elif self.is_mounted:
            self._schedule()

    def flush(self) -> None:
        """Apply the queued changes now."""
        self._stop_timer()
        if not self._model.has_pending:
            return
        anchor = self._anchor()
        self._model.flush()
        self._flush_count += 1
        self._changed(anchor)

    def set_filter(self, text: str) -> None:
        """Case-insensitive; ``a b``: rows containing both words, in any cells;
        ``state:MOVED``: the word in that column only (key or label)."""
        anchor = self._anchor()
        self._model.set_filter(text)
        self._changed(anchor, keep_cursor_visible=True)

    def set_sort(self, column_key: str | None, descending: bool = False) -> None:
        """Sort by a column (None: the natural order)."""
        anchor = self._anchor()
        self._model.set_sort(column_key, descending)
        self._changed(anchor, keep_cursor_visible=True)

    def sort_by(self, column_key: str) -> None:
        """Ascending, then descending, then the natural order again."""
        anchor = self._anchor()
        self._model.sort_by(column_key)
        self._changed(anchor, keep_cursor_visible=True)

    def move_cursor_to(self, key: Hashable) -> None:
        """Put the cursor on ``key`` (if shown) and scroll it into view."""
        if self._model.move_cursor_to(key):
            self._cursor_moved()

    @property
    def shown_columns(self) -> tuple[Column, ...]:
        """The columns on screen (a narrow table hides those its view does not keep)."""
        return tuple(self._columns[i] for i in self._layout.shown)

    def visible_rows(self) -> list[Row]:
        """Rows currently on screen."""
        top = round(self.scroll_y)
        return self._model.rows_between(top, top + self._body_height())

    # ------------------------------------------------------------------ actions

    def action_cursor_up(self) -> None:
        self._move_by(-1)

    def action_cursor_down(self) -> None:
        self._move_by(1)

    def action_page_up(self) -> None:
        self._move_by(-self._body_height(), scroll=True)

    def action_page_down(self) -> None:
        self._move_by(self._body_height(), scroll=True)

    def action_first(self) -> None:
        self._move_to_index(0)

    def action_last(self) -> None:
        self._move_to_index(self._model.row_count - 1)

    def action_activate(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.RowActivated(self, row.key, row))

    # ------------------------------------------------------------------ events

    def on_mount(self) -> None:
        super().on_mount()
        if self._model.has_pending:
            self._schedule()
        self._report_cursor()

    def on_unmount(self) -> None:
        self._stop_timer()

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + round(self.scroll_x))
            if column is not None:
                self.sort_by(column.key)
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < self._model.row_count:
            self._move_to_index(index)
            if event.chain >= 2:
                self.action_activate()

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        fill = self.rich_style
        scroll_x = round(self.scroll_x)
        model = self._model
        index = round(self.scroll_y) + y - 1
        lay = self._layout
        if y == 0:
            fill = self.get_component_rich_style("virtual-table--header")
            strip = header_strip(self.shown_columns, lay.widths, model.sort_state, fill, hidden_note(lay.hidden))
        elif index < model.row_count:
            row = model.row_at(index)
            get = self.get_component_rich_style
            fill = row_style(self.rich_style, get, index, row, index == model.cursor_index, self._zebra)
            if lay.hidden:
                cells = row.cells
                row = Row(row.key, tuple(cells[i] if i < len(cells) else "" for i in lay.shown), row.style, row.data)
            strip = row_strip(self.shown_columns, lay.widths, row, fill, self.app.console)
        elif index == 0 and model.total_count:
            style = self.get_component_rich_style("virtual-table--empty")
            strip = Strip([Segment(f" no row matches {model.filter_text!r}", style)])
        else:
            return Strip.blank(width, fill)
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    # ------------------------------------------------------------------ internals

    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _column_at(self, x: int) -> Column | None:
        left = 0
        for column, width in zip(self.shown_columns, self._layout.widths, strict=True):
            left += width + 2
            if x < left:
                return column
        return None

    def _update_virtual_size(self) -> None:
        width = self.scrollable_content_region.width if self.is_mounted else 0
        self._layout = layout(self._columns, self._model.widths(), width or None)
        self.virtual_size = Size(self._layout.total, self._model.row_count + 1)

    def _anchor(self) -> tuple[Hashable, int, bool] | None:
        """What to hold still on screen across a change: the cursor's row if
        it is on screen, else the top row; with its screen line."""
        model = self._model
        if not model.row_count or not self.is_mounted:
            return None
        top = round(self.scroll_y)
        index = model.cursor_index
        if top <= index < top + self._body_height():
            return model.cursor_key, index - top, True
        top = min(top, model.row_count - 1)
        return model.row_at(top).key, 0, False

    def _changed(
        self, anchor: tuple[Hashable, int, bool] | None, keep_cursor_visible: bool = False
    ) -> None:
        self._update_virtual_size()
        if not self.is_mounted:
            return
        model = self._model
        if anchor is not None:
            key, line, was_cursor = anchor
            index = model.index_of(key)
            if index < 0 and was_cursor:
                index = model.cursor_index  # its row went: hold the new cursor row there
            if index >= 0:
                self._scroll_to_line(index - line)
        if keep_cursor_visible:
            self._scroll_cursor_into_view()
        self.refresh()
        self._report_cursor()

    def _scroll_to_line(self, top: int) -> None:
        top = max(0, min(top, self.max_scroll_y))
        if top != round(self.scroll_y):
            self.scroll_to(y=top, animate=False, force=True)

    def _scroll_cursor_into_view(self) -> None:
        index = self._model.cursor_index
        if index < 0:
            return
        top, body = round(self.scroll_y), self._body_height()
        if index < top:
            self._scroll_to_line(index)
        elif index >= top + body:
            self._scroll_to_line(index - body + 1)

    def _move_by(self, delta: int, scroll: bool = False) -> None:
        model = self._model
        if not model.row_count:
            return
        if scroll:
            self._scroll_to_line(round(self.scroll_y) + delta)
        self._move_to_index(max(0, model.cursor_index) + delta)

    def _move_to_index(self, index: int) -> None:
        self._model.move_cursor(index)
        self._cursor_moved()

    def _cursor_moved(self) -> None:  # by the operator: bring it into view
        self._scroll_cursor_into_view()
        self.refresh()
        self._report_cursor()

    def _report_cursor(self) -> None:
        key = self._model.cursor_key
        if key != self._reported_key and self.is_mounted:
            self._reported_key = key
            self.post_message(self.CursorMoved(self, key, self.cursor_row))

    def _schedule(self) -> None:
        if self._timer is None:
            self._timer = self.set_timer(self._paint_interval, self._on_paint_timer)

    def _on_paint_timer(self) -> None:
        self._timer = None
        self.flush()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
