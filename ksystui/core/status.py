"""The fleet status report behind ``ksystui status``: pure, from snapshots.

Tenant scoping is decided here, once: a scoped report is built only from the
scoped tenant's snapshots, and of the other tenants it keeps nothing but a
count (a shared host is "shared with 1 other tenant", never a name).

Health tells the truth: each node gets one state (``NodeState``) and the
reasons behind it, and every state but ``fresh`` is a problem (the verb
exits non-zero). A node's age is always the age of its last successful
read; a read made during this very run counts as fresh however long the
run then waited for a slower node, so one slow node never ages the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ksystui.core.age import format_age
from ksystui.core.events import event_time, is_critical
from ksystui.core.model import DiskGroup, KsysEvent
from ksystui.core.snapshot import Freshness, NodeSnapshot, recovery_hosts
from ksystui.core.tenants import TenantInfo


@dataclass(frozen=True)
class CriticalEvent:
    node: str
    name: str
    time: str | None
    resource: str | None
    description: str | None


class NodeState(StrEnum):
    """What ``ksystui status`` says of one node; anything but FRESH is a problem."""

    FRESH = "fresh"  # read, recently enough, and everything it said could be read
    SLOW = "slow"  # no answer by the deadline (or the service's read of it is overdue)
    UNREACHABLE = "unreachable"  # the last attempt could not reach it
    UNREADABLE = "unreadable"  # it answered, but some output could not be parsed
    STALE = "stale"  # its last successful read is older than three poll intervals
    DEGRADED = "degraded"  # read, but a query or its DR Automation service (REST) failed
    UNKNOWN = "unknown"  # never read, and no attempt said why


@dataclass(frozen=True)
class NodeStatus:
    tenant: str
    node: str
    flavour: str
    state: NodeState
    age_seconds: float | None  # since the last successful read (None: never)
    reason: str | None  # why it is not fresh
    vm_counts: Mapping[str, int]
    replication: str
    critical_events: tuple[CriticalEvent, ...]


@dataclass(frozen=True)
class SharedHostStatus:
    name: str
    uuid: str
    tenants: tuple[str, ...]  # in a scoped report: only the scoped tenant
    other_tenants: int  # how many tenants besides those listed share it


@dataclass(frozen=True)
class StatusReport:
    generated_at: datetime
    scope: str | None
    tenants: tuple[TenantInfo, ...]
    nodes: tuple[NodeStatus, ...]
    shared_hosts: tuple[SharedHostStatus, ...]

    @property
    def unreachable(self) -> tuple[NodeStatus, ...]:
        return tuple(n for n in self.nodes if n.state is NodeState.UNREACHABLE)

    @property
    def problems(self) -> tuple[NodeStatus, ...]:
        """Every node that is not plainly fresh: each makes ``status`` fail."""
        return tuple(n for n in self.nodes if n.state is not NodeState.FRESH)


def replication_health(groups: Iterable[DiskGroup]) -> str:
    groups = list(groups)
    if not groups:
        return "not set up"
    bad = [g for g in groups if g.cg_state not in ("consistent_synchronized", "consistent_copying")]
    if bad:
        return f"BROKEN ({', '.join(sorted({g.cg_state or 'unknown' for g in bad}))})"
    behind = [g.progress for g in groups if g.progress is not None and g.progress < 100]
    if behind:
        return f"lagging ({min(behind):g}% copied)"
    return "in sync"


def critical_events(node: str, events: Iterable[KsysEvent], now: datetime, hours: int = 24) -> tuple[CriticalEvent, ...]:
    since = now - timedelta(hours=hours)
    out = []
    for ev in events:
        if not is_critical(ev):
            continue
        t = event_time(ev)
        if t is not None and t < since:
            continue
        out.append(CriticalEvent(node, ev.name, ev.time, ev.resource, ev.description))
    return tuple(out)


def build_status(
    snapshots: Mapping[str, NodeSnapshot],
    tenants: Iterable[TenantInfo],
    now: datetime,
    scope: str | None = None,
    *,
    asked_at: datetime | None = None,
    late: Iterable[str] = (),
    deadline: float | None = None,
) -> StatusReport:
    """The report as of ``now``. ``asked_at``: when this run started reading
    the nodes itself (None: the snapshots are someone else's reads, the
    provider service's); ``late``: the nodes that had not answered when the
    ``deadline`` (seconds) passed — their snapshots hold their last good data."""
    tenants = [t for t in tenants if scope is None or t.name == scope]
    late = frozenset(late)
    nodes: list[NodeStatus] = []
    for t in sorted(tenants, key=lambda t: (t.priority, t.name)):
        for name in t.nodes:
            snap = snapshots.get(name)
            if snap is None:
                continue
            age = snap.age(now)
            state, reasons = judge_node(snap, now, asked_at=asked_at, late=name in late, deadline=deadline)
            nodes.append(
                NodeStatus(
                    tenant=t.name,
                    node=name,
                    flavour=snap.flavour.value,
                    state=state,
                    age_seconds=None if age is None else round(age.total_seconds(), 1),
                    reason="; ".join(reasons) or None,
                    vm_counts=dict(sorted(Counter(v.state for v in snap.vms).items())),
                    replication=replication_health(snap.disk_groups),
                    critical_events=critical_events(name, snap.events, now),
                )
            )
    # shared hosts from every node's last good data: a node that is slow or
    # down now still pairs its hosts as it did when it last answered
    everyone = recovery_hosts(snapshots.values())
    visible_nodes = {n.node for n in nodes}
    mine = recovery_hosts(s for n, s in snapshots.items() if n in visible_nodes)
    shared = []
    for uuid, host in sorted(mine.items(), key=lambda kv: kv[1].name):
        total = everyone[uuid].tenants if uuid in everyone else host.tenants
        if len(total) < 2:
            continue
        shared.append(SharedHostStatus(host.name, uuid, host.tenants, len(total) - len(host.tenants)))
    return StatusReport(now, scope, tuple(tenants), tuple(nodes), tuple(shared))


# what the monitor writes into a section whose output could not be parsed
_UNREADABLE_PREFIX = "cannot read ksysmgr query"


def judge_node(snap: NodeSnapshot, now: datetime, *, asked_at: datetime | None = None, late: bool = False,
               deadline: float | None = None) -> tuple[NodeState, list[str]]:
    """One node's state and the reasons for it (none when fresh), each
    without the node's name (the report line already starts with it)."""
    state, reasons = _judge(snap, now, asked_at=asked_at, late=late, deadline=deadline)
    return state, [_shorten(r.replace(f"{snap.node}: ", "")) for r in reasons]


_REASON_MAX = 200  # characters: a reason is one line of a report, the node's own output is not


def _shorten(reason: str) -> str:
    return reason if len(reason) <= _REASON_MAX else reason[:_REASON_MAX - 1] + "…"


def _judge(snap: NodeSnapshot, now: datetime, *, asked_at: datetime | None, late: bool,
           deadline: float | None) -> tuple[NodeState, list[str]]:
    health = snap.health
    last_good = _last_good(snap, now)
    if late:
        wait = f"within the {deadline:g} s deadline" if deadline is not None else "in time"
        return NodeState.SLOW, [f"no answer {wait} (--timeout); {last_good}"]
    read_this_run = (asked_at is not None and health.last_success is not None
                     and health.last_success >= asked_at)
    # a read made during this run is as fresh as the run: judged when the run began
    freshness = snap.freshness(asked_at if read_this_run and asked_at is not None else now)
    if freshness is Freshness.UNREACHABLE:
        return NodeState.UNREACHABLE, [health.last_error or "cannot be reached", last_good]
    unreadable = sorted(k for k, s in snap.sections.items() if s.error and s.error.startswith(_UNREADABLE_PREFIX))
    failed = [s.error for k, s in sorted(snap.sections.items())
              if s.error and not s.error.startswith(_UNREADABLE_PREFIX)]
    reasons: list[str] = []
    if unreadable:
        first = snap.sections[unreadable[0]].error or ""
        detail = first.split(": ", 1)[1] if ": " in first else first
        reasons.append(f"output of ksysmgr query {', '.join(unreadable)} cannot be read ({detail})")
    reasons += failed
    if health.error_kind == "parse" and not unreadable and health.last_error:
        reasons.append(health.last_error)
    if freshness is Freshness.STALE:
        overdue = (asked_at is None and health.next_attempt is not None
                   and (now - health.next_attempt).total_seconds() > snap.interval)
        if overdue and health.last_error is None:
            assert health.next_attempt is not None
            waiting = format_age((now - health.next_attempt).total_seconds())
            return NodeState.SLOW, [f"the provider service's read of it is {waiting} overdue; {last_good}", *reasons]
        return NodeState.STALE, [f"{last_good} (expected every {snap.interval:g} s)", *reasons]
    if unreadable or health.error_kind == "parse":
        return NodeState.UNREADABLE, reasons
    if reasons:
        return NodeState.DEGRADED, reasons
    if freshness is Freshness.UNKNOWN:
        return NodeState.UNKNOWN, [health.last_error or "never read"]
    return NodeState.FRESH, []


def _last_good(snap: NodeSnapshot, now: datetime) -> str:
    age = snap.age(now)
    return "never read successfully" if age is None else \
        f"last good read {format_age(age.total_seconds())} ago"


def render_text(report: StatusReport) -> str:
    rows = [("TENANT", "PRIO", "NODE", "STATE", "AGE", "VMS", "REPLICATION")]
    prio = {t.name: t.priority for t in report.tenants}
    for n in report.nodes:
        vms = " ".join(f"{s}={c}" for s, c in n.vm_counts.items()) or "-"
        rows.append((n.tenant, str(prio[n.tenant]), n.node, n.state.value, format_age(n.age_seconds, missing="-"), vms, n.replication))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for n in report.nodes:
        if n.reason:
            lines.append(f"! {n.node}: {n.state.value}: {n.reason}")
    lines.append("")
    lines.append("SHARED RECOVERY HOSTS")
    if not report.shared_hosts:
        lines.append("  (none)")
    for h in report.shared_hosts:
        who = ", ".join(h.tenants)
        if h.other_tenants:
            plural = "tenant" if h.other_tenants == 1 else "tenants"
            who += f" (shared with {h.other_tenants} other {plural})"
        lines.append(f"  {h.name}  {h.uuid}  {who}")
    lines.append("")
    lines.append("CRITICAL EVENTS (24h)")
    events = [e for n in report.nodes for e in n.critical_events]
    if not events:
        lines.append("  (none)")
    for e in events:
        lines.append(f"  {e.time or '?'}  {e.node}  {e.name}  {e.resource or ''}  {e.description or ''}".rstrip())
    return "\n".join(lines) + "\n"


def to_json(report: StatusReport) -> dict[str, object]:
    return {
        "generated_at": report.generated_at.isoformat(),
        "scope": report.scope,
        "tenants": [
            {
                "name": t.name,
                "priority": t.priority,
                "tier": t.tier,
                "nodes": [
                    {
                        "node": n.node,
                        "flavour": n.flavour,
                        "state": n.state.value,
                        "age_seconds": n.age_seconds,
                        "reason": n.reason,
                        "vms_by_state": dict(n.vm_counts),
                        "replication": n.replication,
                        "critical_events": [e.__dict__ for e in n.critical_events],
                    }
                    for n in report.nodes
                    if n.tenant == t.name
                ],
            }
            for t in report.tenants
        ],
        "shared_recovery_hosts": [
            {"name": h.name, "uuid": h.uuid, "tenants": list(h.tenants), "other_tenants": h.other_tenants}
            for h in report.shared_hosts
        ],
        "unreachable": [n.node for n in report.unreachable],
        "problems": [{"node": n.node, "state": n.state.value, "reason": n.reason} for n in report.problems],
    }
