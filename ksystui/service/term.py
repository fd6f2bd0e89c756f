"""One term of leadership: what the leading service runs while its lease
holds, and nothing else does.

A term is built for one epoch of the lease. Every write it makes goes
through that epoch's guard (``LeaseStore.guard``): the snapshots and alerts
it publishes (``Feed.fenced``) and every queue transition of its dispatcher
(``Queue.fenced``). A term that outlives its lease (a paused process, a
partition) can therefore read nodes but change nothing; its first refused
write says so (``on_fenced``) and the service steps down.

It runs: the fleet (each node polled once per interval, for everyone), the
dispatcher (which, first thing, reconciles what a former leader left held),
the follower of the change feed (``refresh`` requests from consoles, queue
changes that wake the dispatcher) and the retention of events and changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ksystui.arbiter.dispatcher import (
    Dispatcher,
    DispatchEvent,
    DispatchKind,
    unreachable_alert_after,
)
from ksystui.config import Config
from ksystui.core.actor import Actor
from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot
from ksystui.fleet.connect import build_fleet, close_fleet
from ksystui.service.logs import fields
from ksystui.store.feed import AsyncFeed, Feed
from ksystui.store.history import prune_history
from ksystui.store.lease import Fenced, Guard, LeaseStore
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.repository import AsyncStore, Store

log = logging.getLogger(__name__)

FOLLOW_EVERY = 0.5  # seconds between reads of the change feed (refresh requests, new operations)
RETENTION_EVERY = 3600.0  # seconds between prunings of old events and changes
# every node publishes once per interval: a reader that missed older changes is whole again
# within one interval (500 nodes polled every 10 s write 180,000 change rows an hour)
CHANGES_KEPT = timedelta(hours=1)
MEMBERS_KEPT = timedelta(days=7)  # a member silent this long is forgotten (``service status`` shows a day)


def fenced_writers(engine: Engine, guard: Guard) -> tuple[AsyncFeed, AsyncQueue]:
    """The feed and the queue a leader writes through, both fenced by its
    lease (``guard``): the same two a former leader would hold."""
    return AsyncFeed(Feed(engine).fenced(guard)), AsyncQueue(Queue(engine).fenced(guard))


class PublishingSink:
    """The fleet's sink: each new snapshot is published in one transaction
    (snapshot, new events, their alerts, the change rows). A refused
    publication means the lease is gone: ``on_fenced``."""

    def __init__(self, feed: AsyncFeed, on_fenced: Callable[[], None]):
        self.feed = feed
        self.on_fenced = on_fenced

    async def add_events(self, node: str, tenant: str, events: Iterable[KsysEvent]) -> list[KsysEvent]:
        return list(events)  # stored by save_snapshot, with the snapshot that brought them

    async def save_snapshot(self, snap: NodeSnapshot) -> None:
        try:
            published = await self.feed.publish(snap)
        except Fenced:
            log.warning("publication refused: the lease is no longer ours", extra=fields(node=snap.node))
            self.on_fenced()
            return
        for alert in published.new_alerts:
            log.warning("alert raised", extra=fields(alert=alert.id, tenant=alert.tenant, node=alert.node,
                                                     event=alert.event, proposal=alert.proposal))


class LeaderTerm:
    """``await term.start()`` … ``await term.stop()``: one epoch's work."""

    def __init__(self, cfg: Config, engine: Engine, guard: Guard, actor: Actor, *, epoch: int,
                 on_fenced: Callable[[], None], tick: float = 0.5):
        self.cfg = cfg
        self.epoch = epoch
        self.feed, self.queue = fenced_writers(engine, guard)
        self.store = AsyncStore(Store(engine))
        self.members = LeaseStore(engine)
        self.fleet = build_fleet(cfg, PublishingSink(self.feed, on_fenced))
        transports = {n: m.transport for n, m in self.fleet.monitors.items()}
        self.dispatcher = Dispatcher(self.queue, self.fleet, transports, actor, tick=tick, others_fenced=True,
                                     on_event=self._dispatch_event, raise_alerts=self.feed.raise_alerts,
                                     unreachable_alert_after=unreachable_alert_after())
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.store.sync_from_config(self.cfg)  # names, priorities, tiers: what consoles show
        seq = await self.feed.last_seq()  # refresh requests from before this term were for the last one
        self.fleet.start()
        self._spawn(self.dispatcher.run(), "dispatcher")
        self._spawn(self._follow(seq), "follow")
        self._spawn(self._retention(), "retention")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"term{self.epoch}:{name}"))

    async def stop(self) -> None:
        """Stop at once: nothing more is admitted, polled or published; the
        commands already sent go on on their nodes (the next leader judges
        them from the nodes)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.dispatcher.abandon()
        await close_fleet(self.fleet)

    def _dispatch_event(self, event: DispatchEvent) -> None:
        # every output line is in the queue's progress already: the log says it at debug level only
        level = logging.DEBUG if event.kind is DispatchKind.PROGRESS else logging.INFO
        log.log(level, "operation %s", event.kind, extra=fields(op=event.op_id, text=event.text or None))

    async def _follow(self, seq: int) -> None:
        """Serve what consoles ask through the change feed: a refresh of a
        node, a new or changed operation (the dispatcher looks at once)."""
        while True:
            await asyncio.sleep(FOLLOW_EVERY)
            try:
                changes = await self.feed.changes_since(seq)
            except Exception:
                log.exception("reading the change feed failed")
                continue
            for change in changes:
                seq = max(seq, change.seq)
                if change.kind == "refresh" and change.node is not None:
                    log.info("refresh asked", extra=fields(node=change.node))
                    self.fleet.refresh_now(change.node)
                elif change.kind == "queue":
                    self.dispatcher.wake()

    async def _retention(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(RETENTION_EVERY)

    async def prune(self) -> None:
        """Drop events older than the configured retention, changes older
        than an hour (the newest change stays: the sequence never goes back),
        members silent for a week and the snapshot history older than
        ``[service] history_retention``."""
        now = datetime.now(UTC)
        try:
            events = await self.store.prune_events(now - timedelta(days=self.cfg.poll.event_retention_days))
            changes = await self.feed.prune(now - CHANGES_KEPT)
            members = await asyncio.to_thread(self.members.forget_members, now - MEMBERS_KEPT)
            # the record replay reads: [service] history_retention (each node's last state before it stays)
            snapshots, polls = await asyncio.to_thread(prune_history, self.store.store.engine,
                                                       now - self.cfg.service.history_retention)
        except Exception:
            log.exception("retention failed")
            return
        log.info("retention applied", extra=fields(events=events, changes=changes, members=members,
                                                   history_snapshots=snapshots, history_polls=polls))
