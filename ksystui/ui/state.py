"""The console's picture of the fleet, kept as rows per view and updated
with keyed change sets (no Textual here: tested directly).

A snapshot of one node changes only that node's rows in the per-node views
(VMs, replication, events); the small fleet-wide views (overview, hosts,
nodes) are rebuilt and diffed. Screens apply the resulting change sets to
their tables, which paint them in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ksystui.core.events import is_critical
from ksystui.core.snapshot import Freshness, NodeSnapshot, event_identity
from ksystui.core.tenants import TenantInfo
from ksystui.core.views import (
    ViewRow,
    event_rows,
    host_rows,
    node_rows,
    overview_rows,
    replication_rows,
    vm_rows,
)

PER_NODE = ("vms", "replication", "events")
FLEET_WIDE = ("overview", "hosts", "nodes")


@dataclass
class ViewChanges:
    upsert: list[ViewRow] = field(default_factory=list)
    remove: list[tuple] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.upsert or self.remove)


def _diff(old: dict[tuple, ViewRow], new: Iterable[ViewRow], keys_in_scope: set[tuple] | None) -> ViewChanges:
    """Changes turning ``old`` (restricted to ``keys_in_scope`` when given)
    into ``new``; ``old`` is updated in place."""
    ch = ViewChanges()
    seen: set[tuple] = set()
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


class FleetView:
    def __init__(self, tenants: Iterable[TenantInfo], scope: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.tenants = list(tenants)
        self.scope = scope
        self.clock = clock
        self.snapshots: dict[str, NodeSnapshot] = {}
        self.rows: dict[str, dict[tuple, ViewRow]] = {v: {} for v in (*PER_NODE, *FLEET_WIDE)}
        self._node_keys: dict[tuple[str, str], set[tuple]] = {}
        self.changed_at: dict[tuple, datetime] = {}
        self.acknowledged: set[str] = set()
        self._freshness: dict[str, Freshness] = {}

    # --- scope ------------------------------------------------------------------
    def in_scope(self, tenant: str) -> bool:
        return self.scope is None or tenant == self.scope

    def visible_tenants(self) -> list[TenantInfo]:
        return [t for t in self.tenants if self.in_scope(t.name)]

    def set_scope(self, scope: str | None) -> None:
        self.scope = scope
        self.rows = {v: {} for v in self.rows}
        self._node_keys.clear()
        for snap in list(self.snapshots.values()):
            self._rebuild_node(snap, self.clock())
        self._rebuild_fleet_wide(self.clock())

    # --- updates ------------------------------------------------------------------
    def update(self, snap: NodeSnapshot) -> dict[str, ViewChanges]:
        now = self.clock()
        old = self.snapshots.get(snap.node)
        if old is not None:
            before = {v.name: v.state for v in old.vms}
            for v in snap.vms:
                if before.get(v.name, v.state) != v.state:
                    self.changed_at[("vm", snap.node, v.name)] = now
        self.snapshots[snap.node] = snap
        self._freshness[snap.node] = snap.freshness(now)
        out = self._rebuild_node(snap, now)
        out.update(self._rebuild_fleet_wide(now))
        return {k: v for k, v in out.items() if v}

    def tick(self) -> dict[str, ViewChanges]:
        """Re-judge freshness as time passes: rows of a node that went stale
        (or whose stale age moved on) are rebuilt; fresh rows are left alone."""
        now = self.clock()
        out: dict[str, ViewChanges] = {}
        for name, snap in self.snapshots.items():
            f = snap.freshness(now)
            if f is not self._freshness.get(name) or f is not Freshness.FRESH:
                self._freshness[name] = f
                for view, ch in self._rebuild_node(snap, now).items():
                    if ch:
                        out.setdefault(view, ViewChanges()).upsert.extend(ch.upsert)
                        out[view].remove.extend(ch.remove)
        for view, ch in self._rebuild_fleet_wide(now).items():
            if ch:
                out.setdefault(view, ViewChanges()).upsert.extend(ch.upsert)
                out[view].remove.extend(ch.remove)
        return out

    def acknowledge(self, identity: str) -> dict[str, ViewChanges]:
        self.acknowledged.add(identity)
        node = identity.split(":", 1)[0]
        snap = self.snapshots.get(node)
        if snap is None:
            return {}
        now = self.clock()
        out = self._rebuild_node(snap, now)
        out.update(self._rebuild_fleet_wide(now))
        return {k: v for k, v in out.items() if v}

    def open_critical(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, snap in self.snapshots.items():
            n = sum(
                1 for e in snap.events
                if is_critical(e) and event_identity(name, e) not in self.acknowledged
            )
            if n:
                counts[name] = n
        return counts

    # --- rows ------------------------------------------------------------------------
    def rows_of(self, view: str) -> list[ViewRow]:
        """A view's rows in their natural order: tenants by agreement
        priority, then node, then as the node lists them; hosts by recovery
        host, then tenant (other fleet-wide views are built in their own order
        already). A view may sort itself on top (events: newest first)."""
        rows = list(self.rows[view].values())
        rank = {t.name: (t.priority, t.name) for t in self.tenants}
        if view in PER_NODE:
            rows.sort(key=lambda r: (rank.get(r.tenant or "", (99, "")), r.node or ""))
        elif view == "hosts":  # each recovery host's tenants together, in agreement order
            rows.sort(key=lambda r: (r.cells[0], rank.get(r.tenant or "", (99, "")), r.node or ""))
        return rows

    def _rebuild_node(self, snap: NodeSnapshot, now: datetime) -> dict[str, ViewChanges]:
        builders = {
            "vms": lambda: vm_rows(snap, now, self.changed_at),
            "replication": lambda: replication_rows(snap, now),
            "events": lambda: event_rows(snap, self.acknowledged),
        }
        out = {}
        for view, build in builders.items():
            new = build() if self.in_scope(snap.tenant) else []
            keys = self._node_keys.setdefault((view, snap.node), set())
            ch = _diff(self.rows[view], new, set(keys))
            self._node_keys[(view, snap.node)] = {r.key for r in new}
            out[view] = ch
        return out

    def _rebuild_fleet_wide(self, now: datetime) -> dict[str, ViewChanges]:
        return {
            "overview": _diff(self.rows["overview"],
                              overview_rows(self.snapshots, self.tenants, now, self.scope, self.open_critical()),
                              None),
            "hosts": _diff(self.rows["hosts"], host_rows(self.snapshots, now, self.scope), None),
            "nodes": _diff(self.rows["nodes"], node_rows(self.snapshots, now, self.scope), None),
        }

    # --- what the header shows ----------------------------------------------------------
    def node_states(self) -> list[tuple[str, Freshness, str | None]]:
        """(node, freshness, reason) for every node in scope, in tenant order."""
        now = self.clock()
        out = []
        for t in sorted(self.visible_tenants(), key=lambda t: (t.priority, t.name)):
            for name in t.nodes:
                snap = self.snapshots.get(name)
                if snap is None:
                    out.append((name, Freshness.UNKNOWN, "not polled yet"))
                    continue
                f = snap.freshness(now)
                out.append((name, f, snap.health.last_error if f is not Freshness.FRESH else None))
        return out
