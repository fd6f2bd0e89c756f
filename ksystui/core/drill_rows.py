"""The rows and the note of the two drill views (pure): ``:drill``, one
drill live (each VM's steps, failures at the top, elapsed against the RTO
with a bar, the predicted finish), and ``:drills``, every drill's measured
RTO with its trend and the rehearsals never cleaned up. The console lays
them out; the words are decided here, so they read the same everywhere.

Times are UTC, as the audit trail and the operation detail show them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ksystui.core.age import format_age
from ksystui.core.drill_steps import FAILED, STARTED, Step
from ksystui.core.drills import (
    DrillLive,
    DrillRun,
    HistoryRow,
    RtoGauge,
    bar,
    counts,
    gauge,
    never_cleaned,
    predict,
    short,
    took,
    trend_summary,
    vm_order,
    vm_state,
)
from ksystui.core.views import ViewRow

VM_MARK = {"failed": "✗", "running": "▶", "up": "✓", "done": "✓"}
STEP_MARK = {"failed": "✗", "started": "▶", "completed": "✓"}


def clock(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%H:%M:%S")


def stamp(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


# --- :drill ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DrillHeader:
    """The lines above the steps: what runs, the RTO bar, the prediction."""

    title: str  # "DR TEST #3 for customerA on r7r3m116: running"
    who: str  # "requested by … · started … UTC"
    gauge: RtoGauge | None  # None before it started
    bar: str
    rto_words: str
    outlook: str  # the predicted finish, or the measured RTO once it ended
    vms: str  # "VMs: 1 failed · 1 running · 3 up"
    level: str  # the gauge's level ("none" / "ok" / "near" / "over"), for colour


def drill_header(live: DrillLive, rto: timedelta | None, now: datetime, width: int = 30) -> DrillHeader:
    run = live.run
    title = f"{run.label.upper()} {run.shown} for {run.tenant} on {run.node}: {run.state}"
    if run.detail and run.state != "running":  # why it waits, or what an operator must decide
        title += f" ({run.detail})"
    who = f"requested by {run.submitted_by} at {stamp(run.submitted_at)} UTC"
    if run.started_at is not None:
        who += f" · started {clock(run.started_at)} UTC"
    if run.finished_at is not None and not run.active:
        who += f" · ended {clock(run.finished_at)} UTC"
    elapsed = run.elapsed(now)
    g = gauge(run.measured_rto or elapsed, rto) if elapsed is not None else None
    if g is None:
        rto_line = "not started yet" + (f"; RTO {short(rto)}" if rto else "; no RTO agreed for this tenant")
    else:
        rto_line = g.words()
    outlook = _outlook(live, rto, now)
    tally = counts(live.progress)
    order = ("failed", "running", "up", "done")
    vms = " · ".join(f"{tally[k]} {k}" for k in order if tally.get(k))
    vms = f"VMs: {vms}" if vms else "VMs: none reached yet"
    return DrillHeader(title, who, g, bar(g.fraction if g else None, width), rto_line, outlook, vms,
                       g.level if g else "none")


def _outlook(live: DrillLive, rto: timedelta | None, now: datetime) -> str:
    run = live.run
    if not run.active:
        measured = run.measured_rto
        if measured is None:
            return f"{run.state}: measured no RTO (only a drill that succeeds measures one)"
        verdict = "" if rto is None else (" — met the RTO" if measured <= rto else " — MISSED the RTO")
        return f"measured RTO {format_age(measured.total_seconds())}{verdict}"
    p = predict(run, live.past, now, rto)
    if p.finish_at is None:
        return f"finish: unknown — {p.basis}"
    return f"finish predicted {clock(p.finish_at)} UTC — {p.basis}"


def drill_rows(live: DrillLive) -> list[ViewRow]:
    """Each VM's steps, failed VMs first, then running, then done; the
    steps that name no VM (the site, a disk group) last."""
    rows: list[ViewRow] = []
    tenant, node = live.run.tenant, live.run.node
    for vm in vm_order(live.progress.vms):
        state = vm_state(vm)
        for i, s in enumerate(vm.steps):
            rows.append(ViewRow(("step", vm.vm, str(i)), (f"{VM_MARK[state]} {vm.vm}", state, *_step_cells(s)),
                                "alert" if s.state == FAILED else None, tenant, node, s))
    for i, s in enumerate(live.progress.operation):
        rows.append(ViewRow(("step", "", str(i)), (f"  {s.subject or 'operation'}", "-", *_step_cells(s)),
                            "alert" if s.state == FAILED else "stale", tenant, node, s))
    return rows


def _step_cells(s: Step) -> tuple[str, ...]:
    ended = "-" if s.state == STARTED else clock(s.at)
    return (f"{STEP_MARK.get(s.state, '?')} {s.name}", s.state, clock(s.started_at), ended, took(s), s.detail or "-")


# --- :drills ------------------------------------------------------------------------------
def drills_rows(history: Sequence[HistoryRow]) -> list[ViewRow]:
    rows: list[ViewRow] = []
    for h in history:
        r = h.run
        measured = "-" if h.measured is None else format_age(h.measured.total_seconds())
        cleaned = "-" if r.cleaned_up is None else ("yes" if r.cleaned_up else "NO")
        style = "alert" if h.missed or r.cleaned_up is False or r.state == "failed" else None
        rows.append(ViewRow(
            ("drill", str(r.id)),
            (r.tenant, r.shown, r.label, r.node, stamp(r.started_at or r.submitted_at), r.state, measured,
             short(h.rto) if h.rto else "-", h.verdict, h.trend, cleaned),
            style, r.tenant, r.node, r))
    return rows


def drills_note(runs: Sequence[DrillRun], rto_of: Callable[[str], timedelta | None], now: datetime) -> list[str]:
    """The lines above the history: each tenant's trend, then every
    rehearsal never cleaned up (its clones still hold the recovery host)."""
    lines = list(trend_summary(runs, rto_of).values())
    for r in never_cleaned(runs):
        since = r.finished_at or r.started_at or r.submitted_at
        lines.append(f"! {r.shown} {r.tenant} DR test on {r.node} succeeded {format_age((now - since).total_seconds())}"
                     " ago and was never cleaned up: its rehearsal VMs still hold the recovery host")
    return lines
