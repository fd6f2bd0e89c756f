"""A console as a client of the database: the provider service polls the
nodes and writes what it reads; the console reads it back.

``DatabaseSource`` opens on the latest snapshots and alert records, then
follows the change feed (``changes``: one row per snapshot, alert,
acknowledgement, queue change): a snapshot change reloads that node's
snapshot and tells the subscribers (``FleetNotice``, as a fleet would); an
alert or acknowledgement reloads the alert list and tells which alerts are
new; a queue change says the queue view is worth reading again. It is what
the UI reads (``SnapshotSource`` + ``SharedState``) and what the arbiter
port plans with (``FleetReader``): there, polling a node now means asking
the service to (a ``refresh`` change) and waiting, bounded, for the newer
snapshot. It opens no connection to any node and needs no node credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ksystui.client.follow import NO_SERVICE, ChangeWaiter, service_leads
from ksystui.core.alerts import AlertRecord
from ksystui.core.lease import LeaseState
from ksystui.core.model import Flavour, KsysEvent
from ksystui.core.snapshot import NodeSnapshot, event_identity
from ksystui.store.feed import AsyncFeed, Change

log = logging.getLogger(__name__)

BATCH = 1000  # changes read at once
# PostgreSQL hands out sequence numbers before commit: a change may become
# visible after a later one. Reading again a little behind the newest seen
# catches it; what was already handled is skipped by its seq.
OVERLAP = 100
SHOWN_ALERTS = 500
SERVICE_CHECK_SECONDS = 2.0


class LeaseReader(Protocol):
    async def state(self) -> LeaseState: ...


@dataclass(frozen=True)
class NodePlace:
    """A configured node: whose, and what kind (for its empty snapshot)."""

    node: str
    tenant: str
    flavour: Flavour
    interval: float


@dataclass(frozen=True)
class NodeNotice:
    """One node's news (``ui.ports.FleetNotice``)."""

    snapshot: NodeSnapshot
    new_events: tuple[KsysEvent, ...] = ()


@dataclass(frozen=True)
class News:
    """What changed in the shared records (``ui.ports.SharedNews``)."""

    alerts: tuple[AlertRecord, ...]
    new_alerts: tuple[AlertRecord, ...] = ()
    service_note: str | None = None
    queue_changed: bool = False


class RemoteNode:
    """One node as the arbiter port reads it through the service."""

    def __init__(self, source: DatabaseSource, node: str):
        self.source = source
        self.node = node

    async def poll_once(self) -> NodeSnapshot:
        return await self.source.poll_once(self.node)

    def refresh_now(self) -> None:
        self.source.refresh_now(self.node)


