"""How the console opens the drill views: `:drill [#N]`, `:drills [TENANT]`,
Enter on a drill of the history, and "w" on the confirmation of a DR test
or a move (queue it and watch it). A base of ``ControlRoomApp``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from textual.app import App

from ksystui.core.drills import DrillRun
from ksystui.core.fleet_view import FleetView
from ksystui.ui.drill_screen import DrillScreen, DrillsScreen
from ksystui.ui.ports import ArbiterClient
from ksystui.ui.screens import BaseScreen

DRILL_VIEWS = ("drill", "drills")


class DrillDesk(App[None]):
    """The drill screens, with the tenant's agreed RTO and the console's
    clock (ControlRoomApp sets these attributes)."""

    arbiter: ArbiterClient | None
    state: FleetView
    clock: Callable[[], datetime]

    def rto_of(self, tenant: str) -> timedelta | None:
        """The tenant's agreed RTO (None: none agreed, or not in this console's scope)."""
        info = self.state.tenant(tenant)
        return info.rto if info is not None else None

    def drill_screen_for(self, view: str, arg: str = "") -> BaseScreen:
        """`:drill [#N]` or `:drills [filter]`."""
        if view == "drills":
            return DrillsScreen(self.arbiter, self.state.scope, arg, rto_of=self.rto_of, clock=self.clock,
                                opener=self._watch_run)
        return DrillScreen(self.arbiter, self.state.scope, arg, rto_of=self.rto_of, clock=self.clock)

    def _watch_run(self, run: DrillRun) -> BaseScreen:
        return DrillScreen(self.arbiter, self.state.scope, op_id=run.id, rto_of=self.rto_of, clock=self.clock)

    def show_drill(self, op_id: int) -> None:
        """Open the live drill view on an operation just queued."""
        self.push_screen(DrillScreen(self.arbiter, self.state.scope, op_id=op_id, rto_of=self.rto_of, clock=self.clock))
