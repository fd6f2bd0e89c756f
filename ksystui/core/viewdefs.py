"""The console's views, one entry each (k9s's registrar). Pure.

A ``ViewDef`` says everything the console needs to know of a view: its
name, the ``:`` words and the number key that open it, its typed columns,
where its rows come from (which is also how the scope applies to it), what
Enter on a row opens, and which kinds of action act in it. The ``:``
interpreter, the palette, ``?`` help, the footer, the number keys and the
console's picture of the fleet all read this registry, so adding a view is
an entry here and its row builder (in ``core.views``), nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from ksystui.core.alerts import AlertRecord
from ksystui.core.details import Pairs, node_pairs, object_pairs
from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.sources import system_rows, vm_detail_pairs, with_service_columns
from ksystui.core.tenants import TenantInfo
from ksystui.core.views import (
    RowKey,
    ViewRow,
    age_cell,
    alert_rows,
    event_rows,
    host_rows,
    node_rows,
    overview_rows,
    replication_rows,
    tenant_rows,
    vm_rows,
)


class ColumnKind(Enum):
    """How a column's cells read and sort."""

    TEXT = "text"  # as written, case-insensitively
    NUMBER = "number"  # by the number in it, right-aligned ("10" after "2"; "-" last)
    AGE = "age"  # by the duration it spells ("live" first, "4m05s" after "45s", "never" last)


@dataclass(frozen=True)
class ColumnDef:
    key: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT
    max_width: int | None = None  # None: the table's default cap (a long text column: its whole text)
    long_text: bool = False  # takes the width that is free; shrinks first, with an ellipsis


def text(key: str, label: str, max_width: int | None = None) -> ColumnDef:
    return ColumnDef(key, label, ColumnKind.TEXT, max_width)


def long_text(key: str, label: str) -> ColumnDef:
    """Free text (a description, a reason): as wide as the terminal allows,
    cut with an ellipsis when narrow; the row's detail shows it whole."""
    return ColumnDef(key, label, ColumnKind.TEXT, None, long_text=True)


def number(key: str, label: str) -> ColumnDef:
    return ColumnDef(key, label, ColumnKind.NUMBER)


def age(key: str, label: str) -> ColumnDef:
    return ColumnDef(key, label, ColumnKind.AGE)


class Capability(Enum):
    """A kind of action a view's rows support; an action that needs one acts
    (and shows in the footer and ``?``) only in views that have it."""

    LIST = "list"  # filter and sort the rows
    DRILL = "drill"  # Enter opens what the row is about
    POLL = "poll"  # poll the selected row's node now
    ACKNOWLEDGE = "acknowledge"  # rows are events, keyed (kind, event identity)
    OPERATE = "operate"  # queue an operation on the selected row's tenant node
    QUEUE = "queue"  # cancel or raise the selected queued operation


# --- where rows come from (and so how the console's scope applies) ----------------
@dataclass(frozen=True)
class NodeRowContext:
    now: datetime
    changed_at: Mapping[RowKey, datetime]  # when a VM last changed state, as the console saw it
    acknowledged: Mapping[str, str]  # identity of each acknowledged alert -> who acknowledged it


@dataclass(frozen=True)
class FleetRowContext:
    snapshots: Mapping[str, NodeSnapshot]
    tenants: Sequence[TenantInfo]
    now: datetime
    scope: str | None
    open_critical: Mapping[str, int]  # node -> open (unacknowledged) alerts


@dataclass(frozen=True)
class PerNode:
    """Rows built from one node's snapshot at a time (a poll changes only that
    node's rows); a node of a tenant out of scope gives none."""

    build: Callable[[NodeSnapshot, NodeRowContext], list[ViewRow]]


@dataclass(frozen=True)
class FleetWide:
    """Rows built from every snapshot at once (small views); the builder gets
    the scope and may tell of other tenants nothing but a count."""

    build: Callable[[FleetRowContext], list[ViewRow]]


class TenantBuilder(Protocol):
    # ``info``: the tenant's configuration (its agreement), where the caller knows it
    def __call__(self, snapshots: Mapping[str, NodeSnapshot], tenant: str,
                 now: datetime | None = None, info: TenantInfo | None = None) -> list[ViewRow]: ...


@dataclass(frozen=True)
class OneTenant:
    """One tenant's rows, built when opened (and again as they age); opened
    only for a tenant in scope."""

    build: TenantBuilder


@dataclass(frozen=True)
class FromArbiter:
    """Rows read from the arbiter (the queue's database) with the console's scope."""


@dataclass(frozen=True)
class FromAlerts:
    """Rows built from the shared alert records (newest first) and the scope;
    rebuilt when the records change, not on every poll."""

    build: Callable[[Sequence[AlertRecord], str | None], list[ViewRow]]


