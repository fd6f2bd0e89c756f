"""What the ``:plan`` view shows of a disaster plan (pure).

The planner (``core.disaster``) plays the arbitration rules forward from
"these production hosts fail now": each tenant's recovery in agreement
order, its predicted start and finish against its RTO, whether each
recovery host can hold everyone, and what another agreement order or more
capacity would change. This module turns such a plan into the view's rows
(one per tenant's recovery) and the lines above them (the recovery hosts,
the what-ifs), in the words ``ksystui plan disaster`` uses
(``core.disaster_report``).

A scoped console (one tenant) is shown ``plan.for_tenant(scope)``, which
names no other tenant; the rows of another tenant's recovery are made
anonymous here as well, whatever they carry, so a plan that forgot to hide
one cannot put a name on a scoped screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ksystui.core.age import format_age
from ksystui.core.capacity import DOES_NOT_FIT
from ksystui.core.disaster import ANOTHER_TENANT, DisasterPlan, HostNeed, Outcome
from ksystui.core.disaster_report import HOST_DOWN, DisasterReport
from ksystui.core.disaster_report import verdict as said
from ksystui.core.rpo import duration_text
from ksystui.core.views import ViewRow

BREACH = "BREACH"


@dataclass(frozen=True)
class PlanShown:
    """A plan as the view shows it: the plan (already scoped), what fails,
    when the disaster is taken to strike (None: times are offsets only), the
    reader's scope, and what the plan could not know."""

    plan: DisasterPlan
    heading: str  # what fails: "pbrazos: 1 node fails (1 production host)"
    at: datetime | None = None
    scope: str | None = None  # the reader's tenant (None: every tenant)
    notes: tuple[str, ...] = ()  # e.g. a failing node never read


def scoped_plan(plan: DisasterPlan, scope: str | None) -> DisasterPlan:
    return plan if scope is None else plan.for_tenant(scope)


def shown_from(report: DisasterReport, scope: str | None = None) -> PlanShown:
    """The arbiter's report as the view shows it (as ``scope`` may see it)."""
    return PlanShown(scoped_plan(report.plan, scope), report.failure.text(), report.at, scope, report.notes)


def when(seconds: float | None) -> str:
    """A predicted instant, after the disaster strikes: "+21m00s" ("-": it
    would not run). Offsets keep the column narrow; the note says the clock
    time they count from."""
    return "-" if seconds is None else "+" + format_age(seconds)


def verdict(o: Outcome, *, hidden: bool = False) -> str:
    """meets (9m00s to spare) / BREACH by 12m00s / DOES NOT FIT short 180 GB
    on snorlax / no RTO agreed: the planner's words. Another tenant's
    recovery in a scoped plan: only whether it fits ("recovers")."""
    if hidden:
        return DOES_NOT_FIT if not o.fits else "recovers"
    return said(o)


def _hidden(o: Outcome, scope: str | None) -> bool:
    return scope is not None and o.tenant != scope


def plan_rows(shown: PlanShown, scope: str | None = None) -> list[ViewRow]:
    """One row per tenant's recovery, in the order they would run: ORDER,
    TENANT, VERDICT, RTO, FINISH, START, NODE, ESTIMATED FROM. A breach or a recovery
    that does not fit stands out (style "alert")."""
    rows = []
    for o in sorted(shown.plan.outcomes, key=lambda o: (o.position, o.tenant, o.node)):
        hide = _hidden(o, scope)
        say = verdict(o, hidden=hide)
        loud = not o.fits or (o.breach_s is not None and o.breach_s > 0)
        rows.append(ViewRow(
            ("plan", str(o.position), "" if hide else o.node),
            (str(o.position), ANOTHER_TENANT if hide else o.tenant, say, duration_text(o.rto),
             when(o.finish_s), when(o.start_s), "-" if hide else (o.node or "-"),
             "-" if hide else o.basis),
            "alert" if loud else None, None if hide else o.tenant, None if hide else o.node or None,
            None if hide else o,
        ))
    return rows