class DatabaseSource:
    def __init__(self, feed: AsyncFeed, places: Iterable[NodePlace], *, scope: str | None = None,
                 waiter: ChangeWaiter | None = None, lease: LeaseReader | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.feed = feed
        self.places = {p.node: p for p in places if scope is None or p.tenant == scope}
        self.scope = scope
        self.waiter = waiter or ChangeWaiter(None)
        self.lease = lease
        self.clock = clock
        self.snapshots: dict[str, NodeSnapshot] = {
            p.node: NodeSnapshot(p.node, p.tenant, p.flavour, p.interval) for p in self.places.values()}
        self.monitors: dict[str, RemoteNode] = {n: RemoteNode(self, n) for n in self.places}
        self.alerts: tuple[AlertRecord, ...] = ()
        self.service_note: str | None = None
        self.last_seq = 0
        self._handled: set[int] = set()  # change seqs already handled, within the overlap
        self._snapshot_seq: dict[str, int] = {}  # node -> seq of the change that wrote its newest snapshot
        self._told: set[int] = set()  # alert ids already told as new
        self._subscribers: list[Callable[[NodeNotice], None]] = []
        self._shared: list[Callable[[News], None]] = []
        self._arrived = asyncio.Condition()
        self._catching_up = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()
        self._service_checked = 0.0

    # --- opening --------------------------------------------------------------------------
    async def open(self) -> DatabaseSource:
        """Read where the feed stands, then the latest snapshots and alerts
        (in that order: whatever changes in between is read again)."""
        self.last_seq = await self.feed.last_seq()
        for node, snap in (await self.feed.snapshots(tenant=self.scope)).items():
            if node in self.places or self.scope is None:
                self.snapshots[node] = snap
        self.alerts = tuple(await self.feed.alerts(tenant=self.scope, limit=SHOWN_ALERTS))
        self._told = {a.id for a in self.alerts}  # what was raised before this console opened is listed, not told
        await self.check_service()
        return self

    # --- what the UI reads (SnapshotSource, SharedState) ----------------------------------
    def subscribe(self, fn: Callable[[NodeNotice], None]) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def subscribe_shared(self, fn: Callable[[News], None]) -> Callable[[], None]:
        self._shared.append(fn)
        return lambda: self._shared.remove(fn)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="ksystui-follow-changes")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for chore in list(self._chores):
            chore.cancel()
        await asyncio.gather(*self._chores, return_exceptions=True)
        await self.waiter.close()

    def refresh_now(self, node: str) -> None:
        """Ask the service to poll the node soon (a ``refresh`` change)."""
        place = self.places.get(node)
        if place is None:
            return
        chore = asyncio.create_task(self._request_refresh(place))
        self._chores.add(chore)
        chore.add_done_callback(self._chores.discard)

    async def _request_refresh(self, place: NodePlace) -> None:
        try:
            await self.feed.request_refresh(place.node, place.tenant)
        except Exception as exc:  # the database is down: the banner says why soon
            log.warning("refresh of %s not requested: %s", place.node, exc)

    # --- what the arbiter port reads (FleetReader) ------------------------------------------
    async def poll_once(self, node: str) -> NodeSnapshot:
        """The node's state read now: the service is asked to poll it, and
        its newer snapshot awaited for up to two poll intervals; after that,
        the latest one there is (its freshness says how old)."""
        place = self.places[node]
        before = await self.feed.last_seq()
        await self.feed.request_refresh(node, place.tenant)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * place.interval
        while self._snapshot_seq.get(node, 0) <= before:
            left = deadline - loop.time()
            if left <= 0:
                break
            await self.catch_up()
            if self._snapshot_seq.get(node, 0) > before:
                break
            async with self._arrived:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, self.waiter.poll_seconds)):  # not wait_for: see Dispatcher.run
                        await self._arrived.wait()
        return self.snapshots[node]

    # --- following the feed --------------------------------------------------------------------
    async def _follow(self) -> None:
        while True:
            await self.waiter.wait()
            try:
                await self.catch_up()
                if asyncio.get_running_loop().time() - self._service_checked >= SERVICE_CHECK_SECONDS:
                    await self.check_service()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: say so, keep trying
                log.warning("reading the change feed failed: %s", exc)
                self._note(f"the database cannot be read ({type(exc).__name__}): the data shown only ages")

    async def catch_up(self) -> None:
        """Read every change since the last one handled, and act on it."""
        async with self._catching_up:
            target = await self.feed.last_seq()
            if target <= self.last_seq:
                return
            since, newest = max(0, self.last_seq - OVERLAP), target
            while True:
                batch = await self.feed.changes_since(since, tenant=self.scope, limit=BATCH)
                await self._absorb([c for c in batch if c.seq not in self._handled])
                self._handled.update(c.seq for c in batch)
                if batch:
                    newest = max(newest, batch[-1].seq)
                if len(batch) < BATCH:
                    break
                since = batch[-1].seq
            self.last_seq = newest
            self._handled = {s for s in self._handled if s > newest - OVERLAP}
        async with self._arrived:
            self._arrived.notify_all()

    async def _absorb(self, changes: Sequence[Change]) -> None:
        written: dict[str, int] = {}
        alerts = queue = False
        alert_ids: set[int] = set()
        for c in changes:
            if c.kind == "snapshot" and c.node is not None:
                written[c.node] = max(written.get(c.node, 0), c.seq)
            elif c.kind in ("alert", "ack", "resolve", "notified"):  # a record every console shows changed
                alerts = True
                if c.kind == "alert" and c.ref is not None:
                    alert_ids.add(c.ref)
            elif c.kind == "queue":
                queue = True
        if written:
            fresh = await self.feed.snapshots(tenant=self.scope, nodes=sorted(written))
            for node, snap in fresh.items():
                self._snapshot_seq[node] = max(self._snapshot_seq.get(node, 0), written.get(node, 0))
                self._publish(snap)
        if alerts:
            self.alerts = tuple(await self.feed.alerts(tenant=self.scope, limit=SHOWN_ALERTS))
            new = tuple(a for a in self.alerts if a.id in alert_ids and a.id not in self._told)
            self._told.update(a.id for a in new)
        if alerts or queue:
            self._tell(News(self.alerts, new if alerts else (), self.service_note, queue))

    def _publish(self, snap: NodeSnapshot) -> None:
        old = self.snapshots.get(snap.node)  # the feed keeps the newest poll: no older one comes back
        seen = {event_identity(snap.node, e) for e in old.events} if old is not None else set()
        self.snapshots[snap.node] = snap
        notice = NodeNotice(snap, tuple(e for e in snap.events if event_identity(snap.node, e) not in seen))
        for fn in list(self._subscribers):
            fn(notice)

    def _tell(self, news: News) -> None:
        for fn in list(self._shared):
            fn(news)

    async def check_service(self) -> None:
        """Whether a provider service leads; tell the consoles when that changes."""
        self._service_checked = asyncio.get_running_loop().time()
        if self.lease is None:
            self._note(None)  # nothing to watch but the database itself, which answered
            return
        self._note(None if service_leads(await self.lease.state(), self.clock()) else NO_SERVICE)

    def _note(self, note: str | None) -> None:
        if note != self.service_note:
            self.service_note = note
            self._tell(News(self.alerts, service_note=note))