Source = PerNode | FleetWide | OneTenant | FromArbiter | FromAlerts


# --- what Enter on a row opens ------------------------------------------------------
@dataclass(frozen=True)
class OpenView:
    view: str
    tenant: str | None = None  # for a OneTenant view
    preset_filter: str = ""
    title: str | None = None


@dataclass(frozen=True)
class OpenDetail:
    title: str
    pairs: tuple[tuple[str, str], ...]


DrillTarget = OpenView | OpenDetail
Rank = Callable[[str | None], tuple[int, str]]  # a tenant's place in agreement order


@dataclass(frozen=True)
class ViewDef:
    name: str
    title: str
    columns: tuple[ColumnDef, ...]
    source: Source
    key: str | None = None  # the number key that opens it
    aliases: tuple[str, ...] = ()  # other ``:`` words for it
    capabilities: frozenset[Capability] = frozenset()
    drill: Callable[[ViewRow], DrillTarget | None] | None = None
    default_sort: tuple[str, bool] | None = None  # (column key, descending); None: the natural order
    # the natural order of its rows; None: as built
    order: Callable[[ViewRow, Rank], tuple[Any, ...]] | None = None
    hint: str = ""  # one line for the palette and ``?``
    # the columns a narrow terminal keeps (status, WHY, AGE, …); the others go, rightmost first…
    keep: tuple[str, ...] = ()
    # …except these, which go before any other, in this order (wide and seldom read: a CEC UUID)
    drop_first: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def commandable(self) -> bool:
        """Opened by ``:name`` (a OneTenant view is opened by ``:tenant NAME``)."""
        return not isinstance(self.source, OneTenant)

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def kept(self, column: str) -> bool:
        """Whether a narrow terminal keeps the column (a view that names none keeps them all)."""
        return not self.keep or column in self.keep


# --- natural orders -------------------------------------------------------------------
def by_tenant(row: ViewRow, rank: Rank) -> tuple[Any, ...]:
    """Tenants by agreement priority, then node, then as the node lists them."""
    return (rank(row.tenant), row.node or "")


def by_recovery_host(row: ViewRow, rank: Rank) -> tuple[Any, ...]:
    """Each recovery host's tenants together, in agreement order."""
    return (row.cells[0], rank(row.tenant), row.node or "")


# --- drill-down targets ---------------------------------------------------------------
def _where(row: ViewRow) -> Pairs:
    return [("tenant", row.tenant or ""), ("node", row.node or "")]


HOME_VIEW = "overview"  # where the console opens, and where a change of scope returns
TENANT_VIEW = "tenant"  # the one-tenant view `:tenant NAME` opens


def open_tenant(tenant: str) -> OpenView:
    return OpenView(TENANT_VIEW, tenant=tenant, title=f"Tenant {tenant}")


def to_tenant(row: ViewRow) -> DrillTarget | None:
    return open_tenant(row.tenant) if row.tenant else None


def to_node_vms(row: ViewRow) -> DrillTarget | None:
    return OpenView("vms", preset_filter=f"node:{row.node}") if row.node else None


def to_vm(row: ViewRow) -> DrillTarget | None:
    # each value with its source, SSH or the DR Automation service
    return OpenDetail(f"VM {row.key[2]}", tuple(_where(row) + vm_detail_pairs(row.data)))


def to_event(row: ViewRow) -> DrillTarget | None:
    if isinstance(row.data, AlertRecord):
        return OpenDetail(f"Event {row.data.event}", tuple(_where(row) + object_pairs(row.data)))
    name = row.data.name if isinstance(row.data, KsysEvent) else "?"
    return OpenDetail(f"Event {name}", tuple(_where(row) + object_pairs(row.data)))


def to_node(row: ViewRow) -> DrillTarget | None:
    if not isinstance(row.data, NodeSnapshot):
        return None
    return OpenDetail(f"Node {row.node}", tuple(node_pairs(row.data)))



# --- the registry -----------------------------------------------------------------------
FLEET = frozenset({Capability.LIST, Capability.DRILL, Capability.POLL, Capability.OPERATE})

# the section each kind of system row was read by (its age is that read's)
_SYSTEM_SECTION = {"system": "system", "report": "report", "service": "rest_status"}


def tenant_and_system_rows(snapshots: Mapping[str, NodeSnapshot], tenant: str,
                           now: datetime | None = None, info: TenantInfo | None = None) -> list[ViewRow]:
    """The tenant view: its agreement (RTO, RPO agreed and measured), its
    configuration, then what ``query system``, ``report system`` and the DR
    Automation service say, each with its age."""
    rows = tenant_rows(snapshots, tenant, now, info)
    for r in system_rows(snapshots, tenant):
        snap = snapshots.get(r.node or "")
        age_, style = (age_cell(snap, now, _SYSTEM_SECTION[str(r.key[2])]) if now is not None and snap is not None
                       else ("-", None))
        rows.append(replace(r, cells=(*r.cells, age_), style=style))
    return rows


