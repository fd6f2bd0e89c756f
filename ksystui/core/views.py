"""What each view of the control room shows, as plain rows (pure). Which
view uses which builder, with which columns, is ``core.viewdefs``.

Every builder takes the snapshots and a scope. A scoped view (one tenant)
is built only from that tenant's snapshots; of other tenants it may learn
nothing but a count (how many others share a recovery host). Deciding that
here, once, is what lets a test prove a scoped screen shows no other tenant.

Rows carry a ``style``: "stale" when the data behind the row is older than
three poll intervals, "unreachable" when its node cannot be reached, so the
screen dims it and shows its age instead of passing it off as fresh.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ksystui.core.age import format_age
from ksystui.core.alerts import AlertRecord
from ksystui.core.capacity import host_loads, loads_for
from ksystui.core.events import event_def, is_critical
from ksystui.core.host_capacity import capacity_cells, dedicated_hosts, shared_with
from ksystui.core.model import KsysEvent
from ksystui.core.operations import OP_LABEL
from ksystui.core.rpo import (
    BREACH,
    detail_text,
    dr_recovery_time,
    duration_text,
    lag_text,
    measure_group,
    measure_rpo,
    rpo_cell,
    rto_cell,
)
from ksystui.core.snapshot import (
    Freshness,
    NodeSnapshot,
    SharedHost,
    event_identity,
    recovery_hosts,
)
from ksystui.core.status import replication_health
from ksystui.core.tenants import TenantInfo

RowKey = tuple[str, ...]  # a row's identity within its view; its first part names the kind of row


@dataclass(frozen=True)
class ViewRow:
    key: RowKey
    cells: tuple[str, ...]
    style: str | None = None  # None / "stale" / "unreachable" / "alert"
    tenant: str | None = None
    node: str | None = None
    data: object = None


def ago(seconds: float | None) -> str:
    return format_age(seconds)


def _style(f: Freshness) -> str | None:
    return {Freshness.FRESH: None, Freshness.STALE: "stale", Freshness.UNREACHABLE: "unreachable",
            Freshness.UNKNOWN: "stale"}[f]


LIVE_WITHIN_INTERVALS = 1.5  # a read this recent, from a poll that succeeded, reads "live"


def reading_live(snap: NodeSnapshot, now: datetime, kind: str | None = None) -> bool:
    """Whether the data reads "live": the latest attempt to read it succeeded
    and the read is younger than one poll interval and a half. Anything else
    shows its age: a read that failed since, or a poller that stopped, never
    passes old data off as live (it would for three intervals, ~30 s, if
    "live" meant "still fresh")."""
    a = snap.age(now, kind)
    if a is None or snap.health.consecutive_failures:
        return False
    if kind is not None:
        section = snap.sections.get(kind)
        if section is None or section.error:
            return False
    return a.total_seconds() <= LIVE_WITHIN_INTERVALS * snap.interval


def all_live(snap: NodeSnapshot, now: datetime) -> bool:
    """Whether every AGE cell of the node reads "live" (its rows need no
    rebuilding as time passes)."""
    return reading_live(snap, now) and all(reading_live(snap, now, kind) for kind in snap.sections)


def age_cell(snap: NodeSnapshot, now: datetime, kind: str | None) -> tuple[str, str | None]:
    """The age cell and row style: the age of the last successful read
    ("live" only while :func:`reading_live`; "never" without any read); its
    exact age would change every second on every row, so live data does not
    spell it."""
    f = snap.freshness(now, kind)
    if reading_live(snap, now, kind):
        return "live", _style(f)
    a = snap.age(now, kind)
    return ago(a.total_seconds() if a else None), _style(f)


def scoped(snapshots: Mapping[str, NodeSnapshot], scope: str | None) -> list[NodeSnapshot]:
    return [s for s in snapshots.values() if scope is None or s.tenant == scope]


def vm_counts(snap: NodeSnapshot) -> str:
    c = Counter(v.state for v in snap.vms)
    return " ".join(f"{state}:{n}" for state, n in sorted(c.items())) or "-"


# --- builders ----------------------------------------------------------------
def overview_rows(snapshots: Mapping[str, NodeSnapshot], tenants: Iterable[TenantInfo], now: datetime,
                  scope: str | None = None, open_critical: Mapping[str, int] | None = None) -> list[ViewRow]:
    everyone = recovery_hosts(snapshots.values())
    rows: list[ViewRow] = []
    for t in sorted(tenants, key=lambda t: (t.priority, t.name)):
        if scope is not None and t.name != scope:
            continue
        for name in t.nodes:
            snap = snapshots.get(name)
            if snap is None:
                continue
            f = snap.freshness(now)
            age, style = age_cell(snap, now, None)
            shared = []
            own = {h.uuid: h.name for h in snap.hosts if h.uuid}  # as this node's KSYS calls them
            for h in sorted(everyone.values(), key=lambda h: own.get(h.uuid, h.name)):
                if name in _nodes_on(h) and len(h.users) > 1:
                    shared.append(f"{own.get(h.uuid, h.name)} (+{len(h.users) - 1})")
            crit = (open_critical or {}).get(name, 0)
            rpo = measure_rpo(snap, now, t.rpo)
            # a breach reads BREACH in its cell, and the row stands out as an open alert does
            loud = bool(crit) or bool(rpo.breach)
            rows.append(ViewRow(
                ("overview", name),
                (t.name, str(t.priority), t.tier, name, f.value, age, vm_counts(snap),
                 replication_health(snap.disk_groups), str(crit) if crit else "-", ", ".join(shared) or "-",
                 rto_cell(t.rto, dr_recovery_time(snap)), rpo_cell(rpo, t.rpo)),
                "alert" if loud and style is None else style, t.name, name, snap,
            ))
    return rows


def vm_rows(snap: NodeSnapshot, now: datetime, changed: Mapping[RowKey, datetime] | None = None) -> list[ViewRow]:
    """One node's VMs (the VM view is the union over nodes in scope)."""
    age, style = age_cell(snap, now, "vm")
    sites = {s.name for s in snap.sites}
    host_site = {h.name: h.site for h in snap.hosts}
    rows: list[ViewRow] = []
    for v in snap.vms:
        key = ("vm", snap.node, v.name)
        since = (changed or {}).get(key)
        site = host_site.get(v.host or "", None) or (v.workspace if v.workspace else "")
        if site not in sites and v.workspace:
            site = v.workspace
        rows.append(ViewRow(
            key,
            (snap.tenant, snap.node, site or "-", v.host or "-", v.name, v.state, v.dr_test_state or "-",
             v.priority or "-", ago((now - since).total_seconds()) if since else "-", age),
            style, snap.tenant, snap.node, v,
        ))
    return rows


