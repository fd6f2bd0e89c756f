"""The screens of the control room: one table screen per view (columns
from the view registry), detail screens for drill-down, and help. Screens
ask the app for what they cannot do themselves by posting messages
(``ui.messages``); none of them imports the app."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from ksystui.core.fleet_view import FleetView, ViewChanges
from ksystui.core.viewdefs import VIEW_DEFS, VIEWS, ColumnKind, ViewDef
from ksystui.core.views import ViewRow
from ksystui.ui.actions import HELP_MARKS, Action, help_rows
from ksystui.ui.chrome import Banner, Breadcrumb, FleetHeader
from ksystui.ui.messages import (
    AcknowledgeRequested,
    DrillDownRequested,
    OperationRequested,
    RefreshRequested,
    ScreenShown,
)
from ksystui.ui.ports import ArbiterClient
from ksystui.ui.widgets.virtual_table import Column, Row, RowChanges, VirtualTable


def to_row(r: ViewRow) -> Row:
    return Row(key=r.key, cells=r.cells, style=r.style, data=r)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_AGE_PART = re.compile(r"(\d+)([dhms])")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def number_in(text: str) -> float:
    """The number a cell shows ("62.5%" → 62.5); none ("-") sorts last."""
    m = _NUMBER.search(text)
    return float(m.group()) if m else float("inf")


def age_in(text: str) -> float:
    """The seconds an age cell spells (core.age's "4m05s", "in 5s", "3s ago");
    "live" and "now" are the youngest, "never" and "-" sort last."""
    if text in ("live", "now"):
        return 0.0
    if "<1s" in text:
        return 0.5
    parts = _AGE_PART.findall(text)
    return float(sum(int(n) * _SECONDS[u] for n, u in parts)) if parts else float("inf")


def _by(index: int, parse: Callable[[str], float]) -> Callable[[object], object]:
    def key(data: object) -> float:
        cells = getattr(data, "cells", None)
        return parse(cells[index]) if cells else (parse(data) if isinstance(data, str) else float("inf"))

    return key


_PARSE = {ColumnKind.NUMBER: number_in, ColumnKind.AGE: age_in}


LONG_TEXT_CAP = 400  # a long text column shows up to this much of its text when the terminal is that wide


def columns_for(view: ViewDef, *, typed_sort: bool = True) -> list[Column]:
    """The table's columns, from the registry: numbers right-aligned; numbers
    and ages sort by what they mean when the rows carry their cells; the
    columns the view keeps when narrow, and its long text columns, which
    take the width that is free."""
    out = []
    for i, c in enumerate(view.columns):
        parse = _PARSE.get(c.kind)
        kw: dict[str, Any] = {"max_width": c.max_width} if c.max_width else {}
        if c.long_text:
            kw = {"max_width": c.max_width or LONG_TEXT_CAP, "grow": True}
        out.append(Column(key=c.key, label=c.label, align="right" if c.kind is ColumnKind.NUMBER else "left",
                          sort_key=_by(i, parse) if parse and typed_sort else None, keep=view.kept(c.key),
                          drop_rank=view.drop_first.index(c.key) + 1 if c.key in view.drop_first else 0, **kw))
    return out


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar { display: none; height: 1; border: none; padding: 0 1; }  /* in flow: between table and footer */
    FilterBar:focus { border: none; }  /* Input's focus border would leave no row for the text */
    FilterBar.-shown { display: block; }
    """


class BaseScreen(Screen):
    """Header, breadcrumb, banner and footer: the frame every screen shares."""

    view: str = "overview"

    def compose_frame(self) -> ComposeResult:
        yield FleetHeader(id="header")
        yield Breadcrumb(id="breadcrumb")
        yield Banner(id="banner")

    def crumb(self) -> str:
        return VIEWS[self.view].title if self.view in VIEWS else self.view

    def on_screen_resume(self) -> None:
        self.post_message(ScreenShown())


class TableViewScreen(BaseScreen):
    """A screen around one virtual table: ``/`` filters it, ``s``/``S`` sort
    it (the fleet views, the queue and the audit trail share this)."""

    preset_filter: str = ""
    _sort_index: int = -1

    def compose_table(self, columns: list[Column], **kw: Any) -> ComposeResult:
        yield VirtualTable(columns, id="table", **kw)
        yield FilterBar(placeholder="filter: words, or column:value  (Enter keeps, Esc clears)", id="filter")

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    @property
    def ready(self) -> bool:
        """Whether the table is mounted (a screen just pushed composes first)."""
        return bool(self.query(VirtualTable))

    def selected(self) -> Any:
        if not self.ready:
            return None
        row = self.table.cursor_row
        return row.data if row is not None else None

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.add_class("-shown")
        bar.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBar):
            self.table.set_filter(" ".join(p for p in (self.preset_filter, event.value) if p))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterBar):
            if not event.value:
                event.input.remove_class("-shown")
            self.table.focus()

    def close_filter(self) -> bool:
        bar = self.query_one(FilterBar)
        if bar.has_class("-shown"):
            bar.value = ""
            bar.remove_class("-shown")
            self.table.set_filter(self.preset_filter)
            self.table.focus()
            return True
        return False

    def start_sorted(self, column_key: str, descending: bool) -> None:
        """Open sorted by a column; ``s``/``S`` go on from it."""
        self.table.set_sort(column_key, descending)
        self._sort_index = [c.key for c in self.table.columns].index(column_key)

    def action_sort_next(self) -> None:
        cols = self.table.columns
        self._sort_index = (self._sort_index + 1) % len(cols)
        self.table.sort_by(cols[self._sort_index].key)
        self.notify(f"sorted by {cols[self._sort_index].label}", timeout=1.5)

    def action_sort_reverse(self) -> None:
        if self._sort_index >= 0:
            self.table.sort_by(self.table.columns[self._sort_index].key)