VIEW_DEFS: tuple[ViewDef, ...] = (
    ViewDef("overview", "Overview", (
        text("tenant", "TENANT"), number("prio", "PRIO"), text("tier", "TIER"), text("node", "NODE"),
        text("conn", "CONN"), age("age", "AGE"), long_text("vms", "VMS"), text("replication", "REPLICATION"),
        number("critical", "CRIT"), long_text("shared", "SHARED HOSTS"),
        # the agreement: RTO agreed (and the service's average DR time), RPO measured against agreed
        # with BREACH in words (last, so the columns before keep their places)
        text("rto", "RTO", max_width=24), text("rpo", "RPO", max_width=40)),
        FleetWide(lambda c: overview_rows(c.snapshots, c.tenants, c.now, c.scope, c.open_critical)),
        key="0", aliases=("tenants",), capabilities=FLEET, drill=to_tenant,
        hint="every tenant's nodes: agreed RTO, RPO measured against agreed, connection, VMs, replication, alerts",
        keep=("tenant", "rpo", "conn", "age", "vms", "replication", "critical")),
    ViewDef("vms", "VMs", (
        text("tenant", "TENANT"), text("node", "NODE"), text("site", "SITE"), text("host", "HOST"),
        text("vm", "VM"), text("state", "STATE"), text("drtest", "DR TEST"), text("priority", "PRIO"),
        age("changed", "LAST CHANGE"), age("age", "AGE"),
        age("dravg", "DR AVG"), text("event", "LAST EVENT", max_width=40)),  # the DR Automation service's columns
        PerNode(lambda s, c: with_service_columns(vm_rows(s, c.now, c.changed_at), s)),
        key="1", capabilities=FLEET, drill=to_vm, order=by_tenant, hint="every VM in scope",
        keep=("tenant", "host", "vm", "state", "drtest", "age")),
    ViewDef("replication", "Replication", (
        text("tenant", "TENANT"), text("node", "NODE"), long_text("group", "DISK GROUP"),
        text("cg", "CONSISTENCY GROUP"), text("state", "STATE"), number("progress", "PROGRESS"),
        age("lag", "LAG"), number("pairs", "PAIRS"), text("site", "ACTIVE SITE"), age("age", "AGE")),
        PerNode(lambda s, c: replication_rows(s, c.now)),
        key="2", capabilities=FLEET, drill=to_node_vms, order=by_tenant,
        hint="disk groups: consistency, progress, lag in time (a percent where the node gives no time)",
        keep=("tenant", "group", "state", "progress", "age")),
    ViewDef("events", "Events", (
        text("time", "TIME"), text("tenant", "TENANT"), text("node", "NODE"), text("severity", "SEVERITY"),
        text("event", "EVENT"), text("resource", "RESOURCE"), long_text("description", "DESCRIPTION"),
        text("ack", "ACK")),
        PerNode(lambda s, c: event_rows(s, c.acknowledged)),
        key="3", capabilities=FLEET | {Capability.ACKNOWLEDGE}, drill=to_event, order=by_tenant,
        # a live stream: what just happened on top, whichever tenant it came from
        default_sort=("time", True), hint="every KSYS event, newest first",
        keep=("time", "severity", "event", "description")),
    ViewDef("hosts", "Hosts", (
        text("recovery", "HOST"), text("uuid", "CEC UUID"), text("tenant", "TENANT"),
        text("node", "NODE"), text("role", "ROLE"), text("paired", "PAIRED HOST"), text("state", "STATE"),
        long_text("shared", "SHARED WITH"),
        # capacity (core.host_capacity): in use of the host's size, what is left, this tenant's share
        text("mem", "MEM"), text("cpu", "CPU"), text("free", "FREE"), text("share", "SHARE"), age("age", "AGE")),
        FleetWide(lambda c: host_rows(c.snapshots, c.now, c.scope)),
        key="4", capabilities=FLEET, drill=to_node_vms, order=by_recovery_host,
        hint="recovery hosts: who counts on them, whose VMs run on them, memory and CPU used and free by tenant",
        # at 80 columns: whose host, its state, who shares it, how much is left (ROLE from about 90);
        # the capacity columns outlast the identifiers (the UUID and the node are in the row's detail)
        keep=("recovery", "tenant", "state", "shared", "free", "age"),
        drop_first=("uuid", "node", "paired")),
    ViewDef("nodes", "Nodes", (
        text("node", "NODE"), text("tenant", "TENANT"), text("conn", "CONN"), number("latency", "LATENCY"),
        age("success", "LAST SUCCESS"), long_text("error", "LAST ERROR"), text("hostkey", "HOST KEY"),
        age("retry", "NEXT RETRY")),
        FleetWide(lambda c: node_rows(c.snapshots, c.now, c.scope)),
        key="5", capabilities=FLEET, drill=to_node, hint="each KSYS node's connection and freshness",
        keep=("node", "tenant", "conn", "success", "error")),
    ViewDef("queue", "Queue", (
        number("pos", "POS"), number("id", "ID"), text("host", "SHARED HOST"), text("tenant", "TENANT"),
        text("node", "NODE"), text("op", "OPERATION"), text("state", "STATE"), number("prio", "PRIO"),
        long_text("detail", "WHY / PROGRESS")),
        FromArbiter(), key="6", capabilities=frozenset({Capability.LIST, Capability.QUEUE}),
        hint="operations per shared recovery host: what runs, what waits and why",
        keep=("pos", "id", "tenant", "op", "state", "detail")),
    ViewDef("audit", "Audit", (
        number("seq", "SEQ"), text("at", "TIME (UTC)"), text("actor", "WHO"), text("action", "ACTION"),
        number("op", "OP"), text("tenant", "TENANT"), text("node", "NODE"), long_text("what", "WHAT")),
        FromArbiter(), key="7", capabilities=frozenset({Capability.LIST}),
        hint="who did what, when and why (hash-chained)",
        keep=("seq", "at", "actor", "action", "what")),
    ViewDef("alerts", "Alerts", (
        text("tenant", "TENANT"), text("node", "NODE"), text("time", "TIME"), text("event", "EVENT"),
        text("resource", "RESOURCE"), long_text("description", "DESCRIPTION"), text("recovery", "RECOVERY"),
        text("acked_by", "ACKED BY"), text("acked_at", "ACKED AT"), long_text("reason", "WHY"),
        text("state", "STATE"), text("notified", "NOTIFIED")),
        FromAlerts(alert_rows),
        key="8", capabilities=FLEET | {Capability.ACKNOWLEDGE}, drill=to_event,
        default_sort=("time", True),
        hint="critical events as shared records, newest first: the recovery proposed, who acknowledged them, "
             "whether they resolved, whom the hooks told",
        keep=("tenant", "event", "description", "recovery", "state")),
    ViewDef("drill", "Drill", (
        text("vm", "VM"), text("vmstate", "VM STATE"), text("step", "STEP"), text("state", "STATE"),
        text("started", "STARTED"), text("ended", "ENDED"), age("took", "TOOK"), long_text("detail", "DETAIL")),
        FromArbiter(), capabilities=frozenset({Capability.LIST, Capability.DRILL}),
        hint="one DR test or move live: each VM's steps, failures on top, elapsed against the RTO, predicted finish",
        keep=("vm", "step", "state", "took", "detail")),
    ViewDef("drills", "Drills", (
        text("tenant", "TENANT"), number("id", "ID"), text("op", "OPERATION"), text("node", "NODE"),
        text("started", "STARTED (UTC)"), text("state", "STATE"), age("measured", "MEASURED"),
        text("rto", "RTO"), text("verdict", "VERDICT"), text("trend", "TREND"), text("cleaned", "CLEANED")),
        FromArbiter(), capabilities=frozenset({Capability.LIST, Capability.DRILL}),
        hint="every DR test and move: measured RTO against the agreed one, its trend, rehearsals never cleaned up",
        keep=("tenant", "id", "op", "state", "measured", "verdict", "cleaned")),
    ViewDef("plan", "Disaster plan", (
        # the verdict first after the tenant: a narrow terminal keeps it whole
        number("order", "ORDER"), text("tenant", "TENANT"), text("verdict", "VERDICT", max_width=60),
        text("rto", "RTO"), text("finish", "FINISH"), text("start", "START"), text("node", "NODE"),
        long_text("basis", "ESTIMATED FROM")),
        FromArbiter(), aliases=("disaster",), capabilities=frozenset({Capability.LIST}),
        hint="`:plan [HOST|SITE|KEY=VALUE,...]`: if these fail now (default: every production host in scope), "
             "each tenant's recovery in order, predicted start and finish against its RTO, whether it fits, "
             "what another order or more capacity would change",
        keep=("order", "tenant", "verdict", "rto", "finish", "basis")),
    ViewDef("tenant", "Tenant", (
        text("kind", "KIND"), text("name", "NAME"), text("node", "NODE"), text("site", "SITE"),
        long_text("detail", "DETAIL"), age("age", "AGE")),
        OneTenant(tenant_and_system_rows), capabilities=FLEET, drill=to_node_vms,
        hint="everything one tenant's KSYS nodes know of its configuration, with the age of each read",
        keep=("kind", "name", "detail", "age")),
)

VIEWS: dict[str, ViewDef] = {v.name: v for v in VIEW_DEFS}