def replication_rows(snap: NodeSnapshot, now: datetime) -> list[ViewRow]:
    age, style = age_cell(snap, now, "disk_group")
    rows: list[ViewRow] = []
    events, managed = snap.events, snap.managed_vms
    for d in snap.disk_groups:
        name = d.name or d.workgroup or d.cg_name or "?"
        progress = "-" if d.progress is None else f"{d.progress:g}%"
        # the lag in time where the node gives what measures it (core.rpo); where it does
        # not, only the share still to copy, as a percent (which is not a time)
        reading = measure_group(d, now, managed=managed, events=events)
        lag = (lag_text(reading) if reading.measured
               else "-" if d.progress is None else f"{max(0.0, 100 - d.progress):g}%")
        bad = d.cg_state not in ("consistent_synchronized", "consistent_copying")
        rows.append(ViewRow(
            ("replication", snap.node, name),
            (snap.tenant, snap.node, name, d.cg_name or "-", d.cg_state or "-", progress, lag,
             str(len(d.disk_pairs)) if d.disk_pairs else "-", d.active_site or d.site or "-", age),
            style or ("alert" if bad else None), snap.tenant, snap.node, d,
        ))
    return rows


def _when(e: KsysEvent) -> str:
    """An event's time as a cell: ``2026-11-23 03:00:00``."""
    return event_time_cell(e.time)


def event_time_cell(time: str | None) -> str:
    """A time as the node printed it, as a cell: ``2026-11-23 03:00:00``."""
    return (time or "?").replace("T", " ").rstrip("Z")


def open_alert_counts(alerts: Iterable[AlertRecord], scope: str | None = None) -> dict[str, int]:
    """Per node, its alerts nobody acknowledged yet that have not resolved
    on their own (what the overview counts)."""
    counts: Counter[str] = Counter(a.node for a in alerts
                                   if a.needs_attention and (scope is None or a.tenant == scope))
    return dict(counts)


def event_rows(snap: NodeSnapshot, acknowledged: Mapping[str, str] | None = None) -> list[ViewRow]:
    """One node's events; ``acknowledged`` maps the identity of each
    acknowledged alert to who acknowledged it (the ACK column says who)."""
    acked_by = acknowledged or {}
    rows: list[ViewRow] = []
    for e in snap.events:
        ident = event_identity(snap.node, e)
        d = event_def(e.name)
        severity = "critical" if is_critical(e) else (e.type or d.type)
        who = acked_by.get(ident)
        rows.append(ViewRow(
            ("event", ident),
            (_when(e), snap.tenant, snap.node, severity, e.name,
             e.resource or "-", e.description or d.description, who or "-"),
            "alert" if severity == "critical" and who is None else None, snap.tenant, snap.node, e,
        ))
    return rows


