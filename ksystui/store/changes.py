"""Appending to the change feed, inside the writer's transaction.

Every write a reader must notice appends a ``changes`` row in the same
transaction (so the row and the change commit or vanish together) and, on
PostgreSQL, ``pg_notify`` on :data:`CHANNEL` (delivered at commit; a
notification only wakes a reader, which then reads the feed).

Readers ask for "everything after seq N", so a row must never become
visible *behind* one a reader has already seen. A PostgreSQL sequence hands
out numbers in insert order, not commit order: two writers could commit
seq 11 before seq 10. So each writer takes a transaction-level advisory lock
just before appending (the last thing it locks; held to its commit): seqs
are then committed in order. SQLite's BEGIN IMMEDIATE already serialises
every writer.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from ksystui.store.service_tables import changes

CHANNEL = "ksystui_changes"
_APPEND_LOCK = zlib.crc32(b"ksystui.store.changes")
# notified: an attempt to notify an alert was recorded (its NOTIFIED cell changed; ref = the alert)
KINDS = frozenset({"snapshot", "alert", "ack", "resolve", "notified", "queue", "refresh"})


def append_change(conn: Connection, kind: str, at: datetime, *, tenant: str | None = None,
                  node: str | None = None, ref: int | None = None) -> int:
    """Append one change in ``conn``'s transaction, notify, and return its seq."""
    (seq,) = append_changes(conn, [NewChange(kind, at, tenant, node, ref)])
    return seq


@dataclass(frozen=True)
class NewChange:
    kind: str
    at: datetime
    tenant: str | None = None
    node: str | None = None
    ref: int | None = None


def append_changes(conn: Connection, new: Sequence[NewChange]) -> list[int]:
    """Append changes in ``conn``'s transaction (one statement), notify once,
    and return their seqs in the order given. Call it last in a transaction:
    on PostgreSQL it takes the append lock, held until commit."""
    for change in new:
        if change.kind not in KINDS:
            raise ValueError(f"{change.kind!r} is not a kind of change ({', '.join(sorted(KINDS))})")
    if not new:
        return []
    if conn.dialect.name == "postgresql":
        # re-entrant within a transaction: a second append takes it again at no cost
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_APPEND_LOCK)))
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
    rows = [{"kind": c.kind, "at": c.at, "tenant": c.tenant, "node": c.node, "ref": c.ref} for c in new]
    stmt = sa.insert(changes).returning(changes.c.seq, sort_by_parameter_order=True)
    return [int(seq) for seq in conn.execute(stmt, rows).scalars()]
