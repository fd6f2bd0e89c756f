"""The audit trail in the store: an append-only, hash-chained table.

``AuditLog.append`` seals a record with ``core.audit.seal`` *inside the
caller's transaction* and moves the ``audit_head`` anchor in the same
transaction, so an operation's transition and its audit row commit or vanish
together. Appends are serialised: the first thing an append (or a
``Queue`` write) does is lock the head row (``SELECT … FOR UPDATE`` on
PostgreSQL; on SQLite the ``BEGIN IMMEDIATE`` write lock already did), so
sequence numbers have no gaps and every record follows the one before.

New rows are sealed with a key held outside the database
(``store.audit_key``), and every head is appended, once its transaction has
committed, to the anchor log outside the database (``store.audit_anchor``).

``verify`` reads the whole table, the head and the anchor log and reports
every break: an edited, deleted or inserted row (named by its id and seq), a
chain re-hashed without the key, a wipe or a trimmed tail with a moved head
(the anchor log remembers a later head), and an ``operations`` row that
disagrees with its audit records (``core.audit_proof``).

No secret is written. The detail of a record is what its caller passes, and
callers pass argv lists (ksysmgr names and ``attr=value`` words), reasons,
states and fences — never a password, key or token. As a guard, a detail
with a key that looks like a secret (password, token, passphrase, api_key,
secret, …), or a string ``name=value`` whose name does, is refused with
:class:`SecretRefused` and nothing is written (what looks secret is the
core's policy, ``core.secrets``).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from ksystui.core.actor import Actor
from ksystui.core.audit import (
    GENESIS,
    KEYED,
    AuditEntry,
    AuditRecord,
    ChainProblem,
    scheme_of,
    seal,
    verify_chain,
)
from ksystui.core.audit_proof import (
    Anchor,
    OperationRow,
    check_anchors,
    check_given_anchor,
    check_operations,
)
from ksystui.core.secrets import SecretRefused, check_no_secret, redact
from ksystui.killpoints import maybe_die
from ksystui.store.audit_anchor import AnchorLog, anchor_log_for, note_new_head
from ksystui.store.audit_key import audit_key
from ksystui.store.engine import StoreError, read_connection
from ksystui.store.queue_tables import audit, audit_head, operations

__all__ = ["Actor", "AuditLog", "AuditTrailBroken", "Clock", "SecretRefused", "check_no_secret", "current_actor", "redact",
           "transaction_time"]

Clock = Callable[[], datetime]
AnyRow = sa.Row[*tuple[Any, ...]]  # a result row of any columns

_EXPORT_PAGE = 500


def current_actor(console_id: str) -> Actor:
    """The actor behind this process: the OS user and machine, and ``console_id``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return Actor(user, socket.gethostname(), console_id)


def transaction_time(conn: Connection, clock: Clock | None = None) -> datetime:
    """The time to stamp a change with: ``clock`` when given (tests), else the
    database's clock on PostgreSQL (consoles on several machines share one
    clock) and this machine's on SQLite (one machine by construction)."""
    if clock is not None:
        now = clock()
    elif conn.dialect.name == "postgresql":
        now = conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
    else:
        now = datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _anchor(seq: int, hash_: str) -> AuditRecord | None:
    """The record to seal after, as far as ``seal`` needs it (seq and hash),
    taken from the head anchor rather than from the newest row: a deleted
    newest row then stays visible as a gap instead of being papered over."""
    if seq == 0 and hash_ == GENESIS:
        return None
    return AuditRecord(seq=seq, at="", actor="", action="", operation=None, tenant=None, node=None, detail={},
                       prev_hash="", hash=hash_)


class AuditTrailBroken(StoreError):
    """The trail cannot take another record (its head is gone): the message
    says so in a sentence; nothing more is recorded until it is repaired."""