def _stamp(when: datetime | None) -> str:
    return "-" if when is None else when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def alert_state(a: AlertRecord) -> str:
    """OPEN (nobody acknowledged it), ACKED, or RESOLVED (what raised it is
    over: ``core.alert_resolution``; the detail says why)."""
    return "RESOLVED" if a.resolved else "ACKED" if a.acknowledged else "OPEN"


def alert_rows(alerts: Iterable[AlertRecord], scope: str | None = None) -> list[ViewRow]:
    """The shared alert records in scope, each with the recovery the core
    proposes and, once acknowledged, who did it, when and why (the same in
    every console: they are rows of the database, not a console's memory);
    its state, and how its notifications went, one short text per hook."""
    rows: list[ViewRow] = []
    for a in alerts:
        if scope is not None and a.tenant != scope:
            continue
        rows.append(ViewRow(
            ("alert", a.identity),
            (a.tenant, a.node, event_time_cell(a.event_time), a.event, a.resource or "-",
             a.description or event_def(a.event).description, OP_LABEL[a.proposal] if a.proposal else "-",
             a.acked_by or "-", _stamp(a.acked_at), a.ack_reason or "-", alert_state(a),
             ", ".join(a.notified) or "-"),
            "alert" if a.needs_attention else None, a.tenant, a.node, a,
        ))
    return rows


def _nodes_on(h: SharedHost) -> set[str]:
    """The nodes whose tenants count on the host or run on it now."""
    return {node for _, node, _ in h.pairs} | {node for _, node, _ in h.running}


def _role(tenant: str, h: SharedHost) -> str:
    if any(t == tenant for t, _, _ in h.running):
        return "runs VMs"
    return "recovery"


def _only(h: SharedHost, tenant: str, name: str) -> SharedHost:
    """The host as one tenant may see it: its own pairs and VMs, its own name for it."""
    return replace(h, names=(name,), tenants=tuple(t for t in h.tenants if t == tenant),
                   pairs=tuple(p for p in h.pairs if p[0] == tenant),
                   running=tuple(r for r in h.running if r[0] == tenant))


def host_rows(snapshots: Mapping[str, NodeSnapshot], now: datetime, scope: str | None = None) -> list[ViewRow]:
    """Each recovery host (by CEC UUID) and every tenant that uses it: those
    that count on it for recovery (ROLE "recovery", with the production host
    paired with it) and those whose VMs run on it now, after a failover onto
    it (ROLE "runs N VMs", with the home host it is paired with). MEM and CPU
    say how much of the host is in use ("used/total"), FREE what is left,
    SHARE this row's tenant's use of it. SHARED WITH names the other tenants,
    their roles and shares; a scoped view only counts them and sums their
    use (``core.host_capacity``)."""
    everyone = recovery_hosts(snapshots.values())
    every = host_loads(snapshots.values())
    everyone.update(dedicated_hosts(snapshots.values(), everyone, every))
    # a scoped row reads its own shares and one anonymous total for everyone else
    loads = loads_for(every, scope)
    rows: list[ViewRow] = []
    for snap in scoped(snapshots, scope):
        age, style = age_cell(snap, now, "host")
        own = {h.uuid: h for h in snap.hosts if h.uuid}
        for uuid, h in everyone.items():
            mine = own.get(uuid)
            here = [("recovery", prod) for t, node, prod in h.pairs if node == snap.node]
            here += [(f"runs {n} VM" + ("s" if n != 1 else ""), mine.pair if mine and mine.pair else "-")
                     for t, node, n in h.running if node == snap.node]
            if not here:
                continue
            load = loads.get(uuid)
            roles = {t: _role(t, h) for t in h.users if t != snap.tenant}
            shared = shared_with(load, snap.tenant, roles, scoped=scope is not None)
            runs = any(node == snap.node for _, node, _ in h.running)
            cap = capacity_cells(load, snap.tenant, runs_vms=runs)
            name = mine.name if mine else h.name
            # a scoped row's data tells of its own tenant only, like its cells
            data = h if scope is None else _only(h, snap.tenant, name)
            for role, paired in here:
                rows.append(ViewRow(
                    ("host", snap.node, uuid, paired, role.split()[0]),
                    (name, uuid, snap.tenant, snap.node, role, paired, (mine.state if mine else None) or "-",
                     shared, cap.memory, cap.cpu, cap.free, cap.share, age),
                    style, snap.tenant, snap.node, data,
                ))
    return rows


