"""The fleet: every node's monitor, the merged picture, and change sets for
whoever watches (the UI, ``ksystui status``, the arbiter)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import (
    ChangeSet,
    NodeSnapshot,
    SharedHost,
    diff,
    event_identity,
    keyed,
    recovery_hosts,
)
from ksystui.fleet.monitor import NodeMonitor

log = logging.getLogger(__name__)

# How each kind of item is keyed inside one node (for change sets).
ITEM_KEYS: dict[str, Callable] = {
    "vm": lambda v: v.name,
    "site": lambda s: s.name,
    "host": lambda h: h.name,
    "workgroup": lambda w: w.name,
    "disk_group": lambda d: d.name or d.workgroup or d.cg_name,
    "disk_pair": lambda p: (p.source, p.target),
    "hmc": lambda m: m.name,
    "storage_agent": lambda a: a.name,
    "system": lambda _s: "system",
    "service": lambda _s: "service",
}


@dataclass(frozen=True)
class FleetChange:
    """What one poll of one node changed: keyed change sets per kind, the
    events seen for the first time, and the new snapshot."""

    node: str
    tenant: str
    snapshot: NodeSnapshot
    changes: dict[str, ChangeSet] = field(default_factory=dict)
    new_events: tuple[KsysEvent, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.new_events and not any(self.changes.values())


Subscriber = Callable[[FleetChange], None]


class Fleet:
    def __init__(self, store=None):  # store: AsyncStore | None
        self.monitors: dict[str, NodeMonitor] = {}
        self.snapshots: dict[str, NodeSnapshot] = {}
        self.store = store
        self._subscribers: list[Subscriber] = []
        self._seen_events: dict[str, set[str]] = {}

    def add(self, monitor: NodeMonitor) -> None:
        monitor.publish = self._on_snapshot
        self.monitors[monitor.node] = monitor
        self.snapshots[monitor.node] = monitor.snapshot
        self._seen_events.setdefault(monitor.node, set())

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    # --- running -----------------------------------------------------------------
    def start(self) -> None:
        for m in self.monitors.values():
            m.start()

    async def stop(self) -> None:
        await asyncio.gather(*(m.stop() for m in self.monitors.values()))

    async def refresh_all(self, nodes: Iterable[str] | None = None) -> dict[str, NodeSnapshot]:
        """Poll every node (or the named ones) once, all at the same time."""
        names = list(nodes) if nodes is not None else list(self.monitors)
        await asyncio.gather(*(self.monitors[n].poll_once() for n in names), return_exceptions=True)
        return {n: self.snapshots[n] for n in names}

    def refresh_now(self, node: str) -> None:
        m = self.monitors.get(node)
        if m:
            m.refresh_now()

    # --- merging ---------------------------------------------------------------
    async def _on_snapshot(self, snap: NodeSnapshot) -> None:
        old = self.snapshots.get(snap.node)
        self.snapshots[snap.node] = snap
        changes: dict[str, ChangeSet] = {}
        for kind, key in ITEM_KEYS.items():
            before = keyed(old.items(kind), key) if old else {}
            after = keyed(snap.items(kind), key)
            cs = diff(before, after)
            if cs:
                changes[kind] = cs
        new_events = await self._new_events(snap)
        if self.store is not None:
            try:
                await self.store.save_snapshot(snap)
            except Exception:  # the display must go on if the disk is full
                log.exception("could not store the snapshot of %s", snap.node)
        change = FleetChange(snap.node, snap.tenant, snap, changes, new_events)
        for fn in list(self._subscribers):
            try:
                fn(change)
            except Exception:
                log.exception("fleet subscriber failed")

    async def _new_events(self, snap: NodeSnapshot) -> tuple[KsysEvent, ...]:
        seen = self._seen_events.setdefault(snap.node, set())
        fresh = [e for e in snap.events if event_identity(snap.node, e) not in seen]
        for e in fresh:
            seen.add(event_identity(snap.node, e))
        if self.store is not None and fresh:
            try:
                fresh = await self.store.add_events(snap.node, snap.tenant, fresh)
            except Exception:
                log.exception("could not store the events of %s", snap.node)
        return tuple(fresh)

    def shared_hosts(self) -> dict[str, SharedHost]:
        return recovery_hosts(self.snapshots.values())
