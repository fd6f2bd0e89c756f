"""A leader that hangs keeps its advisory lock: ending its session.

PostgreSQL drops a session's advisory lock when the session dies, which is
what lets a standby take over at once after ``kill -9``. A leader that is
alive but stuck (a frozen VM, a stopped process, a wedged event loop) keeps
its TCP connection, so its session, and so the lock, for as long as the
operating system's keepalive allows (two hours by default); the rule
(``core.lease.decide_lease``) has every other service wait while another
holds the lock. The lease says otherwise: a leader renews it every third of
its lifetime, and one that let it expire is not leading. So a standby that
finds the lease expired (by more than one renewal period) while the lock is
still held ends the holder's session (``pg_terminate_backend``: allowed on
sessions of the same role), takes the lock on its next look and leads. The
stuck leader, when it wakes, finds its session gone and its epoch past: its
writes are refused, and it steps down.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy import Engine

from ksystui.service.logs import fields

log = logging.getLogger(__name__)

# pg_try_advisory_lock(bigint) locks (classid, objid) = (high, low 32 bits), objsubid 1
_HOLDERS = sa.text("""
    SELECT l.pid, pg_terminate_backend(l.pid) AS ended
    FROM pg_locks l JOIN pg_database d ON d.oid = l.database
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid::bigint = :high AND l.objid::bigint = :low
      AND d.datname = current_database() AND l.pid <> pg_backend_pid()
""")


def end_stale_lock_holder(engine: Engine, key: int) -> list[int]:
    """End the session(s) holding the advisory lock ``key``; return their
    backend pids (empty: nobody held it any more, or we may not end it)."""
    with engine.connect() as conn:
        rows = conn.execute(_HOLDERS, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}).all()
        conn.commit()
    ended = [row.pid for row in rows if row.ended]
    if ended:
        log.warning("ended the session holding the lease's advisory lock: its lease had expired",
                    extra=fields(backend_pids=",".join(map(str, ended))))
    return ended
