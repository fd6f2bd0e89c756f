"""DR drills measured against the tenant's agreed RTO. Pure.

A drill is a DR test (failover rehearsal) or a move, planned or unplanned.
While one runs: how long it has taken against the RTO (and a bar for it),
and when it should finish, judged from the tenant's past runs of the same
operation. Afterwards: the recovery time each run measured, whether it met
the RTO, the trend from run to run, and the rehearsals nobody cleaned up.

The measured RTO of a run is the time from the command's start on the node
to the moment its last VM came up (its "Boot up … has completed" line, the
rehearsal clone's for a DR test); when the stream names no boot, the end of
the command. Only a run that succeeded measures one: a failed drill
recovered nothing, and saying how fast it failed would flatter it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ksystui.core.age import format_age
from ksystui.core.drill_steps import COMPLETED, DrillProgress, Step, VmSteps
from ksystui.core.durations import format_duration
from ksystui.core.lifecycle import Op
from ksystui.core.operations import OP_LABEL

DRILL_OPS = frozenset({Op.DR_TEST, Op.MOVE_PLANNED, Op.MOVE_UNPLANNED})
ACTIVE = frozenset({"queued", "admitted", "running", "in_doubt"})
BOOT = "Boot up"
NEAR = 0.8  # past this share of the RTO a running drill is "near" it
PAST_RUNS = 10  # a prediction looks at this many of the latest runs
# a run within this much of the one before it took "the same" time
SAME_SHARE, SAME_SECONDS = 0.05, 5.0


@dataclass(frozen=True)
class DrillRun:
    """One drill as the queue holds it, with what its output told."""

    id: int
    shown: str  # how the console names it: "#42", or a scoped console's own number
    tenant: str
    node: str
    op: Op
    state: str  # an OpState's value
    submitted_by: str
    submitted_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str = ""
    recovered_at: datetime | None = None  # when its last VM came up, if the output says
    cleaned_up: bool | None = None  # a DR test that succeeded: whether a cleanup closed it; else None
    detail: str = ""  # the queue's word on it (why it waits, how long it ran)

    @property
    def label(self) -> str:
        return OP_LABEL[self.op]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def measured_rto(self) -> timedelta | None:
        """The recovery time this run measured (see the module's note)."""
        if self.state != "succeeded" or self.started_at is None:
            return None
        end = self.recovered_at or self.finished_at
        return None if end is None else max(timedelta(0), end - self.started_at)

    def elapsed(self, now: datetime) -> timedelta | None:
        """How long it has run (to its end once it ended); None before it started."""
        if self.started_at is None:
            return None
        end = self.finished_at if not self.active and self.finished_at else now
        return max(timedelta(0), end - self.started_at)


@dataclass(frozen=True)
class DrillLive:
    """What the live drill view reads each second: the run, its steps, and
    the measured RTOs of the tenant's past runs of the same operation."""

    run: DrillRun
    progress: DrillProgress
    past: tuple[timedelta, ...]  # oldest first


def recovered_at(vms: Sequence[VmSteps]) -> datetime | None:
    """When the last VM came up: the latest completed boot, if every VM's
    boot completed (None while one is still to come up, or none booted)."""
    boots = [_last_boot(v) for v in vms]
    if not boots or any(b is None for b in boots):
        return None
    return max(b for b in boots if b is not None)


def _last_boot(vm: VmSteps) -> datetime | None:
    times = [s.at for s in vm.steps if s.name == BOOT and s.state == COMPLETED and s.at is not None]
    return max(times) if times else None


# --- elapsed against the RTO --------------------------------------------------------
@dataclass(frozen=True)
class RtoGauge:
    elapsed: timedelta
    rto: timedelta | None

    @property
    def fraction(self) -> float | None:
        if self.rto is None or self.rto <= timedelta(0):
            return None
        return self.elapsed / self.rto

    @property
    def level(self) -> str:
        """"none" (no RTO agreed), "ok", "near" (past 80 %) or "over"."""
        f = self.fraction
        if f is None:
            return "none"
        return "over" if f > 1 else ("near" if f >= NEAR else "ok")

    def words(self) -> str:
        """``4m05s of RTO 30m (14%)`` / ``OVER RTO 30m by 2m10s`` — the verdict
        in words, so it reads the same without colour."""
        spent = format_age(self.elapsed.total_seconds())
        if self.rto is None:
            return f"{spent}, no RTO agreed for this tenant"
        f = self.fraction or 0.0
        if f > 1:
            return f"{spent}: OVER RTO {short(self.rto)} by {format_age((self.elapsed - self.rto).total_seconds())}"
        return f"{spent} of RTO {short(self.rto)} ({f:.0%})"


def gauge(elapsed: timedelta, rto: timedelta | None) -> RtoGauge:
    return RtoGauge(elapsed, rto)


def bar(fraction: float | None, width: int = 30) -> str:
    """``[██████░░░░…]`` filled to the fraction of the RTO spent; past the
    RTO the bar is full and ends in ``!``. No RTO: an empty frame of dots."""
    width = max(4, width)
    if fraction is None:
        return "[" + "·" * width + "]"
    filled = min(width, round(max(0.0, fraction) * width))
    end = "!" if fraction > 1 else "]"
    return "[" + "█" * filled + "░" * (width - filled) + end


def short(value: timedelta) -> str:
    """An agreed duration as configured: ``30m``, ``1h30m``."""
    return format_duration(value)


# --- predicted finish -----------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    expected: timedelta | None  # how long such a run takes, from the past
    finish_at: datetime | None
    basis: str  # what the prediction stands on, in words

    @property
    def known(self) -> bool:
        return self.finish_at is not None


def predict(run: DrillRun, past: Sequence[timedelta], now: datetime, rto: timedelta | None = None) -> Prediction:
    """When the run should finish: its start plus the median recovery time
    of the tenant's latest past runs of the same operation. A run already
    past that median is late: the finish is then unknown, and it says by
    how much it is late."""
    recent = [p for p in past[-PAST_RUNS:] if p > timedelta(0)]
    what = f"{run.label}{'s' if len(recent) != 1 else ''} of {run.tenant}"
    if not recent:
        return Prediction(None, None, f"no past {run.label} of {run.tenant} to go by")
    expected = timedelta(seconds=statistics.median(p.total_seconds() for p in recent))
    basis = f"median of {len(recent)} past {what}: {format_age(expected.total_seconds())}"
    if rto is not None:
        basis += " (within RTO)" if expected <= rto else f" (over RTO {short(rto)})"
    if run.started_at is None:
        return Prediction(expected, None, basis + "; not started yet")
    finish = run.started_at + expected
    if run.active and finish < now:
        return Prediction(expected, None, basis + f"; late by {format_age((now - finish).total_seconds())}")
    return Prediction(expected, finish, basis)


def past_rtos(runs: Sequence[DrillRun], tenant: str, op: Op, *, before: int | None = None) -> tuple[timedelta, ...]:
    """The measured RTOs of a tenant's runs of one operation, oldest first
    (``before``: only runs submitted before that one)."""
    mine = sorted((r for r in runs if r.tenant == tenant and r.op is op and (before is None or r.id < before)),
                  key=lambda r: r.id)
    return tuple(m for r in mine if (m := r.measured_rto) is not None)


# --- history ------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryRow:
    run: DrillRun
    measured: timedelta | None
    rto: timedelta | None
    verdict: str  # "met", "MISSED by 2m", "no RTO", "-" (measured nothing)
    trend: str  # against the previous measured run of the same tenant and operation

    @property
    def missed(self) -> bool:
        return self.verdict.startswith("MISSED")


def verdict(measured: timedelta | None, rto: timedelta | None) -> str:
    if measured is None:
        return "-"
    if rto is None:
        return "no RTO"
    if measured <= rto:
        return "met"
    return f"MISSED by {format_age((measured - rto).total_seconds())}"


def step_trend(previous: timedelta | None, current: timedelta | None) -> str:
    """``▲ 1m05s slower`` / ``▼ 20s faster`` / ``= same`` / ``first`` / ``-``."""
    if current is None:
        return "-"
    if previous is None:
        return "first"
    delta = (current - previous).total_seconds()
    if abs(delta) <= max(SAME_SECONDS, SAME_SHARE * previous.total_seconds()):
        return "= same"
    return f"▲ {format_age(delta)} slower" if delta > 0 else f"▼ {format_age(-delta)} faster"


def history(runs: Sequence[DrillRun], rto_of: Callable[[str], timedelta | None]) -> list[HistoryRow]:
    """Every drill, newest first, each with its measured RTO, the verdict
    against the tenant's agreed RTO and the change from the run before."""
    previous: dict[tuple[str, Op], timedelta] = {}
    rows: list[HistoryRow] = []
    for r in sorted(runs, key=lambda r: r.id):
        measured = r.measured_rto
        rto = rto_of(r.tenant)
        key = (r.tenant, r.op)
        rows.append(HistoryRow(r, measured, rto, verdict(measured, rto), step_trend(previous.get(key), measured)))
        if measured is not None:
            previous[key] = measured
    return rows[::-1]


def trend_summary(runs: Sequence[DrillRun], rto_of: Callable[[str], timedelta | None]) -> dict[tuple[str, Op], str]:
    """Per tenant and operation, one line: how many runs measured, the
    latest against the median of the ones before, and how many missed."""
    out: dict[tuple[str, Op], str] = {}
    keys = sorted({(r.tenant, r.op) for r in runs}, key=lambda k: (k[0], k[1].value))
    for tenant, op in keys:
        measured = past_rtos(runs, tenant, op)
        if not measured:
            continue
        rto = rto_of(tenant)
        latest = measured[-1]
        line = f"{tenant} {OP_LABEL[op]}: {len(measured)} measured, latest {format_age(latest.total_seconds())}"
        if len(measured) > 1:
            before = timedelta(seconds=statistics.median(m.total_seconds() for m in measured[:-1]))
            line += f" ({_direction(before, latest)} the median {format_age(before.total_seconds())} before it)"
        if rto is not None:
            missed = sum(1 for m in measured if m > rto)
            line += f"; RTO {short(rto)}: " + (f"missed {missed} of {len(measured)}" if missed else "all met")
        out[(tenant, op)] = line
    return out


def _direction(before: timedelta, latest: timedelta) -> str:
    word = step_trend(before, latest)
    return "about" if word == "= same" else ("slower than" if word.startswith("▲") else "faster than")


def never_cleaned(runs: Sequence[DrillRun]) -> list[DrillRun]:
    """DR tests that succeeded and no cleanup closed: their rehearsal VMs
    still hold the recovery host."""
    return [r for r in runs if r.op is Op.DR_TEST and r.cleaned_up is False]


# --- the live view's order --------------------------------------------------------------------
def vm_order(vms: Sequence[VmSteps]) -> list[VmSteps]:
    """Failures at the top, then what runs, then what is done, each in the
    order the node took them."""
    def rank(v: VmSteps) -> int:
        return 0 if v.failed else (1 if v.running is not None else 2)
    return sorted(vms, key=rank)


def vm_state(vm: VmSteps) -> str:
    """``failed`` / ``running`` / ``up`` (its boot completed) / ``done``."""
    if vm.failed:
        return "failed"
    if vm.running is not None:
        return "running"
    return "up" if _last_boot(vm) is not None else "done"


def counts(progress: DrillProgress, total: int | None = None) -> Mapping[str, int]:
    """How many VMs are in each state (``waiting``: named by the command but
    not reached yet, when the total is known)."""
    out: dict[str, int] = {}
    for v in progress.vms:
        state = vm_state(v)
        out[state] = out.get(state, 0) + 1
    if total is not None and total > len(progress.vms):
        out["waiting"] = total - len(progress.vms)
    return out


def took(step: Step) -> str:
    d = step.duration
    return "-" if d is None else format_age(d.total_seconds())