class ArbiterTableScreen(TableViewScreen):
    """A table read from the arbiter (the queue, the audit trail): a note
    above it, the rows polled every ``poll_seconds``. Subclasses say what
    their table holds and fill it in ``reload``."""

    poll_seconds: float
    without_arbiter: str  # what the view cannot show when the console has no database

    def __init__(self, arbiter: ArbiterClient | None, scope: str | None) -> None:
        super().__init__()
        self.arbiter = arbiter
        self.scope = scope

    def compose(self) -> ComposeResult:
        yield from self.compose_frame()
        yield Static("", id="note", classes="table-note")
        # the rows carry the arbiter's lines, not their cells: numbers sort as text
        yield from self.compose_table(columns_for(VIEWS[self.view], typed_sort=False), paint_interval=0.2)
        yield Footer()

    def on_mount(self) -> None:
        if self.arbiter is None:
            self.note(f"  This console has no arbiter (no database configured): {self.without_arbiter}")
            return
        self.reload()
        self.set_interval(self.poll_seconds, self.reload)
        self.table.focus()

    def note(self, text: str) -> None:
        self.query_one("#note", Static).update(text)

    def reload(self) -> object:
        """Read the rows again (a worker: returns it)."""
        raise NotImplementedError


class TableScreen(TableViewScreen):
    """A fleet view as a virtual table: filter, sort, drill down."""

    def __init__(self, view: str, picture: FleetView, *, preset_filter: str = "", tenant: str | None = None,
                 title: str | None = None):
        super().__init__()
        self.view = view
        self.viewdef = VIEWS[view]
        self.picture = picture
        self.preset_filter = preset_filter
        self.tenant = tenant  # for the tenant detail view
        self.title_text = title

    def crumb(self) -> str:
        base = self.title_text or self.viewdef.title
        return f"{base} [{self.preset_filter}]" if self.preset_filter else base

    def compose(self) -> ComposeResult:
        yield from self.compose_frame()
        yield from self.compose_table(columns_for(self.viewdef))
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        default = self.viewdef.default_sort
        if default is not None:
            self.start_sorted(*default)
        if self.preset_filter:
            self.table.set_filter(self.preset_filter)
        self.table.focus()

    def reload(self) -> None:
        self.table.set_rows(to_row(r) for r in self.picture.rows_for(self.view, self.tenant))

    def apply_changes(self, changes: dict[str, ViewChanges]) -> None:
        if not self.ready:  # composing, or torn down at shutdown: on_mount reloads
            return
        if self.view not in self.picture.rows:  # built when opened (one tenant's): build again
            if changes:
                self.reload()
            return
        ch = changes.get(self.view)
        if ch:
            self.table.apply(RowChanges(upsert=tuple(to_row(r) for r in ch.upsert), remove=tuple(ch.remove)))

    # --- actions: the screen asks, the app decides -----------------------------------
    def action_open(self) -> None:
        row = self.selected()
        if row is not None:
            self.post_message(DrillDownRequested(self.view, row))

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        row = event.row.data if event.row is not None else None
        if isinstance(row, ViewRow):
            self.post_message(DrillDownRequested(self.view, row))

    def action_refresh(self) -> None:
        row = self.selected()
        if row is not None and row.node:
            self.post_message(RefreshRequested(row.node))

    def action_acknowledge(self) -> None:
        # a view that acknowledges keys its rows (kind, event identity)
        row = self.selected()
        if row is not None:
            self.post_message(AcknowledgeRequested(row.key[1]))

    def action_operate(self, word: str) -> None:
        self.post_message(OperationRequested(word, self.selected()))


