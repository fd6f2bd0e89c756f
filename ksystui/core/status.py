"""The fleet status report behind ``ksystui status``: pure, from snapshots.

Tenant scoping is decided here, once: a scoped report is built only from the
scoped tenant's snapshots, and of the other tenants it keeps nothing but a
count (a shared host is "shared with 1 other tenant", never a name).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class NodeStatus:
    tenant: str
    node: str
    flavour: str
    freshness: Freshness
    age_seconds: float | None
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
        return tuple(n for n in self.nodes if n.freshness is Freshness.UNREACHABLE)


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
) -> StatusReport:
    tenants = [t for t in tenants if scope is None or t.name == scope]
    nodes: list[NodeStatus] = []
    for t in sorted(tenants, key=lambda t: (t.priority, t.name)):
        for name in t.nodes:
            snap = snapshots.get(name)
            if snap is None:
                continue
            fresh = snap.freshness(now)
            age = snap.age(now)
            reason = None
            if fresh is not Freshness.FRESH:
                reason = snap.health.last_error or ("never read" if fresh is Freshness.UNKNOWN else "no recent poll")
            nodes.append(
                NodeStatus(
                    tenant=t.name,
                    node=name,
                    flavour=snap.flavour.value,
                    freshness=fresh,
                    age_seconds=None if age is None else round(age.total_seconds(), 1),
                    reason=reason,
                    vm_counts=dict(sorted(Counter(v.state for v in snap.vms).items())),
                    replication=replication_health(snap.disk_groups),
                    critical_events=critical_events(name, snap.events, now),
                )
            )
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


def render_text(report: StatusReport) -> str:
    rows = [("TENANT", "PRIO", "NODE", "STATE", "AGE", "VMS", "REPLICATION")]
    prio = {t.name: t.priority for t in report.tenants}
    for n in report.nodes:
        vms = " ".join(f"{s}={c}" for s, c in n.vm_counts.items()) or "-"
        rows.append((n.tenant, str(prio[n.tenant]), n.node, n.freshness.value, format_age(n.age_seconds, missing="-"), vms, n.replication))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for n in report.nodes:
        if n.reason:
            lines.append(f"! {n.node}: {n.freshness.value}: {n.reason}")
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
                        "state": n.freshness.value,
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
    }
