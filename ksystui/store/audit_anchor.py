"""The anchor log: every new audit head, appended to a file outside the
database after its transaction commits (``O_APPEND``, one line, fsynced).

``audit verify`` compares the chain with it, so a wipe, a trimmed tail with a
moved head or a rewritten chain shows even when the database agrees with
itself. An anchor may lag the database (killed between the commit and the
append: harmless, the chain just goes further), never lead it: the line is
written only once the commit has succeeded. Ship the file elsewhere (or make
it append-only, ``chattr +a``) to keep it out of an intruder's reach.

Where it is (``KSYSTUI_AUDIT_ANCHOR`` overrides for every database):

* SQLite: next to the database file, ``<database>.anchors``;
* PostgreSQL: ``audit-anchors/<host>-<port>-<database>[-<cluster id>].log`` in
  the audit directory (``store.audit_key.audit_dir``). Each machine keeps the
  heads its own consoles wrote; point every console at one shared file to
  have them all in one place;
* an in-memory SQLite database: kept in memory (nothing outlives it anyway).

Each line: ``{"seq": N, "hash": "...", "at": "..."}``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from ksystui.core.audit_proof import Anchor
from ksystui.killpoints import maybe_die
from ksystui.store.audit_key import audit_dir

ENV_ANCHOR = "KSYSTUI_AUDIT_ANCHOR"
_PENDING = "ksystui.audit.pending_head"
_HOOKED = "_ksystui_anchor_log"
log = logging.getLogger(__name__)


class AnchorLog:
    """One database's anchor log (a file, or a list for an in-memory database)."""

    def __init__(self, path: Path | None, *, resolved: bool = True):
        self.path = path
        self.resolved = resolved  # PostgreSQL: the path needs the cluster's id, read on first use
        self._memory: list[Anchor] = []

    def resolve(self, conn: Connection) -> AnchorLog:
        """Settle the path (PostgreSQL) with a query safe inside any transaction."""
        if not self.resolved:
            self.path = _pg_path(conn)
            self.resolved = True
        return self

    def __str__(self) -> str:
        return f"the anchor log {self.path}" if self.path is not None else "the in-memory anchor log"

    def append(self, seq: int, hash_: str) -> None:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        if self.path is None or not self.resolved:
            self._memory.append(Anchor(seq, hash_, at))
            return
        line = json.dumps({"seq": seq, "hash": hash_, "at": at}, sort_keys=True) + "\n"
        maybe_die("anchor_before_write")
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())  # one write of a short line: O_APPEND keeps concurrent lines whole
            maybe_die("anchor_after_write")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)
        maybe_die("anchor_after_fsync")

    def read(self) -> tuple[list[Anchor], list[int]] | None:
        """(anchors, numbers of unreadable lines); None when there is no log."""
        if self.path is None or not self.resolved:
            return list(self._memory), []
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return None
        anchors: list[Anchor] = []
        bad: list[int] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                anchors.append(Anchor(int(item["seq"]), str(item["hash"]), str(item.get("at", "?"))))
            except (ValueError, KeyError, TypeError):
                bad.append(number)
        return anchors, bad


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def anchor_log_for(engine: Engine) -> AnchorLog:
    """The engine's anchor log, made (and hooked to its commits) once per engine."""
    found = engine.dialect.__dict__.get(_HOOKED)  # the dialect: an engine's option copies share it
    if isinstance(found, AnchorLog):
        return found
    configured = os.environ.get(ENV_ANCHOR)
    if configured:
        anchors = AnchorLog(Path(configured).expanduser())
    elif engine.url.get_backend_name() == "sqlite":
        anchors = AnchorLog(_sqlite_path(engine.url.database or ""))
    else:
        anchors = AnchorLog(None, resolved=False)
    setattr(engine.dialect, _HOOKED, anchors)  # noqa: B010 - one log per engine (per dialect)
    _hook_commit(engine, anchors)
    return anchors


def note_new_head(conn: Connection, seq: int, hash_: str) -> None:
    """Remember the head this transaction moved to; it is anchored when (and
    only if) the transaction commits."""
    anchor_log_for(conn.engine).resolve(conn)
    conn.info[_PENDING] = (seq, hash_)


def _sqlite_path(database: str) -> Path | None:
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    path = Path(database).expanduser().absolute()
    return path.with_name(path.name + ".anchors")


def _pg_path(conn: Connection) -> Path:
    """PostgreSQL's system identifier is part of the name: a cluster made anew
    (initdb) gets another, so a database of the same name there starts another
    log. Read only where allowed (CASE keeps the transaction safe)."""
    cluster = conn.execute(sa.text(
        "SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') "
        "THEN (SELECT system_identifier::text FROM pg_control_system()) END")).scalar_one_or_none()
    url = conn.engine.url
    parts = [url.host or "local", str(url.port or 5432), url.database or "postgres"]
    if cluster:
        parts.append(str(cluster))
    name = "-".join(re.sub(r"[^A-Za-z0-9_.]", "_", part) for part in parts)
    return audit_dir() / "audit-anchors" / f"{name}.log"


def _hook_commit(engine: Engine, anchors: AnchorLog) -> None:
    """Append the pending head after the DBAPI commit returned (SQLAlchemy's
    ``commit`` event fires before it); a rollback forgets it."""
    dialect = engine.dialect
    commit: Callable[[Any], None] = dialect.do_commit
    rollback: Callable[[Any], None] = dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        pending = _take(dbapi_connection)
        if pending is not None:
            try:
                anchors.append(*pending)
            except OSError as exc:  # committed: the caller's change stands; the anchor just lags
                log.error("%s: cannot append the audit head seq %s: %s", anchors, pending[0], exc)

    def do_rollback(dbapi_connection: Any) -> None:
        _take(dbapi_connection)
        rollback(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def _take(dbapi_connection: Any) -> tuple[int, str] | None:
    try:
        info = dbapi_connection.info  # the pool entry's, shared with the Connection that noted the head
    except (AttributeError, NotImplementedError):  # a bare DBAPI connection (the dialect's first connect)
        return None
    if not isinstance(info, dict):
        return None
    pending: tuple[int, str] | None = info.pop(_PENDING, None)
    return pending
