"""A drill or recovery report an auditor accepts, as plain values (pure).

One operation's evidence, put together from what the arbiter already keeps:
the operation's detail (its command, times, outcome, output lines and audit
records), the per-VM steps read from its progress stream
(``core.drill_steps``), the tenant's agreement (RTO and RPO), the cleanup
that closed a rehearsal, the RPO measured when it started (where known), and
the audit chain's anchor: the hash of the newest audit record the report
covers. Whoever holds the report can ask the trail whether that record is
still in it (``ksystui audit verify --anchor HASH``): every row before it is
chained to it, so an edit of any covered row is named.

A report for one tenant carries nothing of another: the builder is handed the
names it must not contain (other tenants, their nodes and exclusive hosts)
and replaces any it finds, wherever the text came from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from ksystui.core.drill_steps import STARTED, VmSteps, vm_steps
from ksystui.core.drill_steps import arrival as when_parsed  # the detail's times are stored alike
from ksystui.core.drills import recovered_at
from ksystui.core.lifecycle import Op
from ksystui.core.op_detail import AuditRecordView, OperationDetail
from ksystui.core.operations import OP_LABEL
from ksystui.core.rpo import measure_rpo
from ksystui.core.snapshot import NodeSnapshot

VERIFY_COMMAND = "ksystui audit verify --anchor {anchor}"
OTHER_TENANT = "another tenant"
# audit actions that say nothing the per-VM steps do not say better
_QUIET_ACTIONS = frozenset({"progress"})


@dataclass(frozen=True)
class StepRow:
    """One step of one VM, as the report prints it."""

    name: str
    state: str  # started (never ended) | completed | failed
    started: str  # UTC, "-" when unknown
    ended: str
    duration: str  # "3m 05s", "-" when not known
    detail: str


@dataclass(frozen=True)
class VmOutcome:
    vm: str
    outcome: str  # completed | failed | incomplete
    duration: str  # first step's start to last step's end
    steps: tuple[StepRow, ...]
    failure: str = ""  # the failed step and what the node said


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    what: str  # "submit", "start", "finish", … or "cleanup: submit"
    who: str
    detail: str


@dataclass(frozen=True)
class AuditEntryRow:
    """One covered audit record: what an auditor looks up in the trail."""

    seq: str  # "" in a tenant's report (global places are not shown)
    at: str
    actor: str
    action: str
    operation: str
    hash: str  # "" in a tenant's report, where the anchor alone stands for the chain


@dataclass(frozen=True)
class CleanupRow:
    ref: str
    state: str
    command: str
    requested_by: str
    started: str
    finished: str
    outcome: str


@dataclass(frozen=True)
class Report:
    title: str
    tenant: str
    node: str
    operation: str  # as the queue names it: "DR test", "planned move", …
    ref: str  # "#42" (a tenant's report: its own number)
    state: str
    outcome: str
    site: str
    command: str
    commands: tuple[str, ...]  # every command sent: the operation's, then its cleanup's
    hosts: str
    requested_by: str
    requested_at: str
    confirmed_by: str
    confirmation: str  # how it was confirmed
    submitted_at: str
    started_at: str
    finished_at: str
    queue_wait: str
    measured_rto: str  # "12m 30s" or why not measured
    measured_rto_seconds: float | None
    agreed_rto: str  # "30m" or "none agreed"
    agreed_rto_seconds: float | None
    rto_verdict: str  # "met" | "missed" | "not judged"
    rpo_at_start: str
    agreed_rpo: str
    vms: tuple[VmOutcome, ...]
    timeline: tuple[TimelineEntry, ...]
    audit: tuple[AuditEntryRow, ...]
    cleanup: CleanupRow | None
    rehearsal_note: str  # "" unless the operation is a DR test
    anchor: str  # the newest covered record's hash ("" when the caller could not read it)
    anchor_note: str
    verify_command: str
    generated_at: str
    scoped: bool
    output_lines: int

    @property
    def failed_vms(self) -> tuple[VmOutcome, ...]:
        return tuple(v for v in self.vms if v.outcome == "failed")


@dataclass(frozen=True)
class RpoAtStart:
    """What was measured of the tenant's recovery point when the operation
    started (``core.rpo`` where it is merged), or why nothing was."""

    lag: timedelta | None
    basis: str = ""  # how it was measured
    why_unknown: str = ""


def rpo_at_start_of(snapshot: NodeSnapshot | None, started: datetime, target: timedelta | None) -> RpoAtStart:
    """The recovery point the node's record showed when the operation started
    (``snapshot``: the node as the service had published it then)."""
    if snapshot is None:
        return RpoAtStart(None, why_unknown="not recorded: the record holds no read of the node before it started")
    reading = measure_rpo(snapshot, started, target)
    if reading.lag is None:
        return RpoAtStart(None, why_unknown=f"not measurable: {reading.unknown_why or 'the node said nothing of it'}")
    return RpoAtStart(reading.lag, ("at least, " if reading.at_least else "") + reading.basis)


def span(value: timedelta | None) -> str:
    """A duration as a report prints it: ``1h 02m 05s``, ``3m 05s``, ``42s``."""
    if value is None:
        return "-"
    total = max(0, round(value.total_seconds()))
    if total == 0:
        return "under 1s"  # the record keeps times to the second
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def _stamp(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _vm_outcome(vm: VmSteps) -> VmOutcome:
    rows = tuple(StepRow(s.name, s.state, _stamp(s.started_at), "-" if s.state == STARTED else _stamp(s.at),
                         span(s.duration), s.detail) for s in vm.steps)
    failure = vm.failure
    outcome = "failed" if vm.failed else ("incomplete" if vm.running is not None else "completed")
    started, last = vm.started_at, max((s.at for s in vm.steps if s.at is not None), default=None)
    took = last - started if started is not None and last is not None and vm.running is None else None
    return VmOutcome(vm.vm, outcome, span(took), rows,
                     failure=f"{failure.name}: {failure.detail}".rstrip(": ") if failure is not None else "")


def _record_value(rec: AuditRecordView, key: str) -> str:
    return next((v for k, v in rec.detail if k == key), "")


def _confirmation(detail: OperationDetail) -> tuple[str, str]:
    submit = next((r for r in detail.audit if r.action == "submit"), None)
    if submit is None:
        return "-", "its submit record is not in the trail"
    if _record_value(submit, "confirmed").lower() not in ("true", "1", "yes"):
        return "-", "submitted without a confirmation"
    how = "typed the tenant's name to confirm the unplanned move" if detail.line.op == OP_LABEL[Op.MOVE_UNPLANNED] \
        else "confirmed the previewed command before it was queued"
    return submit.actor, how


def _timeline(records: Iterable[AuditRecordView], prefix: str = "") -> list[TimelineEntry]:
    return [TimelineEntry(r.at, prefix + r.action, r.actor, r.summary()) for r in records
            if r.action not in _QUIET_ACTIONS]


def _rehearsal(detail: OperationDetail, cleanup: OperationDetail | None) -> str:
    if detail.line.op != OP_LABEL[Op.DR_TEST]:
        return ""
    if cleanup is None:
        if detail.line.state == "succeeded":
            return ("never cleaned up: the rehearsal VMs still hold the recovery host "
                    "(queue a cleanup of this DR test)")
        return f"no cleanup recorded (the DR test {detail.line.state})"
    return f"closed by cleanup {cleanup.line.shown}: {cleanup.line.state}" + (
        f" at {cleanup.finished_at}" if cleanup.finished_at != "-" else "")


T = TypeVar("T")


def scrub(value: T, names: Iterable[str]) -> T:
    """``value`` (a string, or a dataclass / tuple holding strings) with every
    name in ``names`` replaced by "another tenant", as whole words."""
    words = sorted({n for n in names if n}, key=len, reverse=True)
    if not words:
        return value
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")
    return cast(T, _scrub(value, pattern))


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(OTHER_TENANT, value)
    if isinstance(value, tuple):
        return tuple(_scrub(v, pattern) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _scrub(getattr(value, f.name), pattern)
                                             for f in dataclasses.fields(value)})
    return value


def foreign_names(tenant: str, tenants: Iterable[tuple[str, Sequence[str]]],
                  snapshots: Iterable[NodeSnapshot] = ()) -> list[str]:
    """What a report of ``tenant`` must not name: every other tenant, its KSYS
    nodes, and the hosts and VMs only other tenants' nodes report (a shared
    recovery host, which ``tenant``'s own node reports too, stays)."""
    snaps = list(snapshots)
    def named(snap: NodeSnapshot) -> set[str]:
        return {h.name for h in snap.hosts} | {v.name for v in snap.vms}

    mine = set().union(*(named(s) for s in snaps if s.tenant == tenant))
    theirs = set().union(*(named(s) for s in snaps if s.tenant != tenant))
    return [name for other, nodes in tenants if other != tenant for name in (other, *nodes)] + sorted(theirs - mine)


