"""A disaster plan as a reader gets it (pure): what fails, and per tenant
when it is predicted back against its RTO, per recovery host whether it
holds everyone, and what another order or more capacity would change —
as words (``ksystui plan disaster``, the ``:plan`` view) and as data
(``--json``: seconds and ISO times).

The plan itself is ``core.disaster.plan_disaster``; this module only says
it. A scoped report was made from ``DisasterPlan.for_tenant`` and
``Failure.for_tenant``: it holds no other tenant's name to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ksystui.core.age import format_age
from ksystui.core.capacity import DOES_NOT_FIT, Size
from ksystui.core.disaster import MEETS, DisasterPlan, HostNeed, Outcome, WhatIf
from ksystui.core.durations import format_duration
from ksystui.core.failure_domains import Failure


@dataclass(frozen=True)
class DisasterReport:
    """What ``plan disaster`` answers: the failure, the plan, when it was
    assumed to strike (``at``: now), and what the plan could not know."""

    failure: Failure
    plan: DisasterPlan
    at: datetime
    scope: str | None = None
    notes: tuple[str, ...] = ()  # e.g. a node never read, so its recovery is not in the plan

    def when(self, seconds: float | None) -> datetime | None:
        return None if seconds is None else self.at + timedelta(seconds=seconds)

    @property
    def problems(self) -> tuple[Outcome, ...]:
        """The outcomes that breach their RTO or do not fit (scoped: the
        scope's own; another tenant's trouble is not this reader's alarm)."""
        return tuple(o for o in self.plan.outcomes if (self.scope is None or o.tenant == self.scope)
                     and (not o.fits or o.breach_s is not None))

    @property
    def own(self) -> tuple[Outcome, ...]:
        """The outcomes the reader answers for (scoped: its own)."""
        return tuple(o for o in self.plan.outcomes if self.scope is None or o.tenant == self.scope)


def verdict(o: Outcome) -> str:
    """The planner's verdict (``Outcome.verdict``: ``BREACH by 7m00s``,
    ``DOES NOT FIT short 180 GB on snorlax``, ``no RTO agreed`` ...), and
    for one that meets its RTO, by how much: ``meets (12m00s to spare)``."""
    said = o.verdict
    if said == MEETS and o.rto is not None and o.finish_s is not None:
        return f"{MEETS} ({format_age(o.rto.total_seconds() - o.finish_s)} to spare)"
    return said


def _clock(at: datetime | None, seconds: float | None) -> str:
    if at is None or seconds is None:
        return "-"
    return f"+{format_age(seconds)} ({at:%H:%M})"


def _size(size: Size | None) -> str:
    return "not reported" if size is None else size.text()


def outcome_row(report: DisasterReport, o: Outcome) -> tuple[str, ...]:
    """ORDER, TENANT, NODE, START, FINISH, RTO, VERDICT, BASIS."""
    return (str(o.position), o.tenant, o.node or "-", _clock(report.when(o.start_s), o.start_s),
            _clock(report.when(o.finish_s), o.finish_s), format_duration(o.rto) if o.rto else "-", verdict(o),
            o.basis or "-")


OUTCOME_HEADER = ("ORDER", "TENANT", "NODE", "START", "FINISH", "RTO", "VERDICT", "ESTIMATE")
HOST_HEADER = ("RECOVERY HOST", "IN USE BEFORE", "NEEDED", "TOTAL", "VERDICT")
HOST_DOWN = "FAILS in this disaster"  # a recovery host the disaster itself takes


def host_row(h: HostNeed) -> tuple[str, ...]:
    if h.down:
        said = HOST_DOWN
    elif h.total is None:
        said = "not checked (its size is not reported)"
    else:
        said = "fits" if h.fits else f"{DOES_NOT_FIT} short {h.short.short_text()}"
    return (h.name, h.before.text(), h.needed.text(), _size(h.total), said)


def table(header: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]


def report_lines(report: DisasterReport) -> list[str]:
    """The whole report as text, for a terminal."""
    f = report.failure
    failing = ", ".join(f"{n.node} ({', '.join(n.hosts) or 'nothing read'})" for n in f.nodes) or "none"
    lines = [f"Disaster: {', '.join(f.terms)} fails at {report.at:%Y-%m-%d %H:%M:%S %Z}".rstrip(),
             f"  failing: {failing}", ""]
    if not report.plan.outcomes:
        lines.append("Nothing to recover: no node in scope runs production there.")
    else:
        lines.append("Recovery, in the order the arbiter would run it (unplanned moves):")
        lines += table(OUTCOME_HEADER, [outcome_row(report, o) for o in report.plan.outcomes])
    if report.plan.hosts:
        lines += ["", "Recovery hosts:"]
        lines += table(HOST_HEADER, [host_row(h) for h in report.plan.hosts])
    for w in report.plan.what_ifs:
        lines += ["", f"What if: {w.title}"]
        lines += [f"  {b}" for b in w.better] or ["  nothing changes for anyone"]
    if report.notes:
        lines += ["", *(f"note: {n}" for n in report.notes)]
    if report.plan.outcomes:
        problems = report.problems
        unchecked = [h.name for h in report.plan.hosts if h.total is None]
        caveat = f" ({', '.join(unchecked)}: size not reported, not checked)" if unchecked else ""
        at_risk = "; ".join(f"{o.tenant}{f' ({o.node})' if len(report.own) > 1 else ''}: {verdict(o)}"
                            for o in problems)
        lines += ["", f"At risk: {at_risk}{caveat}" if problems
                  else f"Every recovery fits{caveat}, and none breaches its RTO."]
    return lines


def _size_json(size: Size | None) -> dict[str, float] | None:
    return None if size is None else {"memory_gb": size.memory_gb, "cpu": size.cpu}


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def outcome_json(report: DisasterReport, o: Outcome) -> dict[str, Any]:
    return {
        "position": o.position, "tenant": o.tenant, "node": o.node or None,
        "start_s": o.start_s, "finish_s": o.finish_s,
        "start": _iso(report.when(o.start_s)), "finish": _iso(report.when(o.finish_s)),
        "rto_s": None if o.rto is None else o.rto.total_seconds(), "breach_s": o.breach_s,
        "fits": o.fits, "verdict": verdict(o), "basis": o.basis or None,
        "shortfalls": [{"host": s.name, "uuid": s.uuid, "needed": _size_json(s.needed), "free": _size_json(s.free),
                        "total": _size_json(s.total), "short": _size_json(s.short)} for s in o.shortfalls],
        "lost_hosts": list(o.lost_hosts),
    }


def _what_if_json(report: DisasterReport, w: WhatIf) -> dict[str, Any]:
    return {"title": w.title, "better": list(w.better), "tenants": [outcome_json(report, o) for o in w.outcomes]}


def report_json(report: DisasterReport) -> dict[str, Any]:
    """The report as data: seconds from the disaster and ISO times."""
    return {
        "at": report.at.isoformat(),
        "scope": report.scope,
        "fail": list(report.failure.terms),
        "failed_nodes": [{"tenant": n.tenant, "node": n.node, "site": n.site, "hosts": list(n.hosts),
                          "because": list(n.because)} for n in report.failure.nodes],
        "recovery_hosts_down": list(report.failure.idle_hosts),  # named, running no production: CEC UUIDs
        "tenants": [outcome_json(report, o) for o in report.plan.outcomes],
        "hosts": [{"host": h.name, "uuid": h.uuid, "total": _size_json(h.total), "before": _size_json(h.before),
                   "needed": _size_json(h.needed), "fits": h.fits, "short": _size_json(h.short), "down": h.down}
                  for h in report.plan.hosts],
        "what_ifs": [_what_if_json(report, w) for w in report.plan.what_ifs],
        "notes": list(report.notes),
    }
