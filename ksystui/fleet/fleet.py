"""The fleet: every node's monitor, the merged picture, and what each poll
brought for whoever watches (the UI, ``ksystui status``, the arbiter).

Subscribers get the new snapshot and the events seen for the first time;
whoever needs keyed row changes diffs the snapshots it renders (the UI does,
per view), so the fleet computes no diff nobody reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot, SharedHost, event_identity, recovery_hosts
from ksystui.fleet.monitor import NodeMonitor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetChange:
    """What one poll of one node brought: the new snapshot and the events
    seen for the first time."""

    node: str
    tenant: str
    snapshot: NodeSnapshot
    new_events: tuple[KsysEvent, ...] = ()


Subscriber = Callable[[FleetChange], None]


class SnapshotSink(Protocol):
    """Where the fleet keeps what it reads (the store's async repository)."""

    async def save_snapshot(self, snap: NodeSnapshot) -> None: ...

    async def add_events(self, node: str, tenant: str, events: Iterable[KsysEvent]) -> list[KsysEvent]: ...


class Fleet:
    def __init__(self, store: SnapshotSink | None = None):
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
        """Take a node's new snapshot, unless a later poll of it is already
        here (its monitor publishes in poll order; this keeps the promise for
        any other publisher too)."""
        if not snap.supersedes(self.snapshots.get(snap.node)):
            log.debug("ignoring poll %d of %s: a later one is here", snap.sequence, snap.node)
            return
        self.snapshots[snap.node] = snap
        new_events = await self._new_events(snap)
        if self.store is not None:
            try:
                await self.store.save_snapshot(snap)
            except Exception:  # the display must go on if the disk is full
                log.exception("could not store the snapshot of %s", snap.node)
        change = FleetChange(snap.node, snap.tenant, snap, new_events)
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
