"""A provider service as these tests drive it by hand: one fleet over the
simulated world (in-process transports, no network), each poll published to
the change feed, the consoles' refresh requests served, the dispatcher on
the shared queue, the lease held. What ``ksystui serve`` does, reduced to
what a console can tell apart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from sqlalchemy.engine import Engine

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.core.model import Flavour, KsysEvent
from ksystui.core.snapshot import NodeSnapshot
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.sim.world import SimWorld
from ksystui.store.audit_log import current_actor
from ksystui.store.feed import AsyncFeed, Feed
from ksystui.store.lease import AsyncLeaseStore, LeaseStore
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from tests.in_process import InProcessTransport


class _Publisher:
    """The fleet's sink: every poll goes to the feed (which keeps the new
    events and raises the alerts itself)."""

    def __init__(self, feed: AsyncFeed) -> None:
        self.feed = feed
        self.published = 0

    async def save_snapshot(self, snap: NodeSnapshot) -> None:
        await self.feed.publish(snap)
        self.published += 1

    async def add_events(self, node: str, tenant: str, events: Iterable[KsysEvent]) -> list[KsysEvent]:
        return list(events)


class HandLeader:
    def __init__(self, world: SimWorld, engine: Engine, *, interval: float = 0.3, me: str = "hand-leader:1:boot"):
        self.me = me
        self.feed = AsyncFeed(Feed(engine))
        self.publisher = _Publisher(self.feed)
        self.fleet = Fleet(self.publisher)
        for name, node in world.nodes.items():
            self.fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                                       interval=interval, jitter=0.0))
        self.queue = AsyncQueue(Queue(engine))
        transports = {n: m.transport for n, m in self.fleet.monitors.items()}
        self.dispatcher = Dispatcher(self.queue, self.fleet, transports, current_actor(me), tick=0.1)
        self.lease = AsyncLeaseStore(LeaseStore(engine, ttl=10.0))
        self.epoch: int | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> HandLeader:
        self.epoch = await self.lease.take(self.me)
        assert self.epoch is not None
        await self.fleet.refresh_all()
        self.fleet.start()
        self._tasks = [asyncio.create_task(self.dispatcher.run()), asyncio.create_task(self._serve_refreshes()),
                       asyncio.create_task(self._renew())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.dispatcher.stop()
        await self.fleet.stop()
        if self.epoch is not None:
            await self.lease.release(self.me, self.epoch)

    async def _serve_refreshes(self) -> None:
        seq = await self.feed.last_seq()
        while True:
            await asyncio.sleep(0.05)
            for change in await self.feed.changes_since(seq):
                seq = max(seq, change.seq)
                if change.kind == "refresh" and change.node:
                    self.fleet.refresh_now(change.node)
                elif change.kind == "queue":
                    self.dispatcher.wake()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            assert self.epoch is not None
            with contextlib.suppress(Exception):
                await self.lease.renew(self.me, self.epoch)