def build_report(detail: OperationDetail, *, generated_at: datetime, cleanup: OperationDetail | None = None,
                 agreed_rto: timedelta | None = None, agreed_rpo: timedelta | None = None,
                 rpo_at_start: RpoAtStart | None = None, anchor: str = "", scoped: bool = False,
                 foreign_names: Sequence[str] = (), no_anchor_why: str = "the audit trail could not be read") -> Report:
    """The report of one operation. ``anchor``: the hash of the newest audit
    record covered (the operation's and its cleanup's); ``foreign_names``:
    what must not appear (other tenants, their nodes and exclusive hosts)."""
    line = detail.line
    started, finished = when_parsed(detail.started_at), when_parsed(detail.finished_at)
    submitted = when_parsed(detail.submitted_at)
    steps = vm_steps(detail.output)
    # the drill view's rule (core.drills): recovered when the last VM came up, else when the command ended
    end = recovered_at(steps) or finished if finished is not None else None
    took = max(timedelta(0), end - started) if started is not None and end is not None else None
    if took is not None:
        measured = span(took)
    elif started is None:
        measured = "not measured: the operation never started"
    else:
        measured = "not measured: the operation has not finished"
    verdict = "not judged"
    if took is not None and agreed_rto is not None:
        verdict = "met" if took <= agreed_rto and line.state == "succeeded" else "missed"
    rpo = rpo_at_start or RpoAtStart(None, why_unknown="not recorded: no snapshot of the tenant's replication "
                                                       "was kept for the time it started")
    rpo_text = f"{span(rpo.lag)}" + (f" ({rpo.basis})" if rpo.basis else "") if rpo.lag is not None else (
        rpo.why_unknown or "not measured")
    if rpo.lag is not None and agreed_rpo is not None:
        rpo_text += f": within the agreed {span(agreed_rpo)}" if rpo.lag <= agreed_rpo else \
            f": BREACH, above the agreed {span(agreed_rpo)}"
    confirmed_by, confirmation = _confirmation(detail)
    vms = sorted((_vm_outcome(v) for v in steps), key=lambda v: v.outcome != "failed")
    records = list(detail.audit) + (list(cleanup.audit) if cleanup is not None else [])
    timeline = _timeline(detail.audit) + (_timeline(cleanup.audit, "cleanup: ") if cleanup is not None else [])
    commands = tuple(c for c in (detail.command, cleanup.command if cleanup is not None else "") if c)
    op_word = line.op
    report = Report(
        title=f"{op_word} {line.shown} of {line.tenant}",
        tenant=line.tenant, node=line.node, operation=op_word, ref=line.shown, state=line.state,
        outcome=detail.outcome or "-",
        site=f"{detail.site or '-'}" + (f" → {detail.to_site}" if detail.to_site else ""),
        command=detail.command, commands=commands, hosts=", ".join(detail.host_names) or "only its own node",
        requested_by=detail.submitted_by, requested_at=detail.submitted_at,
        confirmed_by=confirmed_by, confirmation=confirmation,
        submitted_at=detail.submitted_at, started_at=detail.started_at, finished_at=detail.finished_at,
        queue_wait=span(started - submitted) if started is not None and submitted is not None else "-",
        measured_rto=measured, measured_rto_seconds=None if took is None else took.total_seconds(),
        agreed_rto=span(agreed_rto) if agreed_rto is not None else "none agreed",
        agreed_rto_seconds=None if agreed_rto is None else agreed_rto.total_seconds(),
        rto_verdict=verdict, rpo_at_start=rpo_text,
        agreed_rpo=span(agreed_rpo) if agreed_rpo is not None else "none agreed",
        vms=tuple(vms),
        timeline=tuple(sorted(timeline, key=lambda e: e.at)),
        audit=tuple(AuditEntryRow(r.shown_seq, r.at, r.actor, r.action, r.shown_operation, r.hash)
                    for r in sorted(records, key=lambda r: r.seq) if r.action not in _QUIET_ACTIONS),
        cleanup=None if cleanup is None else CleanupRow(
            cleanup.line.shown, cleanup.line.state, cleanup.command, cleanup.submitted_by, cleanup.started_at,
            cleanup.finished_at, cleanup.outcome or "-"),
        rehearsal_note=_rehearsal(detail, cleanup),
        anchor=anchor,
        anchor_note=("the hash of the newest audit record this report covers: the trail must still hold it, "
                     "and every record before it is chained to it" if anchor else f"no anchor: {no_anchor_why}"),
        verify_command=VERIFY_COMMAND.format(anchor=anchor) if anchor else "",
        generated_at=_stamp(generated_at), scoped=scoped, output_lines=len(detail.output),
    )
    return scrub(report, [n for n in foreign_names if n != line.tenant])


def newest_record(details: Iterable[OperationDetail | None]) -> AuditRecordView | None:
    """The newest audit record of these operations: the one the anchor names."""
    records = [r for d in details if d is not None for r in d.audit]
    return max(records, key=lambda r: r.seq, default=None)


def report_json(report: Report) -> dict[str, Any]:
    """The report for machines: every field, and the per-VM failures first."""
    out = dataclasses.asdict(report)
    out["failed_vms"] = [v.vm for v in report.failed_vms]
    out["format"] = "ksystui-report/1"
    return out

