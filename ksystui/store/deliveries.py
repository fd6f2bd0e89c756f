"""The notification outbox: what the notifier must deliver, and how it went.

The notifier (``service.notifier``) follows the change feed from the
``notify_cursor`` row. For the changes it reads it enqueues one delivery per
matching hook *in the same transaction that advances the cursor*
(:meth:`Deliveries.enqueue`): a leader that dies before committing leaves
the cursor where it was and its successor enqueues the same rows; one that
dies after has them all stored. The UNIQUE (hook, delivery_key) makes
enqueueing twice harmless, so each notification is sent at least once, and
the receiver dedups by the delivery key.

Then each attempt is recorded on its row (:meth:`Deliveries.record_attempt`):
attempts, the last status and error (the sender's words, never a URL or a
key), when the next one is due, delivered or given up; an attempt for an
alert appends a ``notified`` change, so consoles redraw its NOTIFIED cell. ``ksystui notify log``
and the alerts view's NOTIFIED column read these rows.

Every write of the leader goes through its lease's guard, like the feed's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from ksystui.core.alerts import notified_text
from ksystui.store.audit_log import Clock, transaction_time
from ksystui.store.changes import append_change
from ksystui.store.delivery_tables import notify_cursor as _cursor
from ksystui.store.delivery_tables import notify_deliveries as _deliveries
from ksystui.store.engine import read_connection
from ksystui.store.lease import Guard
from ksystui.store.repository import insert

__all__ = ["AsyncDeliveries", "Deliveries", "Delivery", "NewDelivery", "PENDING", "DELIVERED", "GAVE_UP"]

PENDING, DELIVERED, GAVE_UP = "pending", "delivered", "gave_up"
ERROR_KEPT = 500  # characters of a sender's error kept on the row


@dataclass(frozen=True)
class NewDelivery:
    """A notification to enqueue for one hook."""

    hook: str
    delivery_key: str
    incident: str
    kind: str
    tenant: str | None
    node: str | None
    ref: int | None
    severity: str
    summary: str
    notice_json: str


@dataclass(frozen=True)
class Delivery(NewDelivery):
    """A row of the delivery log: what was enqueued, and what became of it."""

    id: int
    state: str
    attempts: int
    last_status: str | None
    last_error: str | None
    next_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: Any) -> Delivery:
    return Delivery(**{c.name: getattr(row, c.name) for c in _deliveries.c})


class StaleCursor(RuntimeError):
    """The cursor moved since it was read: another notifier handled those changes."""


class Deliveries:
    """The outbox on one (migrated) engine; ``guard``: the leader's lease
    fence, checked first in every write; ``clock`` replaces the time source."""

    def __init__(self, engine: Engine, *, guard: Guard | None = None, clock: Clock | None = None):
        self.engine = engine
        self.guard = guard
        self.clock = clock

    # --- the notifier writes -----------------------------------------------------
    def start_cursor(self, seq: int) -> int:
        """The handled seq; a first notifier starts at ``seq`` (the feed's
        last: what happened before any notifier ran is not notified)."""
        with self.engine.begin() as conn:
            if self.guard is not None:
                self.guard(conn)
            row = conn.execute(sa.select(_cursor.c.seq).where(_cursor.c.id == 1)).first()
            if row is not None:
                return int(row.seq)
            conn.execute(insert(conn, _cursor).values(id=1, seq=seq).on_conflict_do_nothing(index_elements=["id"]))
            return int(conn.execute(sa.select(_cursor.c.seq).where(_cursor.c.id == 1)).scalar_one())

    def enqueue(self, handled_from: int, handled_to: int, new: Sequence[NewDelivery]) -> int:
        """Store ``new`` (those not stored yet for their hook) and move the
        cursor from ``handled_from`` to ``handled_to``, in one transaction;
        the number of rows stored. :class:`StaleCursor` when the cursor is no
        longer at ``handled_from`` (nothing is written then)."""
        with self.engine.begin() as conn:
            if self.guard is not None:
                self.guard(conn)
            now = transaction_time(conn, self.clock)
            moved = conn.execute(sa.update(_cursor).where(_cursor.c.id == 1, _cursor.c.seq == handled_from)
                                 .values(seq=handled_to)).rowcount
            if moved != 1:
                raise StaleCursor(f"the notify cursor is no longer at {handled_from}")
            if not new:
                return 0
            rows = [{**{k: getattr(d, k) for k in NewDelivery.__dataclass_fields__}, "state": PENDING,
                     "attempts": 0, "next_at": now, "created_at": now} for d in new]
            stmt = insert(conn, _deliveries).values(rows).on_conflict_do_nothing(
                index_elements=["hook", "delivery_key"])
            return len(conn.execute(stmt.returning(_deliveries.c.id)).all())

    def record_attempt(self, delivery_id: int, attempts_before: int, *, ok: bool, status: str | None,
                       error: str | None, retry_in: timedelta | None) -> bool:
        """One attempt of a delivery: delivered when ``ok``, else tried again
        ``retry_in`` from now (given up when None). False when the row changed
        meanwhile (another notifier recorded this attempt)."""
        with self.engine.begin() as conn:
            if self.guard is not None:
                self.guard(conn)
            now = transaction_time(conn, self.clock)
            values: dict[str, object] = {"attempts": attempts_before + 1, "last_status": status,
                                         "last_error": (error or None) and error[:ERROR_KEPT]}
            if ok:
                values.update(state=DELIVERED, delivered_at=now, next_at=None, last_error=None)
            elif retry_in is None:
                values.update(state=GAVE_UP, next_at=None)
            else:
                values.update(state=PENDING, next_at=now + retry_in)
            row = conn.execute(sa.update(_deliveries).where(
                _deliveries.c.id == delivery_id, _deliveries.c.attempts == attempts_before,
                _deliveries.c.state == PENDING).values(**values).returning(
                    _deliveries.c.kind, _deliveries.c.tenant, _deliveries.c.node, _deliveries.c.ref)).first()
            if row is None:
                return False
            if row.kind.startswith("alert.") and row.ref is not None:  # consoles redraw its NOTIFIED cell
                append_change(conn, "notified", now, tenant=row.tenant, node=row.node, ref=row.ref)
            return True

    def prune(self, older_than: datetime) -> int:
        """Forget deliveries that ended (delivered or given up) and were
        created before ``older_than``; pending ones stay whatever their age.
        How many."""
        with self.engine.begin() as conn:
            if self.guard is not None:
                self.guard(conn)
            return conn.execute(sa.delete(_deliveries).where(
                _deliveries.c.state.in_((DELIVERED, GAVE_UP)), _deliveries.c.created_at < older_than)).rowcount

    # --- readers -----------------------------------------------------------------
    def cursor(self) -> int | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(sa.select(_cursor.c.seq).where(_cursor.c.id == 1)).first()
        return None if row is None else int(row.seq)

    def due(self, now: datetime | None = None, *, limit: int = 50) -> list[Delivery]:
        """Pending deliveries whose next attempt is due (at ``now``, default
        the database's clock, the one ``next_at`` was set by), oldest first.
        A notification waits while an older one of its incident is pending
        on its hook: a receiver hears "raised" before "resolved"."""
        older = _deliveries.alias("older")
        query = (sa.select(_deliveries).where(
            _deliveries.c.state == PENDING, _deliveries.c.next_at <= sa.bindparam("now"),
            ~sa.exists().where(older.c.hook == _deliveries.c.hook, older.c.incident == _deliveries.c.incident,
                               older.c.state == PENDING, older.c.id < _deliveries.c.id))
            .order_by(_deliveries.c.next_at, _deliveries.c.id).limit(limit))
        with read_connection(self.engine) as conn:
            when = now or transaction_time(conn, self.clock)
            return [_delivery(r) for r in conn.execute(query, {"now": when}).all()]

    def log(self, *, tenant: str | None = None, hook: str | None = None, state: str | None = None,
            limit: int = 50) -> list[Delivery]:
        """The delivery log, newest first (of ``tenant``, ``hook``, ``state``)."""
        query = sa.select(_deliveries).order_by(_deliveries.c.id.desc()).limit(limit)
        if tenant is not None:
            query = query.where(_deliveries.c.tenant == tenant)
        if hook is not None:
            query = query.where(_deliveries.c.hook == hook)
        if state is not None:
            query = query.where(_deliveries.c.state == state)
        with read_connection(self.engine) as conn:
            return [_delivery(r) for r in conn.execute(query).all()]

    def notified(self, alert_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Per alert, one short text per hook (``core.alerts.notified_text``)."""
        return notified_by_alert(self.engine, alert_ids)


def notified_by_alert(engine: Engine | sa.Connection, alert_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """:meth:`Deliveries.notified` on an engine or inside a connection."""
    ids = sorted(set(alert_ids))
    if not ids:
        return {}
    query = (sa.select(_deliveries.c.ref, _deliveries.c.hook, _deliveries.c.state, _deliveries.c.attempts,
                       _deliveries.c.last_status)
             .where(_deliveries.c.ref.in_(ids), _deliveries.c.kind.like("alert.%"))
             .order_by(_deliveries.c.ref, _deliveries.c.hook, _deliveries.c.id))
    if isinstance(engine, sa.Connection):
        rows = engine.execute(query).all()
    else:
        with read_connection(engine) as conn:
            rows = conn.execute(query).all()
    grouped: dict[int, dict[str, list[tuple[str, int, str | None]]]] = {}
    for r in rows:
        grouped.setdefault(r.ref, {}).setdefault(r.hook, []).append((r.state, r.attempts, r.last_status))
    return {ref: tuple(notified_text(hook, states) for hook, states in hooks.items())
            for ref, hooks in grouped.items()}


class AsyncDeliveries:
    """The same calls for an event loop: each runs in a worker thread."""

    def __init__(self, deliveries: Deliveries):
        self.deliveries = deliveries

    async def start_cursor(self, seq: int) -> int:
        return await asyncio.to_thread(self.deliveries.start_cursor, seq)

    async def enqueue(self, handled_from: int, handled_to: int, new: Sequence[NewDelivery]) -> int:
        return await asyncio.to_thread(self.deliveries.enqueue, handled_from, handled_to, list(new))

    async def record_attempt(self, delivery_id: int, attempts_before: int, *, ok: bool, status: str | None,
                             error: str | None, retry_in: timedelta | None) -> bool:
        return await asyncio.to_thread(lambda: self.deliveries.record_attempt(
            delivery_id, attempts_before, ok=ok, status=status, error=error, retry_in=retry_in))

    async def prune(self, older_than: datetime) -> int:
        return await asyncio.to_thread(self.deliveries.prune, older_than)

    async def cursor(self) -> int | None:
        return await asyncio.to_thread(self.deliveries.cursor)

    async def due(self, now: datetime | None = None, *, limit: int = 50) -> list[Delivery]:
        return await asyncio.to_thread(lambda: self.deliveries.due(now, limit=limit))

    async def log(self, *, tenant: str | None = None, hook: str | None = None, state: str | None = None,
                  limit: int = 50) -> list[Delivery]:
        return await asyncio.to_thread(lambda: self.deliveries.log(tenant=tenant, hook=hook, state=state,
                                                                   limit=limit))