class AuditLog:
    """The audit table of one store. ``key`` (the chain's HMAC key) defaults
    to ``store.audit_key.audit_key()``, read on first use; ``anchors`` to the
    engine's anchor log."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None, key: bytes | None = None,
                 anchors: AnchorLog | None = None):
        self.engine = engine
        self.clock = clock
        self._key = key
        self.anchors = anchors if anchors is not None else anchor_log_for(engine)

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = audit_key()
        return self._key

    # --- writing ------------------------------------------------------------------------
    @staticmethod
    def lock(conn: Connection) -> tuple[int, str]:
        """Lock the head anchor for this transaction and return (last seq,
        last hash). Every writer that audits calls this first, so writers
        queue here in one order and never deadlock."""
        row = conn.execute(
            sa.select(audit_head.c.last_seq, audit_head.c.last_hash).where(audit_head.c.id == 1).with_for_update()
        ).first()
        if row is None:
            raise AuditTrailBroken("the audit trail is broken: the audit head anchor is missing (deleted), so "
                                   "nothing more can be recorded and nothing was changed; run `ksystui audit verify` "
                                   "and restore the database from a backup")
        return int(row.last_seq), str(row.last_hash)

    def append(self, conn: Connection, *, actor: Actor | str, action: str, operation: int | None = None,
               tenant: str | None = None, node: str | None = None, detail: Mapping[str, object] | None = None,
               at: datetime | None = None) -> AuditRecord:
        """Seal and insert the next record inside ``conn``'s transaction and move
        the head; return the record. Refuses a detail that looks secret."""
        check_no_secret(dict(detail or {}))
        # What is hashed is exactly what is stored and read back.
        plain = json.loads(json.dumps(dict(detail or {}), default=str))
        key = self.key
        last_seq, last_hash = self.lock(conn)
        when = at if at is not None else transaction_time(conn, self.clock)
        rec = seal(_anchor(last_seq, last_hash), at=when.astimezone(UTC).isoformat(timespec="microseconds"),
                   actor=str(actor), action=action, operation=operation, tenant=tenant, node=node, detail=plain,
                   key=key)
        maybe_die("audit_before_insert")
        conn.execute(sa.insert(audit).values(
            id=rec.seq, seq=rec.seq, at=rec.at, actor=rec.actor, action=rec.action, operation=rec.operation,
            tenant=rec.tenant, node=rec.node, detail=json.dumps(plain, sort_keys=True, ensure_ascii=False),
            prev_hash=rec.prev_hash, hash=rec.hash,
        ))
        maybe_die("audit_after_insert")
        conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(last_seq=rec.seq, last_hash=rec.hash))
        note_new_head(conn, rec.seq, rec.hash)  # anchored outside the database once this commits
        maybe_die("audit_after_head")
        return rec

    def record(self, *, actor: Actor | str, action: str, operation: int | None = None, tenant: str | None = None,
               node: str | None = None, detail: Mapping[str, object] | None = None) -> AuditRecord:
        """Append in a transaction of its own (for actions outside the queue)."""
        with self.engine.begin() as conn:
            return self.append(conn, actor=actor, action=action, operation=operation, tenant=tenant, node=node,
                               detail=detail)

    # --- reading ------------------------------------------------------------------------
    def head(self) -> tuple[int, str] | None:
        """(last seq, last hash): worth keeping outside the database."""
        with read_connection(self.engine) as conn:
            row = conn.execute(sa.select(audit_head.c.last_seq, audit_head.c.last_hash)
                               .where(audit_head.c.id == 1)).first()
        return None if row is None else (row.last_seq, row.last_hash)

    def verify(self, anchor: str | None = None) -> list[ChainProblem]:
        """Every break in the trail; empty when it is intact. ``anchor``: a
        head hash kept elsewhere, which the chain must still hold."""
        key = self.key
        if not self.anchors.resolved:
            with read_connection(self.engine) as conn:
                self.anchors.resolve(conn)
        # The anchor log is read BEFORE the chain: a head is anchored only after its commit, so every
        # anchor read now names a row the chain read next must hold. Read after, an append committed in
        # between would look like rows deleted from the chain's end.
        found = self.anchors.read()
        with read_connection(self.engine) as conn:
            rows = conn.execute(sa.select(audit).order_by(audit.c.seq, audit.c.id)).all()
            head_rows = conn.execute(sa.select(audit_head.c.id, audit_head.c.last_seq, audit_head.c.last_hash)).all()
            op_rows = conn.execute(sa.select(operations.c.id, operations.c.tenant, operations.c.node,
                                             operations.c.op, operations.c.state).order_by(operations.c.id)).all()
        problems: list[ChainProblem] = []
        records: list[tuple[int | None, AuditRecord]] = []
        for row in rows:
            if not _whole(row.seq):
                problems.append(ChainProblem(None, row.id, f"seq {row.seq!r} is not a whole number (forged)"))
                continue
            if row.id != row.seq:
                problems.append(ChainProblem(row.seq, row.id, f"row id {row.id} differs from its seq (renumbered "
                                                              "or forged)"))
            records.append((row.id, _record(row)))
        head = _head(head_rows, problems)
        problems += verify_chain(records, head, key=key)
        problems += _beyond_head(records, head)
        chain = [rec for _, rec in records]
        problems += self._against_anchor_log(chain, found)
        if anchor is not None:
            problems += check_given_anchor(chain, anchor)
        problems += check_operations(chain, [OperationRow(r.id, r.tenant, r.node, r.op, r.state) for r in op_rows])
        return problems

    def _against_anchor_log(self, chain: list[AuditRecord],
                            found: tuple[list[Anchor], list[int]] | None) -> list[ChainProblem]:
        if found is None:
            if any(scheme_of(rec.hash) == KEYED for rec in chain):
                return [ChainProblem(None, None, where="anchor log", problem=(
                    f"{self.anchors} is missing, while the chain holds keyed rows: it was deleted or moved (or "
                    "the database copied without it); the chain's completeness cannot be shown"))]
            return []
        anchors, unreadable = found
        problems = [ChainProblem(None, None, where="anchor log", problem=(
            f"{self.anchors} has {len(unreadable)} unreadable line(s) (first: line {unreadable[0]}): edited"))
        ] if unreadable else []
        return problems + check_anchors(chain, anchors, source=str(self.anchors))

    def export(self, tenant: str | None = None) -> Iterator[AuditEntry]:
        """Records in order as JSON-ready dicts; with ``tenant``, only that
        tenant's records (records of no tenant are not included either)."""
        after: int | None = None
        while True:
            query = sa.select(audit).order_by(audit.c.seq).limit(_EXPORT_PAGE)
            if after is not None:
                query = query.where(audit.c.seq > after)
            if tenant is not None:
                query = query.where(audit.c.tenant == tenant)
            with read_connection(self.engine) as conn:
                rows = conn.execute(query).all()
            yield from map(_as_dict, rows)
            if len(rows) < _EXPORT_PAGE:
                return
            after = rows[-1].seq

    def latest(self, limit: int, tenant: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` records, newest first (what a screen shows);
        with ``tenant``, only that tenant's, as :meth:`export`."""
        query = sa.select(audit).order_by(audit.c.seq.desc()).limit(limit)
        if tenant is not None:
            query = query.where(audit.c.tenant == tenant)
        with read_connection(self.engine) as conn:
            return [_as_dict(row) for row in conn.execute(query).all()]


def _as_dict(row: AnyRow) -> AuditEntry:
    return {
        "id": row.id, "seq": row.seq, "at": row.at, "actor": row.actor, "action": row.action,
        "operation": row.operation, "tenant": row.tenant, "node": row.node,
        "detail": _detail(row.detail), "prev_hash": row.prev_hash, "hash": row.hash,
    }


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _detail(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _record(row: AnyRow) -> AuditRecord:
    detail = _detail(row.detail)
    if not isinstance(detail, Mapping):
        detail = {"<unreadable detail>": row.detail}  # cannot match its hash: reported as edited
    return AuditRecord(seq=row.seq, at=row.at, actor=row.actor, action=row.action, operation=row.operation,
                       tenant=row.tenant, node=row.node, detail=detail, prev_hash=row.prev_hash, hash=row.hash)


def _head(rows: Sequence[AnyRow], problems: list[ChainProblem]) -> tuple[int, str] | None:
    if len(rows) > 1:  # the CHECK (id = 1) forbids this; a database without it may not
        problems.append(ChainProblem(None, None, f"{len(rows)} head anchors instead of one"))
    for row in rows:
        if row.id == 1:
            return int(row.last_seq), str(row.last_hash)
    return None


def _beyond_head(records: list[tuple[int | None, AuditRecord]],
                 head: tuple[int, str] | None) -> list[ChainProblem]:
    """Name the rows a head mismatch is about (the core reports the mismatch
    itself, without a row): rows after the anchored seq were added behind
    the arbiter's back; anchored seqs past the chain's end were deleted."""
    if head is None:
        return []
    head_seq, head_hash = head
    last_seq = records[-1][1].seq if records else 0
    out = [ChainProblem(rec.seq, row_id, f"comes after the head anchor (seq {head_seq}): added without "
                                         "the arbiter (inserted)")
           for row_id, rec in records if rec.seq > head_seq]
    if head_seq > last_seq:
        missing = range(last_seq + 1, head_seq + 1)
        out += [ChainProblem(seq, None, f"row seq {seq} is anchored by the head but missing (deleted)")
                for seq in list(missing)[:20]]
    elif head_seq == last_seq and records and records[-1][1].hash != head_hash:
        row_id, rec = records[-1]
        out.append(ChainProblem(rec.seq, row_id, "its hash is not the one the head anchors (replaced)"))
    return out
