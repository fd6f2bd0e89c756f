"""The console's picture of the fleet, kept as rows per view and updated
with keyed change sets. Pure: tested directly, and the UI's only diff.

A snapshot of one node changes only that node's rows in the per-node views
(VMs, replication, events, …); the small fleet-wide views (overview, hosts,
nodes) are rebuilt and diffed. Which view is which comes from the registry
(``core.viewdefs``). Screens apply the resulting change sets to their
tables, which paint them in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ksystui.core.alerts import AlertRecord
from ksystui.core.snapshot import Freshness, NodeSnapshot
from ksystui.core.tenants import UNKNOWN_PRIORITY, TenantInfo
from ksystui.core.viewdefs import (
    VIEW_DEFS,
    FleetRowContext,
    FleetWide,
    FromAlerts,
    NodeRowContext,
    OneTenant,
    PerNode,
    ViewDef,
)
from ksystui.core.views import RowKey, ViewRow, all_live, open_alert_counts

NodeState = tuple[str, Freshness, str | None]  # (node, freshness, why it is not fresh)


@dataclass
class ViewChanges:
    upsert: list[ViewRow] = field(default_factory=list)
    remove: list[RowKey] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.upsert or self.remove)

    def extend(self, other: ViewChanges) -> None:
        self.upsert.extend(other.upsert)
        self.remove.extend(other.remove)


Changes = dict[str, ViewChanges]  # view name -> its changes


def _diff(old: dict[RowKey, ViewRow], new: Iterable[ViewRow], keys_in_scope: set[RowKey] | None) -> ViewChanges:
    """Changes turning ``old`` (restricted to ``keys_in_scope`` when given)
    into ``new``; ``old`` is updated in place."""
    ch = ViewChanges()
    seen: set[RowKey] = set()
    for row in new:
        seen.add(row.key)
        if old.get(row.key) != row:
            old[row.key] = row
            ch.upsert.append(row)
    candidates = keys_in_scope if keys_in_scope is not None else set(old)
    for key in candidates - seen:
        if key in old:
            del old[key]
            ch.remove.append(key)
    return ch


def _merge(into: Changes, more: Changes) -> None:
    for view, ch in more.items():
        if ch:
            into.setdefault(view, ViewChanges()).extend(ch)


class FleetView:
    def __init__(self, tenants: Iterable[TenantInfo], scope: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 views: Iterable[ViewDef] = VIEW_DEFS):
        self.tenants = list(tenants)
        self.scope = scope
        self.clock = clock
        self.views = {v.name: v for v in views}
        self.per_node = [v for v in self.views.values() if isinstance(v.source, PerNode)]
        self.fleet_wide = [v for v in self.views.values() if isinstance(v.source, FleetWide)]
        self.alert_views = [v for v in self.views.values() if isinstance(v.source, FromAlerts)]
        self.snapshots: dict[str, NodeSnapshot] = {}
        self.rows: dict[str, dict[RowKey, ViewRow]] = {
            v.name: {} for v in (*self.per_node, *self.fleet_wide, *self.alert_views)}
        self._node_keys: dict[tuple[str, str], set[RowKey]] = {}
        self.changed_at: dict[RowKey, datetime] = {}
        # the shared alert records (newest first), and who acknowledged each acknowledged one
        self.alerts: tuple[AlertRecord, ...] = ()
        self.acknowledged: dict[str, str] = {}
        self._freshness: dict[str, Freshness] = {}

    # --- scope ------------------------------------------------------------------
    def in_scope(self, tenant: str) -> bool:
        return self.scope is None or tenant == self.scope

    def visible_tenants(self) -> list[TenantInfo]:
        return [t for t in self.tenants if self.in_scope(t.name)]

    def tenant(self, name: str) -> TenantInfo | None:
        """A tenant in scope by name; None for any other (known or not)."""
        return next((t for t in self.visible_tenants() if t.name == name), None)

    def set_scope(self, scope: str | None) -> None:
        self.scope = scope
        self.rows = {v: {} for v in self.rows}
        self._node_keys.clear()
        for snap in list(self.snapshots.values()):
            self._rebuild_node(snap, self.clock())
        self._rebuild_fleet_wide(self.clock())
        self._rebuild_alerts()

    # --- updates ------------------------------------------------------------------
    def update(self, snap: NodeSnapshot) -> Changes:
        now = self.clock()
        old = self.snapshots.get(snap.node)
        if old is not None:
            before = {v.name: v.state for v in old.vms}
            for v in snap.vms:
                if before.get(v.name, v.state) != v.state:
                    self.changed_at[("vm", snap.node, v.name)] = now
        self.snapshots[snap.node] = snap
        self._freshness[snap.node] = snap.freshness(now)
        return self._rebuild_around(snap, now)

    def tick(self) -> Changes:
        """Re-judge freshness as time passes: rows of a node that went stale,
        or whose data no longer reads "live" (its age moves on), are rebuilt;
        live rows are left alone."""
        now = self.clock()
        out: Changes = {}
        for name, snap in self.snapshots.items():
            f = snap.freshness(now)
            if f is not self._freshness.get(name) or f is not Freshness.FRESH or not all_live(snap, now):
                self._freshness[name] = f
                _merge(out, self._rebuild_node(snap, now))
        _merge(out, self._rebuild_fleet_wide(now))
        return out

    def set_alerts(self, records: Iterable[AlertRecord]) -> Changes:
        """The alert records as the database holds them now: the alerts view,
        the overview's counts and the events' acknowledgements follow."""
        before = self.acknowledged
        where = {a.identity: a.node for a in self.alerts}
        self.alerts = tuple(records)
        where.update((a.identity, a.node) for a in self.alerts)
        self.acknowledged = {a.identity: a.acked_by or "?" for a in self.alerts if a.acknowledged}
        moved = {i for i in before.keys() | self.acknowledged.keys() if before.get(i) != self.acknowledged.get(i)}
        now = self.clock()
        out: Changes = {}
        for node in sorted({where[i] for i in moved if i in where}):
            snap = self.snapshots.get(node)
            if snap is not None:
                _merge(out, self._rebuild_node(snap, now))
        _merge(out, self._rebuild_fleet_wide(now))
        _merge(out, self._rebuild_alerts())
        return out

    def alert(self, identity: str) -> AlertRecord | None:
        """The alert record of an event (None: it raised no alert)."""
        return next((a for a in self.alerts if a.identity == identity), None)

    def open_critical(self) -> dict[str, int]:
        """Per node, its open alerts (unacknowledged shared records)."""
        return open_alert_counts(self.alerts, self.scope)

    # --- rows ------------------------------------------------------------------------
    def rows_of(self, view: str) -> list[ViewRow]:
        """A view's rows in their natural order (the registry's ``order``;
        a view may sort itself on top: events newest first)."""
        rows = list(self.rows[view].values())
        order = self.views[view].order
        if order is not None:
            ranks = {t.name: (t.priority, t.name) for t in self.tenants}

            def rank(tenant: str | None) -> tuple[int, str]:
                return ranks.get(tenant or "", (UNKNOWN_PRIORITY, ""))

            rows.sort(key=lambda r: order(r, rank))
        return rows

    def rows_for(self, view: str, tenant: str | None = None) -> list[ViewRow]:
        """What a screen of this view shows now: a OneTenant view is built for
        its tenant (only one in scope), the others are kept up to date."""
        source = self.views[view].source
        if isinstance(source, OneTenant):
            if tenant is None or self.tenant(tenant) is None:
                return []
            return source.build(self.snapshots, tenant, self.clock(), self.tenant(tenant))
        return self.rows_of(view)

    def _rebuild_around(self, snap: NodeSnapshot, now: datetime) -> Changes:
        out = self._rebuild_node(snap, now)
        out.update(self._rebuild_fleet_wide(now))
        return {k: v for k, v in out.items() if v}

    def _rebuild_node(self, snap: NodeSnapshot, now: datetime) -> Changes:
        ctx = NodeRowContext(now, self.changed_at, dict(self.acknowledged))
        out: Changes = {}
        for view in self.per_node:
            assert isinstance(view.source, PerNode)
            new = view.source.build(snap, ctx) if self.in_scope(snap.tenant) else []
            keys = self._node_keys.setdefault((view.name, snap.node), set())
            out[view.name] = _diff(self.rows[view.name], new, set(keys))
            self._node_keys[(view.name, snap.node)] = {r.key for r in new}
        return out

    def _rebuild_fleet_wide(self, now: datetime) -> Changes:
        ctx = FleetRowContext(self.snapshots, self.tenants, now, self.scope, self.open_critical())
        out: Changes = {}
        for view in self.fleet_wide:
            assert isinstance(view.source, FleetWide)
            out[view.name] = _diff(self.rows[view.name], view.source.build(ctx), None)
        return out

    def _rebuild_alerts(self) -> Changes:
        out: Changes = {}
        for view in self.alert_views:
            assert isinstance(view.source, FromAlerts)
            out[view.name] = _diff(self.rows[view.name], view.source.build(self.alerts, self.scope), None)
        return out

    # --- what the header shows ----------------------------------------------------------
    def node_states(self) -> list[NodeState]:
        """(node, freshness, reason) for every node in scope, in tenant order."""
        now = self.clock()
        out: list[NodeState] = []
        for t in sorted(self.visible_tenants(), key=lambda t: (t.priority, t.name)):
            for name in t.nodes:
                snap = self.snapshots.get(name)
                if snap is None:
                    out.append((name, Freshness.UNKNOWN, "not polled yet"))
                    continue
                f = snap.freshness(now)
                out.append((name, f, snap.health.last_error if f is not Freshness.FRESH else None))
        return out
