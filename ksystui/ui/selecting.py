"""The selection a view switch keeps: each view opens with its cursor on
the row most about what the operator selected last (tenant, node, VM), or
on the row it was last on (``core.selection`` decides). Without it ``6``
then ``0`` put the cursor back on the first tenant, and the next ``m``
acted on another tenant than the one just selected."""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from functools import partial
from typing import Any

from textual.app import App
from textual.screen import Screen

from ksystui.core.selection import Selection, placed_key, refined, selection_of
from ksystui.core.views import ViewRow
from ksystui.ui.screens import BaseScreen, TableScreen, TableViewScreen
from ksystui.ui.widgets.virtual_table import VirtualTable

PLACE_TRIES = 60  # 50 ms waits a view is given to show its rows before its cursor stays where it is


class SelectionDesk(App[None]):
    """Views come on screen through ``_show`` (a base of ``ControlRoomApp``)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.selection: Selection | None = None  # what the operator selected, in whichever view
        self._view_keys: dict[str, Hashable] = {}  # each view's last row
        self._placed: weakref.WeakSet[Screen[Any]] = weakref.WeakSet()  # screens whose cursor was put back

    def _show(self, screen: BaseScreen, *, push: bool = False) -> None:
        """Put a view on screen, its cursor on what the operator selected."""
        if push:
            self.push_screen(screen)
        else:
            self._switch(screen)
        self._place(screen)

    def _switch(self, screen: Screen[Any]) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _place(self, screen: BaseScreen, tries: int = 0) -> None:
        if screen not in self.screen_stack:
            return
        if not isinstance(screen, TableViewScreen):
            self._placed.add(screen)
            return
        if not screen.ready or screen.table.row_count == 0:
            if tries < PLACE_TRIES:  # composing, or an arbiter view's first read not back yet
                self.set_timer(0.05, partial(self._place, screen, tries + 1))
                return
        else:
            rows = screen.picture.rows_for(screen.view, screen.tenant) if isinstance(screen, TableScreen) else []
            key = placed_key(rows, self.selection, self._view_keys.get(screen.view))
            if key is not None and screen.table.get_row(key) is not None:
                screen.table.move_cursor_to(key)
        self._placed.add(screen)

    def on_virtual_table_cursor_moved(self, message: VirtualTable.CursorMoved) -> None:
        table = message.table
        if not table.is_attached or message.key is None or message.key != table.cursor_key:
            return  # not (or no longer) where the cursor is
        screen = table.screen
        if screen not in self._placed:
            return  # the view's first row, before its cursor was put back on the selection
        self._view_keys[getattr(screen, "view", "")] = message.key
        data = message.row.data if message.row is not None else None
        if isinstance(screen, TableScreen) and isinstance(data, ViewRow):
            self.selection = refined(self.selection, selection_of(data))
