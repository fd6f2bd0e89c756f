"""The provider service: the one process that talks to KSYS nodes.

Several may run on one database (a high-availability pair on PostgreSQL);
one leads, by a lease held in the database: a leader row with an expiry and
a fencing number (the epoch, which only grows), and on PostgreSQL an
advisory lock on a dedicated session besides. The leader polls the fleet,
publishes snapshots, events and alerts, dispatches the queue and applies
the retention (a :class:`LeaderTerm`); a standby only says it is there.

Leadership is never a local flag that outlives its proof. Every few seconds
the service takes a turn on the lease (``LeaseStore.contend``, by the rule
``core.lease.decide_lease``): take it, keep it (renew), or wait. A renewal
that fails ends the term at once, and every write of a term is fenced by
its epoch in the same transaction, so a leader that wakes up after losing
its lease changes nothing. On PostgreSQL the advisory lock is what lets a
standby take over without waiting for the expiry: holding it proves the
former leader's session is gone (its process died, or its connection did);
a leader that hangs with its session alive has that session ended once its
lease has long expired.

Stopping (SIGTERM) ends the term at once and releases the lease, so a
standby takes over on its next look; commands already sent go on on their
nodes and the next leader judges them from the nodes, as after a crash.

In process (the demo, tests)::

    async with Service(cfg) as service:
        await service.leading.wait()  # set while it leads
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import URL, Engine

from ksystui.config import Config, database_url
from ksystui.fleet.connect import build_fleet, close_fleet
from ksystui.service.logs import fields
from ksystui.service.members import MemberId, member_url, new_member_id
from ksystui.service.status import DEFAULT_TTL
from ksystui.service.term import LeaderTerm
from ksystui.store.audit_log import current_actor
from ksystui.store.engine import migrate, open_engine
from ksystui.store.feed import Feed
from ksystui.store.lease import (
    AdvisoryLock,
    AsyncLeaseStore,
    LeaseStore,
    Member,
    supports_advisory_lock,
)

if TYPE_CHECKING:
    from ksystui.service.metrics_http import MetricsEndpoint

log = logging.getLogger(__name__)

LEADER = "leader"
STANDBY = "standby"
STOPPED = "stopped"
STANDBY_LOOK = 1.0  # seconds between a standby's looks at the lease (cheap: one row, one lock try)


class Service:
    """One member of the provider service on ``cfg``'s database (or ``url``).

    ``start()`` opens the database and begins looking at the lease (the
    first look happens before it returns: a lone service leads at once);
    ``stop()`` ends a term, releases the lease and closes. ``role`` is
    ``leader``, ``standby`` or ``stopped``; ``epoch`` the lease's fencing
    number while leading."""

    def __init__(self, cfg: Config, *, url: str | URL | None = None, ttl: float = DEFAULT_TTL, tick: float = 0.5,
                 member: MemberId | None = None):
        self.cfg = cfg
        self.url = url if url is not None else database_url(cfg.database)
        self.ttl = ttl
        self.tick = tick
        self.member = member or new_member_id()
        self.id = str(self.member)
        self.actor = current_actor(self.id)
        self.role = STOPPED
        self.epoch: int | None = None
        self.term: LeaderTerm | None = None
        self.started_at = datetime.now(UTC)
        self._engine: Engine | None = None
        self._lease: AsyncLeaseStore | None = None
        self._lock: AdvisoryLock | None = None
        self._feed: Feed | None = None
        self._loop: asyncio.Task[None] | None = None
        self.metrics: MetricsEndpoint | None = None  # ``[service] metrics_listen``: its ``url`` once started
        self._look_now = asyncio.Event()
        self.leading = asyncio.Event()  # set while this member leads: ``await service.leading.wait()``
        self._renewed = 0.0  # time.monotonic() of the last renewal that succeeded

    # --- lifecycle ----------------------------------------------------------------
    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await close_fleet(build_fleet(self.cfg))  # a node's configuration that cannot work: say so now
        self._engine = engine = await asyncio.to_thread(self._open)
        self._lease = AsyncLeaseStore(LeaseStore(engine, ttl=self.ttl))
        self._feed = Feed(engine)
        if supports_advisory_lock(engine):
            self._lock = AdvisoryLock(engine)
        self.role = STANDBY
        log.info("service started", extra=fields(member=self.id, ttl=self.ttl,
                                                 lock="advisory" if self._lock else "none"))
        try:
            await self._serve_metrics(engine)  # first: a member that cannot serve them takes no lease
            await self._look()
        except BaseException:
            await self.stop()
            raise
        self._loop = asyncio.create_task(self._watch_lease(), name=f"lease:{self.id}")

    async def _serve_metrics(self, engine: Engine) -> None:
        """``/metrics`` on ``[service] metrics_listen``, if set: a standby
        serves it too (it reads the database, and says it stands by)."""
        address = self.cfg.service.metrics_address()
        if address is None:
            return
        # imported only when asked for: prometheus_client and the aiohttp server are not free to load
        from ksystui.service.metrics import FleetCollector, registry
        from ksystui.service.metrics import Member as MetricsMember
        from ksystui.service.metrics_http import MetricsEndpoint

        collector = FleetCollector(self.cfg, engine, lambda: MetricsMember(self.id, self.role))
        endpoint = MetricsEndpoint(registry(collector), *address)
        await endpoint.start()
        self.metrics = endpoint

    def _open(self) -> Engine:
        engine = open_engine(member_url(self.url, self.id))
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return engine

    async def stop(self) -> None:
        """End the term at once, release the lease (a standby takes over on
        its next look), say this member stopped, close the database."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self.metrics is not None:  # before the database closes: a scrape in between reads nothing
            await self.metrics.stop()
            self.metrics = None
        if self._lease is None:
            return
        lease = self._lease
        epoch = self.epoch
        await self._step_down("stopping")
        with contextlib.suppress(Exception):  # the lease expires by itself if the database is gone
            if epoch is not None:
                await lease.release(self.id, epoch)
                log.info("lease released", extra=fields(epoch=epoch))
        if self._lock is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._lock.release)
        self.role = STOPPED
        with contextlib.suppress(Exception):
            await self._heartbeat()
        self._lease = None
        if self._engine is not None:
            await asyncio.to_thread(self._engine.dispose)
            self._engine = None
        log.info("service stopped", extra=fields(member=self.id))

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, or until the lease watch fails."""
        assert self._loop is not None, "start() first"
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([stopping, self._loop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if self._loop.done() and not self._loop.cancelled():
            self._loop.result()  # its failure is the service's

    # --- the lease ------------------------------------------------------------------
    async def _watch_lease(self) -> None:
        while True:
            period = self.ttl / 3 if self.role == LEADER else min(STANDBY_LOOK, self.ttl / 3)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(period):  # not wait_for: see Dispatcher.run
                    await self._look_now.wait()
            self._look_now.clear()
            try:
                await self._look()
            except Exception:
                log.exception("looking at the lease failed")
                if self.role == LEADER and time.monotonic() - self._renewed >= self.ttl:
                    await self._step_down("the lease could not be renewed before it expired")

    def fenced(self) -> None:
        """A write of this term was refused: look at the lease at once."""
        self._look_now.set()

    async def _look(self) -> None:
        """One turn on the lease (``LeaseStore.contend``: hold the advisory
        lock if there is one, decide, renew or take; a hung holder's session
        is ended once its lease has long expired), then say so in this
        member's row."""
        assert self._lease is not None
        epoch = await self._lease.contend(self.id, self.epoch, self._lock)
        if epoch is None:
            if self.role == LEADER:
                state = await self._lease.state()
                await self._step_down(f"the lease is {state.holder or 'nobody'}'s now (epoch {state.epoch})")
        elif epoch == self.epoch:
            self._renewed = time.monotonic()
        else:
            await self._step_down("the lease was taken again")  # a term of an older epoch ends first
            self._renewed = time.monotonic()
            await self._lead(epoch)
        await self._heartbeat()

    async def _lead(self, epoch: int) -> None:
        assert self._lease is not None and self._engine is not None
        term = LeaderTerm(self.cfg, self._engine, self._lease.store.guard(self.id, epoch), self.actor,
                          epoch=epoch, on_fenced=self.fenced, tick=self.tick)
        self.term, self.epoch, self.role = term, epoch, LEADER
        log.info("took the lease: leading", extra=fields(epoch=epoch, nodes=len(term.fleet.monitors)))
        try:
            await term.start()
        except Exception:
            log.exception("the term could not start")
            await self._step_down("the term could not start")
            raise
        self.leading.set()

    async def _step_down(self, why: str) -> None:
        term, epoch = self.term, self.epoch
        self.term, self.epoch = None, None
        self.leading.clear()
        if self.role == LEADER:
            self.role = STANDBY
        if term is not None:
            log.warning("stepping down: %s", why, extra=fields(epoch=epoch))
            await term.stop()

    async def _heartbeat(self) -> None:
        assert self._lease is not None and self._feed is not None
        last_seq = await asyncio.to_thread(self._feed.last_seq)
        now = datetime.now(UTC)
        await self._lease.heartbeat(Member(id=self.id, host=self.member.host, pid=self.member.pid, role=self.role,
                                           started_at=self.started_at, last_seen=now, epoch=self.epoch,
                                           last_seq=last_seq))