class DetailScreen(BaseScreen):
    """Every field of one thing (a VM, an event, a node), as key: value."""

    def __init__(self, title: str, pairs: Sequence[tuple[str, str]], view: str = "detail"):
        super().__init__()
        self.title_text = title
        self.pairs = pairs
        self.view = view

    def crumb(self) -> str:
        return self.title_text

    def compose(self) -> ComposeResult:
        yield from self.compose_frame()
        text = Text()
        width = max((len(k) for k, _ in self.pairs), default=0) + 2
        for k, v in self.pairs:
            text.append(f"{k + ':':<{width}}", style="bold")
            text.append(f"{v}\n")
        with VerticalScroll(id="detail"):
            yield Static(text)
        yield Footer()


def command_lines(words: Sequence[str], width: int = 78) -> str:
    """The ``:`` commands for ``?``, wrapped under their heading."""
    head, indent = "Commands (:):  ", " " * 15
    lines, line = [], head
    for w in words:
        if len(line) + len(w) > width and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = indent
        line += w + "  "
    lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


class HelpScreen(ModalScreen):
    """``?``: the keys of the current view, from the action registry."""

    BINDINGS = [("escape,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; max-width: 100%; max-height: 90%; border: round $accent; background: $surface;
                                  padding: 0 1; }
    """

    def __init__(self, view: str, readonly: bool, actions: Iterable[Action], views: Sequence[ViewDef] = VIEW_DEFS):
        super().__init__()
        self.view_name = view
        self.readonly = readonly
        self.actions = tuple(actions)
        self.views = views

    def compose(self) -> ComposeResult:
        t = Text()
        t.append(f"Keys in the {self.view_name} view\n\n", style="bold")
        rows = help_rows(self.actions, self.view_name, self.readonly)
        for key, desc, mark in rows:
            # a mark column, not a trailing note: a note wraps under the next key in a narrow dialog
            t.append(f"{key:>6} ", style="bold")
            t.append(f"{mark:1} ", style="bold red" if mark == "!" else "dim")
            t.append(desc + "\n", style="dim" if mark == "×" else "")
        used = {mark for _, _, mark in rows}
        legend = [f"{mark} {meaning}" for mark, meaning in HELP_MARKS.items() if mark in used]
        if legend:
            t.append("\n" + "    ".join(legend) + "\n", style="dim")
        view = next((v for v in self.views if v.name == self.view_name), None)
        if view is not None and view.keep:
            kept = ", ".join(c.label for c in view.columns if c.key in view.keep)
            t.append(f"\nA narrow terminal keeps {kept}; the header says how many columns it hid.\n", style="dim")
        words = [v.name for v in self.views if v.commandable]
        words += ["tenant NAME", "scope TENANT|all", "theme NAME", "help", "quit"]
        t.append("\n" + command_lines(words), style="dim")
        t.append("Filter (/):  words match any column; column:value matches one column.\n", style="dim")
        with VerticalScroll():
            yield Static(t)
