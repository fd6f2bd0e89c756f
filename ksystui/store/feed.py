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
from collections.abc import Callable, Iterable, Sequence
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
from ksystui.store.changes import NewChange, append_change, append_changes
from ksystui.store.codec import SectionMemo
from ksystui.store.engine import migrate, open_engine, read_connection
from ksystui.store.history import record_poll
from ksystui.store.lease import Fenced, Guard, audit_fenced
from ksystui.store.repository import (
    StoredEvent,
    insert_missing,
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
    return AlertRecord(
        id=row.id, identity=row.identity, tenant=row.tenant, node=row.node, event=row.event, event_id=row.event_id,
        event_time=row.event_time, description=row.description, resource=row.resource,
        proposal=Op(row.proposal) if row.proposal else None, raised_at=row.raised_at, acked_by=row.acked_by,
        acked_at=row.acked_at, ack_reason=row.ack_reason)


def _insert_alerts(conn: Connection, new: Iterable[NewAlert], raised_at: datetime) -> list[AlertRecord]:
    """Insert the alerts not raised yet (the UNIQUE identity decides, as for
    events) and return those, in the order given."""
    rows = {a.identity: {
        "identity": a.identity, "tenant": a.tenant, "node": a.node, "event": a.event, "event_id": a.event_id,
        "event_time": a.event_time, "description": a.description, "resource": a.resource,
        "proposal": a.proposal.value if a.proposal else None, "raised_at": raised_at} for a in new}
    stored = insert_missing(conn, _alerts, rows, *(c for c in _alerts.c if c.name != "identity"))
    return [_alert(stored[identity]) for identity in rows if identity in stored]


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
        # a console reads every node anew each poll interval: re-use the sections that did not change
        self._memo = SectionMemo()

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
        (published,) = self.publish_many([snap])
        return published

    def publish_many(self, snaps: Sequence[NodeSnapshot]) -> list[Published]:
        """:meth:`publish` for several polls in ONE transaction (what arrived
        since the last batch): one guard check, the change rows last, in one
        statement, so the append lock is held for a few round trips a batch
        rather than a few a poll. One :class:`Published` per snapshot, in order."""
        try:
            with self.engine.begin() as conn:
                if self.guard is not None:
                    self.guard(conn)
                now = self._now(conn)
                polls = [self._store_poll(conn, snap, now) for snap in snaps]
                seqs = iter(append_changes(conn, [c for *_, changes in polls for c in changes]))
                out: list[Published] = []
                stamped: list[dict[str, object]] = []
                for snap, stored, new_events, new_alerts, changes in polls:
                    mine = [next(seqs) for _ in changes]
                    if stored:  # the snapshot change comes first
                        stamped.append({"n": snap.node, "s": mine[0]})
                    out.append(Published(max(mine, default=0), tuple(new_events), tuple(new_alerts)))
                if stamped:
                    conn.execute(sa.update(_snapshots).where(_snapshots.c.node == sa.bindparam("n"))
                                 .values(seq=sa.bindparam("s")), stamped)
                if any(p.seq == 0 for p in out):
                    last = _max_seq(conn)
                    out = [p if p.seq else Published(last, p.new_events, p.new_alerts) for p in out]
        except Fenced as exc:
            one = snaps[0] if len(snaps) == 1 else None
            tenants = {s.tenant for s in snaps}
            audit_fenced(self.audit, exc.me or "?", exc, "publish",
                         tenant=tenants.pop() if len(tenants) == 1 else None, node=one.node if one else None,
                         detail={"sequence": one.sequence} if one else {"nodes": sorted({s.node for s in snaps})})
            raise
        return out

    @staticmethod
    def _store_poll(conn: Connection, snap: NodeSnapshot, now: datetime) -> tuple[
            NodeSnapshot, bool, list[KsysEvent], list[AlertRecord], list[NewChange]]:
        """One poll's rows, and the changes that tell readers about them."""
        stored = upsert_snapshot(conn, snap)
        if stored:  # the record a replay reads (store.history): content when it changed, else the times
            record_poll(conn, snap, now)
        new_events = insert_new_events(conn, snap.node, snap.tenant, snap.events, now)
        # every critical event of the snapshot, not only the new ones: an alert
        # is raised once whichever way its event was first stored
        new_alerts = _insert_alerts(conn, alerts_for(snap.node, snap.tenant, snap.events, snap), now)
        changes = [NewChange("snapshot", now, snap.tenant, snap.node)] if stored or new_events else []
        changes += [NewChange("alert", now, a.tenant, a.node, a.id) for a in new_alerts]
        return snap, stored, new_events, new_alerts, changes

    def raise_alerts(self, new: Sequence[NewAlert]) -> list[AlertRecord]:
        """Raise alerts no node event raised (the dispatcher's: an operation
        holding hosts on a node that stopped answering), with their ``alert``
        changes, in one transaction; an alert raised before is not raised
        again (same identity). Returns the new ones. Guarded like ``publish``."""
        with self.engine.begin() as conn:
            if self.guard is not None:
                self.guard(conn)
            now = self._now(conn)
            stored = _insert_alerts(conn, new, now)
            append_changes(conn, [NewChange("alert", now, a.tenant, a.node, a.id) for a in stored])
        return stored

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
            return read_snapshots(conn, tenant, None if nodes is None else list(nodes), self._memo)

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

    async def publish_many(self, snaps: Iterable[NodeSnapshot]) -> list[Published]:
        return await self._run(self.feed.publish_many, list(snaps))

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

    async def raise_alerts(self, new: Iterable[NewAlert]) -> list[AlertRecord]:
        return await self._run(self.feed.raise_alerts, list(new))

    async def prune(self, older_than: datetime) -> int:
        return await self._run(self.feed.prune, older_than)
