"""`:plan [FAIL,...]`: the disaster planner in the console.

"If these production hosts (sites, failure-domain tags) failed now": each
tenant's recovery in the order the arbitration rules would run it, its
predicted start and finish against its RTO and the verdict (meets / BREACH
by 12m / DOES NOT FIT short 180 GB); above the rows, whether each recovery
host can hold everyone, and what another agreement order or more capacity
would change. Without terms every production host in the console's scope
fails. The plan comes from the arbiter (``plan(fail, scope)``), as
``ksystui plan disaster`` computes it; it is read again every few seconds,
so it follows the fleet and the queue. A scoped console sees its own
recovery and "another tenant" for every other one, never a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.widgets import Footer, Static

from ksystui.core.capacity import DOES_NOT_FIT
from ksystui.core.disaster_report import DisasterReport
from ksystui.core.plan_rows import BREACH, PlanShown, plan_note, plan_rows, shown_from
from ksystui.core.viewdefs import VIEWS
from ksystui.ui.screens import ArbiterTableScreen, columns_for, to_row

PLAN_VIEW = "plan"


class Planner(Protocol):
    """What the plan screen needs of the arbiter: its ``plan`` method."""

    async def plan(self, fail: Sequence[str] = (), scope: str | None = None) -> DisasterReport:
        """The disaster report (``arbiter.disaster``): the plan, what fails and when."""
        ...


def fail_terms(arg: str) -> tuple[str, ...]:
    """``:plan pbrazos, city=austin`` → ("pbrazos", "city=austin")."""
    return tuple(t.strip() for t in arg.replace(" ", ",").split(",") if t.strip())


def note_text(lines: Sequence[str]) -> Text:
    """The note's lines, what needs attention in bold."""
    t = Text()
    for i, line in enumerate(lines):
        loud = BREACH in line or DOES_NOT_FIT in line or i == 0
        t.append(("\n" if i else "") + f"  {line}", style="bold" if loud else "")
    return t


class PlanScreen(ArbiterTableScreen):
    view = PLAN_VIEW
    poll_seconds = 5.0
    without_arbiter = "there is no queue to plan from (the durations come from past runs)."

    def __init__(self, arbiter: Planner | None, scope: str | None, terms: str = "") -> None:
        # the base shows "no arbiter" when there is none; the plan is read through ``planner``
        super().__init__(cast(Any, arbiter), scope)
        self.planner = arbiter
        self.terms = fail_terms(terms)
        self.shown: PlanShown | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_frame()
        yield Static("", id="note", classes="table-note")
        # the rows carry their cells (core.plan_rows): ORDER sorts as a number
        yield from self.compose_table(columns_for(VIEWS[self.view]), paint_interval=0.2)
        yield Footer()

    def crumb(self) -> str:
        return "Disaster plan" + (f" [{', '.join(self.terms)}]" if self.terms else "")

    @work(exclusive=True, group="plan-reload")
    async def reload(self) -> None:
        planner = self.planner
        if planner is None:
            return
        try:
            report = await planner.plan(self.terms, self.scope)
        except Exception as exc:  # an unknown failure domain, a node never read: say so, keep the screen
            if self.ready:
                self.note(f"  No plan: {exc}")
                self.table.set_rows([])
            return
        if not self.ready:
            return
        shown = shown_from(report, self.scope)
        self.shown = shown
        self.table.set_rows(to_row(r) for r in plan_rows(shown, self.scope))
        self.query_one("#note", Static).update(note_text(plan_note(shown)))
