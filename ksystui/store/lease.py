"""The leader's lease in the store, fencing, and the service members.

One row (``service_lease``, id 1) says who leads (``holder``), until when
(``expires_at``) and under which fencing number (``epoch``). Whether to
take, keep or wait is the core's rule (``core.lease.decide_lease``); this
module does what was decided, atomically:

- :meth:`LeaseStore.take` re-checks the rule under the row's lock (``FOR
  UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and adds one to the
  epoch; :meth:`~LeaseStore.renew` and :meth:`~LeaseStore.release` change the
  row only while it still says (me, epoch).
- :meth:`LeaseStore.guard` is the fence: called first in every write a
  leader makes (``Queue.fenced``, ``Feed.fenced``), it reads the row ``FOR
  SHARE`` and raises :class:`Fenced` unless it still says (me, epoch). A take
  waits for the guarded writes in flight and every later guarded write sees
  the new epoch, so a former leader that wakes up changes nothing.
- :class:`AdvisoryLock` (PostgreSQL) is held on a dedicated session: the
  server drops it when that session dies, which is what lets a standby take
  over at once after ``kill -9`` (never through a transaction pooler: the
  lock belongs to a server session).

Times are the database's clock on PostgreSQL (``audit_log.transaction_time``),
as the queue's are, so services on several machines agree on expiry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from ksystui.core.actor import Actor
from ksystui.core.audit import AuditRecord
from ksystui.core.lease import LeaseDecision, LeaseState, decide_lease
from ksystui.store.audit_log import AuditLog, Clock, transaction_time
from ksystui.store.engine import read_connection
from ksystui.store.service_tables import service_lease as _lease
from ksystui.store.service_tables import service_members as _members

SESSION_PREFIX = "ksystui serve "  # a service's PostgreSQL sessions: application_name = prefix + member id

__all__ = ["AdvisoryLock", "AsyncLeaseStore", "Fenced", "Guard", "LeaseStore", "Member", "audit_fenced",
           "supports_advisory_lock"]

log = logging.getLogger(__name__)

LEASE_LOCK_KEY = 0x6B737973  # "ksys"


class Fenced(Exception):
    """A write by a service whose lease is no longer (me, epoch): refused,
    nothing changed. ``holder`` and ``current_epoch`` say what the lease
    says now."""

    def __init__(self, me: str | None = None, epoch: int | None = None, holder: str | None = None,
                 current_epoch: int | None = None):
        self.me = me
        self.epoch = epoch
        self.holder = holder
        self.current_epoch = current_epoch
        if me is None:
            text = f"fenced: the service {holder} leads (epoch {current_epoch}): it dispatches"
        else:
            text = (f"fenced: {me} wrote under epoch {epoch}, but the lease is now "
                    f"{holder or 'nobody'}'s (epoch {current_epoch})")
        super().__init__(text)

    def detail(self) -> dict[str, object]:
        """What an audit record of the refusal says about the lease."""
        return {"epoch": self.epoch, "holder": self.holder, "current_epoch": self.current_epoch}


Guard = Callable[[Connection], None]
"""Called first inside a write transaction; raises :class:`Fenced`."""


def audit_fenced(audit: AuditLog, actor: Actor | str, fenced: Fenced, action: str, *,
                 operation: int | None = None, tenant: str | None = None, node: str | None = None,
                 detail: Mapping[str, object] | None = None) -> AuditRecord:
    """Audit a refused write in a transaction of its own (the refused one was
    rolled back): action ``fenced``, the detail names the refused action."""
    return audit.record(actor=actor, action="fenced", operation=operation, tenant=tenant, node=node,
                        detail={"refused": action, **fenced.detail(), **(detail or {})})


@dataclass(frozen=True)
class Member:
    """A ``ksystui serve`` process as it last reported itself."""

    id: str  # host:pid:boot-part
    host: str
    pid: int
    role: str  # leader / standby / stopped
    started_at: datetime
    last_seen: datetime
    epoch: int | None
    last_seq: int | None


def _state(row: Any) -> LeaseState:
    if row is None:
        return LeaseState(holder=None, epoch=0, expires_at=None, renewed_at=None)
    return LeaseState(holder=row.holder, epoch=row.epoch, expires_at=row.expires_at, renewed_at=row.renewed_at)


_COLUMNS = (_lease.c.holder, _lease.c.epoch, _lease.c.expires_at, _lease.c.renewed_at)


def supports_advisory_lock(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class LeaseStore:
    """The lease on one (migrated) engine. ``ttl``: seconds a take or renew
    lasts. ``clock`` replaces the time source (tests), as for the queue."""

    def __init__(self, engine: Engine, *, ttl: float = 10.0, clock: Clock | None = None):
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        self.audit = AuditLog(engine, clock=clock)

    def _now(self, conn: Connection) -> datetime:
        return transaction_time(conn, self.clock)

    def state(self) -> LeaseState:
        with read_connection(self.engine) as conn:
            return _state(conn.execute(sa.select(*_COLUMNS).where(_lease.c.id == 1)).first())

    def now(self) -> datetime:
        """The time the lease is judged by (the database's on PostgreSQL)."""
        with read_connection(self.engine) as conn:
            return self._now(conn)

    def take(self, me: str, *, holds_lock: bool | None = None) -> int | None:
        """Take the lease: epoch + 1, holder ``me``, expiry now + ttl, in one
        transaction; return the new epoch. The rule is checked again under
        the row's lock (``holds_lock`` as for ``decide_lease``; without it only
        a free or expired lease is taken): None when it says no (someone
        took it meanwhile)."""
        with self.engine.begin() as conn:
            state = _state(conn.execute(sa.select(*_COLUMNS).where(_lease.c.id == 1).with_for_update()).first())
            now = self._now(conn)
            if decide_lease(state, me, None, now, holds_lock=holds_lock) is not LeaseDecision.TAKE:
                return None
            epoch: int = conn.execute(sa.update(_lease).where(_lease.c.id == 1).values(
                holder=me, epoch=_lease.c.epoch + 1, expires_at=now + timedelta(seconds=self.ttl), renewed_at=now,
            ).returning(_lease.c.epoch)).scalar_one()
        log.info("lease taken by %s (epoch %d)", me, epoch)
        return epoch

    def contend(self, me: str, my_epoch: int | None, lock: AdvisoryLock | None = None) -> int | None:
        """One turn of a service's lease loop (every ttl/3): hold the advisory
        lock if there is one (PostgreSQL), decide (``decide_lease``), then
        renew or take. Returns the epoch ``me`` leads under after this turn,
        or None: be (or become at once) a standby.

        A lock held by a session whose service stopped renewing (hung,
        SIGSTOPped: its session lives on, and the lock with it) would keep
        every standby waiting forever; once the lease has been expired for a
        whole ttl more, that session is terminated (``AdvisoryLock.evict``),
        so the lock, and the lease, pass to a live service. The hung one, when
        it wakes, finds its lock gone and its epoch fenced."""
        holds = None if lock is None else lock.try_acquire()
        state, now = self._read()
        if lock is not None and not holds and self._abandoned(state, now) and lock.evict():
            log.warning("lease: %s stopped renewing %.0f s ago while its session held the lock: "
                        "that session was terminated", state.holder or "a service",
                        (now - state.expires_at).total_seconds() if state.expires_at else 0.0)
            holds = lock.try_acquire()
            state, now = self._read()
        decision = decide_lease(state, me, my_epoch, now, holds_lock=holds)
        if decision is LeaseDecision.KEEP and my_epoch is not None:
            return my_epoch if self.renew(me, my_epoch) else None
        if decision is LeaseDecision.TAKE:
            return self.take(me, holds_lock=holds)
        return None

    def _read(self) -> tuple[LeaseState, datetime]:
        with read_connection(self.engine) as conn:
            return _state(conn.execute(sa.select(*_COLUMNS).where(_lease.c.id == 1)).first()), self._now(conn)

    def _abandoned(self, state: LeaseState, now: datetime) -> bool:
        """Expired for a whole ttl beyond its expiry: whoever holds the lock
        has had several turns to take the lease and has not. A lease never
        taken is not: its lock holder may be taking it right now."""
        return state.expires_at is not None and now > state.expires_at + timedelta(seconds=self.ttl)

    def renew(self, me: str, epoch: int) -> bool:
        """Extend the expiry; False: the lease is not (me, epoch) any more
        (step down at once)."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            row = conn.execute(sa.update(_lease).where(
                _lease.c.id == 1, _lease.c.holder == me, _lease.c.epoch == epoch
            ).values(expires_at=now + timedelta(seconds=self.ttl), renewed_at=now).returning(_lease.c.epoch)).first()
        return row is not None

    def release(self, me: str, epoch: int) -> None:
        """A clean stop: nobody holds it, expired now (a standby takes it at
        once). The epoch stays: the next take moves past it."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            conn.execute(sa.update(_lease).where(_lease.c.id == 1, _lease.c.holder == me, _lease.c.epoch == epoch)
                         .values(holder=None, expires_at=now))

    def guard(self, me: str, epoch: int) -> Guard:
        """The fence of a leader leading under ``epoch``."""

        def check(conn: Connection) -> None:
            state = _state(conn.execute(sa.select(*_COLUMNS).where(_lease.c.id == 1)
                                        .with_for_update(read=True)).first())
            if state.holder != me or state.epoch != epoch:
                raise Fenced(me, epoch, state.holder, state.epoch)

        return check

    def no_leader_guard(self) -> Guard:
        """The fence of a lease-less dispatcher (``submit --wait`` on a box
        without a service): refused while a service holds a live lease (the
        service dispatches then)."""

        def check(conn: Connection) -> None:
            state = _state(conn.execute(sa.select(*_COLUMNS).where(_lease.c.id == 1)
                                        .with_for_update(read=True)).first())
            if state.live(self._now(conn)):
                raise Fenced(None, None, state.holder, state.epoch)

        return check

    def heartbeat(self, member: Member) -> None:
        """Upsert the member's row; ``last_seen`` is now (the database's clock)."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            row = {"id": member.id, "host": member.host, "pid": member.pid, "started_at": member.started_at,
                   "last_seen": now, "role": member.role, "epoch": member.epoch, "last_seq": member.last_seq}
            ins = (postgresql.insert(_members) if conn.dialect.name == "postgresql" else sqlite.insert(_members))
            conn.execute(ins.values(row).on_conflict_do_update(index_elements=["id"], set_={
                k: v for k, v in row.items() if k != "id"}))

    def members(self) -> list[Member]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(sa.select(_members).order_by(_members.c.id)).all()
        return [Member(id=r.id, host=r.host, pid=r.pid, role=r.role, started_at=r.started_at,
                       last_seen=r.last_seen, epoch=r.epoch, last_seq=r.last_seq) for r in rows]

    def forget_members(self, seen_before: datetime) -> int:
        """Remove members not seen since ``seen_before``; return how many."""
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(_members).where(_members.c.last_seen < seen_before)).rowcount

    def audit_refusal(self, me: str, epoch: int, action: str, detail: Mapping[str, object]) -> None:
        """Audit that ``me`` (under ``epoch``) was refused ``action``: action
        ``fenced``, as the fenced queue and feed audit theirs."""
        state = self.state()
        audit_fenced(self.audit, me, Fenced(me, epoch, state.holder, state.epoch), action, detail=detail)


_EVICT_WAIT_MS = 5000


class AdvisoryLock:
    """PostgreSQL's session advisory lock on a dedicated connection, taken out
    of the engine's pool (``detach``: closing it closes the session, so the
    lock never lingers in a pooled connection)."""

    def __init__(self, engine: Engine, key: int = LEASE_LOCK_KEY):
        if not supports_advisory_lock(engine):
            raise ValueError("advisory locks need PostgreSQL")
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None
        self._held = False

    def try_acquire(self) -> bool:
        """Take the lock if free; True if held (also if already held by us)."""
        if self._held and self.healthy():
            return True
        try:
            if self._conn is None:  # a standby keeps its session between tries: one session, not one per second
                # autocommit first: a detached connection has no pool record to reset it into
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                conn.detach()
                self._conn = conn
            self._held = bool(self._conn.execute(sa.select(sa.func.pg_try_advisory_lock(self.key))).scalar_one())
        except DBAPIError as exc:
            log.warning("advisory lock: cannot reach the database: %s", " ".join(str(exc.orig).split()))
            self._drop()
            return False
        return self._held

    def healthy(self) -> bool:
        """Whether the lock's session is alive (a dead session lost the lock)."""
        if self._conn is None or not self._held:
            return False
        try:
            self._conn.execute(sa.select(1)).scalar_one()
        except DBAPIError:
            log.warning("advisory lock: its session died; the lock is lost")
            self._drop()
            return False
        return True

    @property
    def held(self) -> bool:
        """Held as far as we know (without asking the server: see :meth:`healthy`)."""
        return self._held

    def evict(self) -> int:
        """Terminate the other sessions holding this lock (a hung service's);
        return how many. Needs the right to (the same role, or
        pg_signal_backend)."""
        try:
            with self.engine.connect() as conn:
                holders = list(conn.execute(sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                    "AND classid = :high AND objid = :low AND pid <> pg_backend_pid()"),
                    {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF}).scalars())
                # Every other session of the same service goes too (a service names its sessions after
                # itself: service.members.member_url): one stopped in the middle of a fenced write holds
                # the lease row, and the standby's take would wait on it for as long as the hang lasts.
                pids = holders + list(conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND pid <> ALL(:holders) "
                    "AND application_name LIKE :prefix AND application_name IN "
                    "(SELECT application_name FROM pg_stat_activity WHERE pid = ANY(:holders))"),
                    {"holders": holders, "prefix": SESSION_PREFIX + "%"}).scalars()) if holders else []
                # With a timeout, pg_terminate_backend waits until the backend
                # has gone (PostgreSQL 14+): without it the signal is only
                # sent, and the caller's next try_acquire can still find the
                # lock held (a clean-clone CI run did).
                killed = [conn.execute(sa.select(sa.func.pg_terminate_backend(pid, _EVICT_WAIT_MS))).scalar_one()
                          for pid in pids]
                conn.commit()
        except DBAPIError as exc:
            log.warning("advisory lock: cannot terminate its holder: %s", " ".join(str(exc.orig).split()))
            return 0
        return sum(1 for k in killed if k)

    def release(self) -> None:
        if self._conn is not None and self._held:
            try:
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(self.key)))
            except DBAPIError:
                pass  # the session is gone, and the lock with it
        self._drop()

    def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                conn.close()
            except DBAPIError:
                pass