def node_rows(snapshots: Mapping[str, NodeSnapshot], now: datetime, scope: str | None = None) -> list[ViewRow]:
    rows: list[ViewRow] = []
    for snap in sorted(scoped(snapshots, scope), key=lambda s: (s.tenant, s.node)):
        h = snap.health
        f = snap.freshness(now)
        latency = "-" if h.latency_ms is None else f"{h.latency_ms:.0f} ms"
        success = "never" if h.last_success is None else ago((now - h.last_success).total_seconds()) + " ago"
        retry = "-" if h.next_attempt is None else (
            "now" if h.next_attempt <= now else "in " + ago((h.next_attempt - now).total_seconds()))
        rows.append(ViewRow(
            ("node", snap.node),
            (snap.node, snap.tenant, f.value, latency, success, h.last_error or "-", h.host_key, retry),
            _style(f), snap.tenant, snap.node, snap,
        ))
    return rows


def agreement_rows(snapshots: Mapping[str, NodeSnapshot], info: TenantInfo,
                   now: datetime | None = None) -> list[ViewRow]:
    """The tenant's agreement on top of its view: the agreed RTO (with the
    service's average DR time where it gives one), then per node the agreed
    RPO and the measured one, what it was measured from, the breach in words."""
    t = info.name
    mine = scoped(snapshots, t)
    avg = max((a for s in mine if (a := dr_recovery_time(s)) is not None), default=None)
    evidence = (f"; DR time {format_age(avg.total_seconds())} by the DR Automation service's averages, one VM "
                "after another" if avg else "")
    rto_breach = avg is not None and info.rto is not None and avg > info.rto
    # the RTO is the tenant's, not a node's: its row opens the node an operation acts on by default
    rows = [ViewRow(("t", "-", "agreement", "rto"),
                    ("agreement", "RTO", "-", "-", f"{duration_text(info.rto)} agreed{evidence}"
                     + (f" {BREACH}" if rto_breach else ""), "-"),
                    "alert" if rto_breach else None, t, info.default_node, info)]
    for snap in sorted(mine, key=lambda s: s.node):
        reading = measure_rpo(snap, now, info.rpo) if now is not None else None
        age, style = age_cell(snap, now, "disk_group") if now is not None else ("-", None)
        detail = detail_text(reading) if reading is not None else f"{duration_text(info.rpo)} agreed"
        rows.append(ViewRow(("t", snap.node, "agreement", "rpo"), ("agreement", "RPO", snap.node, "-", detail, age),
                            "alert" if reading is not None and reading.breach and style is None else style,
                            t, snap.node, reading))
    return rows


def tenant_rows(snapshots: Mapping[str, NodeSnapshot], tenant: str, now: datetime | None = None,
                info: TenantInfo | None = None) -> list[ViewRow]:
    """Everything one tenant's KSYS nodes know of their configuration, each
    row with the age of the read it comes from (without ``now``: "-"); with
    the tenant's ``info`` naming an RTO or RPO, its agreement and measured
    RPO first."""
    agreed = info is not None and info.name == tenant and (info.rto is not None or info.rpo is not None)
    rows: list[ViewRow] = agreement_rows(snapshots, info, now) if agreed and info is not None else []

    def row(snap: NodeSnapshot, kind: str, key: tuple[str, ...], cells: tuple[str, ...], data: object) -> None:
        age, style = age_cell(snap, now, kind) if now is not None else ("-", None)
        rows.append(ViewRow(key, (*cells, age), style, tenant, snap.node, data))

    for snap in scoped(snapshots, tenant):
        n = snap.node
        for s in snap.sites:
            row(snap, "site", ("t", n, "site", s.name), ("site", s.name, n, s.name, s.sitetype or s.region or "-"), s)
        for m in snap.items("hmc"):
            hosts = ", ".join(name for name, _ in m.managed_hosts) or "-"
            row(snap, "hmc", ("t", n, "hmc", m.name), ("HMC", m.name, n, m.site or "-",
                                                       f"{m.ip or '-'}  hosts: {hosts}"), m)
        for h in snap.hosts:
            row(snap, "host", ("t", n, "host", h.name), ("host", h.name, n, h.site or "-",
                                                         f"pair {h.pair or '-'}  {h.state or ''}  {h.uuid or ''}"), h)
        for a in snap.items("storage_agent"):
            row(snap, "storage_agent", ("t", n, "sa", a.name), ("storage agent", a.name, n, a.site or "-",
                                                                f"{a.storagetype or '-'} {a.serialnumber or ''}"), a)
        for w in snap.workgroups:
            row(snap, "workgroup", ("t", n, "wg", w.name), ("workgroup", w.name, n, w.active_site or "-",
                                                            f"{w.state or '-'}  {w.priority or ''}"), w)
    return rows
