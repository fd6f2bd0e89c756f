"""`:drill` and `:drills`: a DR test or move live, and every drill's
measured RTO. Read through the arbiter port like the queue, so a read-only
console on the same database watches the same drill as the console that
started it, second by second.

`:drill` (or `:drill #N`): above the table, what runs for whom, elapsed
against the tenant's RTO with a bar, the predicted finish from the tenant's
past runs (the measured RTO once it ended); the table holds each VM's steps
from the progress stream, the failed VMs on top. Enter on a step opens the
operation whole. `:drills`: each drill with its measured RTO, the verdict
against the RTO and the trend; above it, each tenant's trend and the
rehearsals nobody cleaned up; Enter opens that drill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rich.text import Text
from textual import work
from textual.widgets import Static

from ksystui.core.drill_rows import drill_header, drill_rows, drills_note, drills_rows
from ksystui.core.drills import DrillLive, DrillRun, history
from ksystui.ui.messages import OperationDetailRequested
from ksystui.ui.ports import ArbiterClient
from ksystui.ui.screens import ArbiterTableScreen, BaseScreen, to_row
from ksystui.ui.widgets.virtual_table import VirtualTable

RtoOf = Callable[[str], timedelta | None]
# the bar's look at each level: bold, then reversed past the RTO (readable in every theme and without colour)
_LEVEL_STYLE = {"none": "dim", "ok": "", "near": "bold", "over": "bold reverse"}
BAR_WIDTH = 30


def _no_rto(_tenant: str) -> timedelta | None:
    return None


class DrillScreen(ArbiterTableScreen):
    """One drill, live: read again every second while it can still change."""

    view = "drill"
    poll_seconds = 1.0
    without_arbiter = "there is no queue to watch a drill in."

    def __init__(self, arbiter: ArbiterClient | None, scope: str | None, ref: str = "", *,
                 op_id: int | None = None, rto_of: RtoOf = _no_rto,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(arbiter, scope)
        self.ref = ref
        self.op_id = op_id
        self.rto_of = rto_of
        self.clock = clock or (lambda: datetime.now(UTC))
        self.live: DrillLive | None = None

    def crumb(self) -> str:
        if self.live is not None:
            return f"Drill {self.live.run.shown}"
        return f"Drill {self.ref}".rstrip()

    @work(exclusive=True, group="drill-reload")
    async def reload(self) -> None:
        port = self.arbiter
        if port is None or (self.live is not None and not self.live.run.active):
            return  # it ended and is on screen: nothing more will change
        live = await port.drill(self.ref, self.scope, op_id=self.op_id)
        if not self.ready:
            return
        if live is None:
            what = f"no operation {self.ref} here" if self.ref or self.op_id else "no DR test or move yet"
            self.note(f"  {what} (or not this console's to show). `:drills` lists every drill.")
            self.table.set_rows([])
            return
        if self.op_id is None:
            self.op_id = live.run.id  # keep watching this one, even when a newer drill starts
        self.live = live
        self.table.set_rows(to_row(r) for r in drill_rows(live))
        self.note_text(drill_note(live, self.rto_of(live.run.tenant), self.clock()))

    def note_text(self, text: Text) -> None:
        self.query_one("#note", Static).update(text)

    def action_open(self) -> None:
        if self.live is not None:
            run = self.live.run
            self.post_message(OperationDetailRequested(run.id, run.shown))

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_open()


def drill_note(live: DrillLive, rto: timedelta | None, now: datetime) -> Text:
    """The lines above the steps, as the operator reads them."""
    h = drill_header(live, rto, now, BAR_WIDTH)
    t = Text()
    t.append(f"  {h.title}\n", style="bold")
    t.append(f"  {h.who}\n", style="dim")
    t.append("  RTO ")
    t.append(h.bar, style=_LEVEL_STYLE.get(h.level, ""))
    t.append(f" {h.rto_words}\n", style="bold" if h.level in ("near", "over") else "")
    t.append(f"  {h.outlook}\n")
    failed = live.progress.failed
    t.append(f"  {h.vms}", style="bold" if failed else "")
    for vm in failed:
        step = vm.failure
        if step is not None:
            t.append(f"\n  ✗ {vm.vm}: {step.name} failed" + (f": {step.detail}" if step.detail else ""), style="bold")
    return t


class DrillsScreen(ArbiterTableScreen):
    """Every DR test and move in scope, newest first."""

    view = "drills"
    poll_seconds = 3.0
    without_arbiter = "there is no drill history to show."

    def __init__(self, arbiter: ArbiterClient | None, scope: str | None, tenant_filter: str = "", *,
                 rto_of: RtoOf = _no_rto, clock: Callable[[], datetime] | None = None,
                 opener: Callable[[DrillRun], BaseScreen] | None = None) -> None:
        super().__init__(arbiter, scope)
        self.preset_filter = tenant_filter
        self.rto_of = rto_of
        self.clock = clock or (lambda: datetime.now(UTC))
        self.opener = opener  # the drill screen for a run (Enter)

    def on_mount(self) -> None:
        super().on_mount()
        if self.preset_filter and self.ready:
            self.table.set_filter(self.preset_filter)

    @work(exclusive=True, group="drills-reload")
    async def reload(self) -> None:
        port = self.arbiter
        if port is None:
            return
        runs = list(await port.drills(self.scope))
        if not self.ready:
            return
        self.table.set_rows(to_row(r) for r in drills_rows(history(runs, self.rto_of)))
        lines = drills_note(runs, self.rto_of, self.clock())
        if not runs:
            lines = ["No DR test or move has run yet."]
        self.note("\n".join(f"  {line}" for line in lines))

    def action_open(self) -> None:
        row = self.selected()
        run = getattr(row, "data", None)
        if isinstance(run, DrillRun) and self.opener is not None:
            self.app.push_screen(self.opener(run))

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_open()