class AsyncLeaseStore:
    """The same calls for an event loop: each runs in a worker thread."""

    def __init__(self, store: LeaseStore | Engine, *, ttl: float = 10.0):
        self.store = store if isinstance(store, LeaseStore) else LeaseStore(store, ttl=ttl)

    async def state(self) -> LeaseState:
        return await asyncio.to_thread(self.store.state)

    async def now(self) -> datetime:
        return await asyncio.to_thread(self.store.now)

    async def take(self, me: str, *, holds_lock: bool | None = None) -> int | None:
        return await asyncio.to_thread(self.store.take, me, holds_lock=holds_lock)

    async def contend(self, me: str, my_epoch: int | None, lock: AdvisoryLock | None = None) -> int | None:
        return await asyncio.to_thread(self.store.contend, me, my_epoch, lock)

    async def renew(self, me: str, epoch: int) -> bool:
        return await asyncio.to_thread(self.store.renew, me, epoch)

    async def release(self, me: str, epoch: int) -> None:
        await asyncio.to_thread(self.store.release, me, epoch)

    async def guard(self, me: str, epoch: int) -> Guard:
        return self.store.guard(me, epoch)  # no I/O: the guard runs inside the writes

    async def no_leader_guard(self) -> Guard:
        return self.store.no_leader_guard()

    async def heartbeat(self, member: Member) -> None:
        await asyncio.to_thread(self.store.heartbeat, member)

    async def members(self) -> list[Member]:
        return await asyncio.to_thread(self.store.members)

    async def forget_members(self, seen_before: datetime) -> int:
        return await asyncio.to_thread(self.store.forget_members, seen_before)

    async def audit_refusal(self, me: str, epoch: int, action: str, detail: Mapping[str, object]) -> None:
        await asyncio.to_thread(self.store.audit_refusal, me, epoch, action, detail)
