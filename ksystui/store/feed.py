"""The change feed: what the provider service publishes and every console follows.

The service publishes each poll of a node (:meth:`Feed.publish`): in one
transaction the node's latest snapshot, the events not stored yet, one alert
per new critical event, and the ``changes`` rows that tell readers so
(``store.changes``). Consoles read the latest snapshots once, then follow
``changes_since(seq)``: on PostgreSQL woken by ``store.notify``, on SQLite
by polling :meth:`Feed.last_seq`. Acknowledgements and refresh requests are
writes through the same feed, so every console sees them too.

A feed built with a guard (``Feed.fenced(lease.guard(me, epoch))``) checks
the lease first in every publish: a former leader's publish changes nothing,
is audited as refused (action ``fenced``), and raises :class:`Fenced`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import URL, Connection, Engine

from ksystui.core.actor import Actor
from ksystui.core.alerts import AlertRecord, NewAlert, alerts_for
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot
from ksystui.store.audit_log import AuditLog, Clock, transaction_time
from ksystui.store.changes import append_change
from ksystui.store.engine import migrate, open_engine, read_connection
from ksystui.store.lease import Fenced, Guard, audit_fenced
from ksystui.store.repository import (
    StoredEvent,
    insert,
    insert_new_events,
    read_snapshots,
    stored_event,
    upsert_snapshot,
)
from ksystui.store.service_tables import alerts as _alerts
from ksystui.store.service_tables import changes as _changes
from ksystui.store.tables import EventRow
from ksystui.store.tables import SnapshotRow as _SnapshotRow

__all__ = ["AsyncFeed", "Change", "Feed", "Published"]

_events: sa.Table = EventRow.metadata.tables["events"]
_snapshots: sa.Table = _SnapshotRow.metadata.tables["snapshots"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Change:
    """A ``changes`` row: something a reader must notice."""

    seq: int
    at: datetime
    kind: str  # snapshot, alert, ack, queue, refresh
    tenant: str | None
    node: str | None
    ref: int | None  # alert id (alert, ack) / operation id (queue)


@dataclass(frozen=True)
class Published:
    """What one publish stored: the newest change seq it appended (the feed's
    last seq when it appended none), the events seen for the first time and
    the alerts they raised."""

    seq: int
    new_events: tuple[KsysEvent, ...]
    new_alerts: tuple[AlertRecord, ...]


def _alert(row: Any) -> AlertRecord:
    m = row._mapping
    return AlertRecord(
        id=m["id"], identity=m["identity"], tenant=m["tenant"], node=m["node"], event=m["event"],
        event_id=m["event_id"], event_time=m["event_time"], description=m["description"], resource=m["resource"],
        proposal=Op(m["proposal"]) if m["proposal"] else None, raised_at=m["raised_at"], acked_by=m["acked_by"],
        acked_at=m["acked_at"], ack_reason=m["ack_reason"])


def _insert_alerts(conn: Connection, new: Iterable[NewAlert], raised_at: datetime) -> list[AlertRecord]:
    """Insert the alerts not raised yet (the UNIQUE identity decides, as for
    events) and return those."""
    stmt = insert(conn, _alerts).on_conflict_do_nothing(index_elements=["identity"]).returning(*_alerts.c)
    out: list[AlertRecord] = []
    for a in new:
        row = conn.execute(stmt, {
            "identity": a.identity, "tenant": a.tenant, "node": a.node, "event": a.event, "event_id": a.event_id,
            "event_time": a.event_time, "description": a.description, "resource": a.resource,
            "proposal": a.proposal.value if a.proposal else None, "raised_at": raised_at}).first()
        if row is not None:
            out.append(_alert(row))
    return out


def _max_seq(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_changes.c.seq), 0))).scalar_one())


class Feed:
    """The feed on one (migrated) engine; ``guard``: see :meth:`fenced`;
    ``clock`` replaces the time source (tests), as for the queue."""

    def __init__(self, engine: Engine, *, guard: Guard | None = None, clock: Clock | None = None):
        self.engine = engine
        self.guard = guard
        self.clock = clock
        self.audit = AuditLog(engine, clock=clock)

    @classmethod
    def open(cls, url: str | URL | None = None) -> Feed:
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def fenced(self, guard: Guard) -> Feed:
        """The same feed, every publish checked by ``guard`` first."""
        return Feed(self.engine, guard=guard, clock=self.clock)

    # --- the service writes --------------------------------------------------------
    def publish(self, snap: NodeSnapshot) -> Published:
        """Store one poll of a node and tell the readers, in one transaction
        (see the module's docstring). Raises :class:`Fenced` (after auditing
        the refusal) when the guard refuses."""
        try:
            with self.engine.begin() as conn:
                if self.guard is not None:
                    self.guard(conn)
                now = self._now(conn)
                stored = upsert_snapshot(conn, snap)
                new_events = insert_new_events(conn, snap.node, snap.tenant, snap.events, now)
                # every critical event of the snapshot, not only the new ones: an alert
                # is raised once whichever way its event was first stored
                new_alerts = _insert_alerts(conn, alerts_for(snap.node, snap.tenant, snap.events), now)
                seq = 0
                if stored or new_events:
                    seq = append_change(conn, "snapshot", now, tenant=snap.tenant, node=snap.node)
                    if stored:
                        conn.execute(sa.update(_snapshots).where(_snapshots.c.node == snap.node).values(seq=seq))
                for a in new_alerts:
                    seq = append_change(conn, "alert", now, tenant=a.tenant, node=a.node, ref=a.id)
                if not seq:
                    seq = _max_seq(conn)
        except Fenced as exc:
            audit_fenced(self.audit, exc.me or "?", exc, "publish", tenant=snap.tenant, node=snap.node,
                         detail={"sequence": snap.sequence})
            raise
        return Published(seq, tuple(new_events), tuple(new_alerts))

    def _now(self, conn: Connection) -> datetime:
        return transaction_time(conn, self.clock)

    def request_refresh(self, node: str, tenant: str) -> None:
        """Ask the service to poll ``node`` soon (a ``refresh`` change)."""
        with self.engine.begin() as conn:
            append_change(conn, "refresh", self._now(conn), tenant=tenant, node=node)

    def acknowledge(self, alert_id: int, actor: Actor, reason: str, *, tenant: str | None = None) -> bool:
        """Acknowledge an open alert (of ``tenant`` only, when given): who,
        when and why on the row, an audit record and an ``ack`` change, in
        one transaction. False when there is no such open alert (already
        acknowledged, another tenant's, or none). A reason is required."""
        text = (reason or "").strip()
        if not text:
            raise ValueError("acknowledging an alert needs a written reason (it is audited)")
        with self.engine.begin() as conn:
            AuditLog.lock(conn)  # the lock every auditing writer takes first
            now = self._now(conn)
            query = sa.update(_alerts).where(_alerts.c.id == alert_id, _alerts.c.acked_at.is_(None))
            if tenant is not None:
                query = query.where(_alerts.c.tenant == tenant)
            row = conn.execute(query.values(acked_by=str(actor), acked_at=now, ack_reason=text).returning(
                _alerts.c.tenant, _alerts.c.node, _alerts.c.event, _alerts.c.event_id, _alerts.c.event_time)).first()
            if row is None:
                return False
            self.audit.append(conn, actor=actor, action="acknowledge", tenant=row.tenant, node=row.node, at=now,
                              detail={"alert": alert_id, "event": row.event, "event_id": row.event_id,
                                      "event_time": row.event_time, "reason": text})
            append_change(conn, "ack", now, tenant=row.tenant, node=row.node, ref=alert_id)
        return True

    def prune(self, older_than: datetime) -> int:
        """Forget changes older than ``older_than`` (the newest row is kept,
        so the last seq never goes back); return how many."""
        when = older_than.replace(tzinfo=UTC) if older_than.tzinfo is None else older_than
        with self.engine.begin() as conn:
            newest = sa.select(sa.func.max(_changes.c.seq)).scalar_subquery()
            return conn.execute(sa.delete(_changes).where(_changes.c.at < when, _changes.c.seq < newest)).rowcount

    # --- readers ------------------------------------------------------------------
    def last_seq(self) -> int:
        """The newest change seq this connection sees (0 when none)."""
        with read_connection(self.engine) as conn:
            return _max_seq(conn)

    def changes_since(self, seq: int, *, tenant: str | None = None, limit: int = 1000) -> list[Change]:
        """Changes after ``seq`` (of ``tenant``), oldest first, at most ``limit``."""
        query = sa.select(_changes).where(_changes.c.seq > seq).order_by(_changes.c.seq).limit(limit)
        if tenant is not None:
            query = query.where(_changes.c.tenant == tenant)
        with read_connection(self.engine) as conn:
            rows = conn.execute(query).all()
        return [Change(r.seq, r.at, r.kind, r.tenant, r.node, r.ref) for r in rows]

    def snapshots(self, *, tenant: str | None = None, nodes: Iterable[str] | None = None) -> dict[str, NodeSnapshot]:
        """The latest snapshot of every node (of ``tenant``; of ``nodes``)."""
        with read_connection(self.engine) as conn:
            return read_snapshots(conn, tenant, None if nodes is None else list(nodes))

    def events_since(self, seq: int, *, tenant: str | None = None) -> list[StoredEvent]:
        """Events stored after the event id ``seq`` (of ``tenant``), oldest first."""
        query = sa.select(_events).where(_events.c.id > seq).order_by(_events.c.id)
        if tenant is not None:
            query = query.where(_events.c.tenant == tenant)
        with read_connection(self.engine) as conn:
            return [stored_event(r) for r in conn.execute(query).all()]

    def alerts(self, *, tenant: str | None = None, open_only: bool = False, limit: int = 500) -> list[AlertRecord]:
        """Alerts newest first (of ``tenant``; only those not acknowledged)."""
        query = sa.select(_alerts).order_by(_alerts.c.id.desc()).limit(limit)
        if tenant is not None:
            query = query.where(_alerts.c.tenant == tenant)
        if open_only:
            query = query.where(_alerts.c.acked_at.is_(None))
        with read_connection(self.engine) as conn:
            return [_alert(r) for r in conn.execute(query).all()]

    def alert(self, alert_id: int) -> AlertRecord | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(sa.select(_alerts).where(_alerts.c.id == alert_id)).first()
        return None if row is None else _alert(row)


class AsyncFeed:
    """The same calls for an event loop: each runs in a worker thread."""

    def __init__(self, feed: Feed | Engine):
        self.feed = feed if isinstance(feed, Feed) else Feed(feed)

    @classmethod
    async def open(cls, url: str | URL | None = None) -> AsyncFeed:
        return cls(await asyncio.to_thread(Feed.open, url))

    def fenced(self, guard: Guard) -> AsyncFeed:
        return AsyncFeed(self.feed.fenced(guard))

    async def _run(self, fn: Callable[P, R], *args: P.args, **kw: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kw)

    async def close(self) -> None:
        await self._run(self.feed.close)

    async def publish(self, snap: NodeSnapshot) -> Published:
        return await self._run(self.feed.publish, snap)

    async def last_seq(self) -> int:
        return await self._run(self.feed.last_seq)

    async def changes_since(self, seq: int, *, tenant: str | None = None, limit: int = 1000) -> list[Change]:
        return await self._run(self.feed.changes_since, seq, tenant=tenant, limit=limit)

    async def snapshots(self, *, tenant: str | None = None,
                        nodes: Iterable[str] | None = None) -> dict[str, NodeSnapshot]:
        return await self._run(self.feed.snapshots, tenant=tenant, nodes=None if nodes is None else list(nodes))

    async def events_since(self, seq: int, *, tenant: str | None = None) -> list[StoredEvent]:
        return await self._run(self.feed.events_since, seq, tenant=tenant)

    async def alerts(self, *, tenant: str | None = None, open_only: bool = False,
                     limit: int = 500) -> list[AlertRecord]:
        return await self._run(self.feed.alerts, tenant=tenant, open_only=open_only, limit=limit)

    async def alert(self, alert_id: int) -> AlertRecord | None:
        return await self._run(self.feed.alert, alert_id)

    async def acknowledge(self, alert_id: int, actor: Actor, reason: str, *, tenant: str | None = None) -> bool:
        return await self._run(self.feed.acknowledge, alert_id, actor, reason, tenant=tenant)

    async def request_refresh(self, node: str, tenant: str) -> None:
        await self._run(self.feed.request_refresh, node, tenant)

    async def prune(self, older_than: datetime) -> int:
        return await self._run(self.feed.prune, older_than)
