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
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from ksystui.store.service_tables import changes

CHANNEL = "ksystui_changes"
_APPEND_LOCK = zlib.crc32(b"ksystui.store.changes")
KINDS = frozenset({"snapshot", "alert", "ack", "queue", "refresh"})


def append_change(conn: Connection, kind: str, at: datetime, *, tenant: str | None = None,
                  node: str | None = None, ref: int | None = None) -> int:
    """Append one change in ``conn``'s transaction, notify, and return its seq."""
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a kind of change ({', '.join(sorted(KINDS))})")
    if conn.dialect.name == "postgresql":
        # re-entrant within a transaction: a second append takes it again at no cost
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_APPEND_LOCK)))
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
    seq: int = conn.execute(sa.insert(changes).values(kind=kind, at=at, tenant=tenant, node=node, ref=ref)
                            .returning(changes.c.seq)).scalar_one()
    return seq