def host_line(h: HostNeed) -> str:
    """``snorlax: needs 480 GB, 30 CPU of 300 GB, 32 CPU: DOES NOT FIT, short 180 GB``."""
    busy = f" ({h.before.text()} in use before)" if h.before.memory_gb or h.before.cpu else ""
    if h.down:
        return f"{h.name}: needed by recoveries ({h.needed.text()}) but it {HOST_DOWN}"
    if h.total is None:
        return f"{h.name}: needs {h.needed.text()}{busy}; its size is not reported: not checked"
    head = f"{h.name}: needs {h.needed.text()} of {h.total.text()}{busy}"
    return f"{head}: fits" if h.fits else f"{head}: {DOES_NOT_FIT}, short {h.short.short_text()}"


def summary(outcomes: Sequence[Outcome], scope: str | None = None) -> str:
    """``2 recoveries: 1 meets its RTO, 1 does not fit; all that can run are
    back after 21m00s``. Scoped: the verdicts are the reader's own; the
    others are only counted."""
    n = len(outcomes)
    if not n:
        return "nothing to recover: no node in scope fails"
    own = [o for o in outcomes if scope is None or o.tenant == scope]
    lost = sum(1 for o in own if o.lost_hosts)
    unfit = sum(1 for o in own if not o.fits) - lost
    late = sum(1 for o in own if o.fits and o.breach_s is not None and o.breach_s > 0)
    meets = sum(1 for o in own if o.fits and not (o.breach_s and o.breach_s > 0) and o.rto is not None
                and o.finish_s is not None)
    parts = [f"{meets} meet{'s' if meets == 1 else ''} {'its' if meets == 1 else 'their'} RTO"]
    if late:
        parts.append(f"{late} breach{'es' if late == 1 else ''} {'its' if late == 1 else 'their'} RTO")
    if unfit:
        parts.append(f"{unfit} do{'es' if unfit == 1 else ''} not fit")
    if lost:
        parts.append(f"{lost} ha{'s' if lost == 1 else 've'} no recovery host left")
    others = n - len(own)
    whose = f" ({others} of other tenants)" if others else ""
    last = max((o.finish_s for o in outcomes if o.finish_s is not None), default=None)
    tail = f"; all that can run are back after {format_age(last)}" if last is not None else ""
    return f"{n} recover{'y' if n == 1 else 'ies'}{whose}: " + ", ".join(parts) + tail


HOSTS_SHOWN = 8  # recovery host lines above the rows (those that do not fit first); the rest summed
CHANGES_SHOWN = 5  # lines per what-if


def _capped(lines: list[str], limit: int, rest: str) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], rest.format(n=len(lines) - limit)]


def plan_note(shown: PlanShown) -> list[str]:
    """The lines above the rows: what fails, the verdict in one line, each
    recovery host's need against its size (the ones that cannot hold
    everyone first), and each what-if with what it would change. Kept short
    for a provider with many hosts and tenants: the table must stay on
    screen."""
    plan = shown.plan
    since = f" (times count from now, {shown.at.astimezone().strftime('%H:%M')})" if shown.at is not None else ""
    lines = [f"If {shown.heading}{since}", summary(plan.outcomes, shown.scope)]
    lines += [f"Note: {n}" for n in shown.notes]
    if plan.hosts:
        hosts = sorted(plan.hosts, key=lambda h: (h.fits, h.name))
        lines.append("Recovery hosts:")
        lines += _capped([f"  {host_line(h)}" for h in hosts], HOSTS_SHOWN, "  … {n} more")
    for w in plan.what_ifs:
        lines.append(f"What if {w.title}:")
        changes = [f"  {b}" for b in w.better] or ["  no recovery's verdict changes"]
        lines += _capped(changes, CHANGES_SHOWN, "  … and {n} more recoveries")
    return lines
