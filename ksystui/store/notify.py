"""LISTEN/NOTIFY: how a PostgreSQL reader learns at once that the feed moved.

Writers notify on :data:`~ksystui.store.changes.CHANNEL` inside their
transaction (delivered at commit). A notification is only a hint that wakes
a reader: the reader then reads ``Feed.last_seq``/``changes_since`` and
keeps polling now and then anyway, so a lost notification (a dead
connection, a restart) costs a poll interval, never a change.

The listener has a connection of its own (psycopg, autocommit), never one
from a pool and never through a transaction pooler (LISTEN belongs to a
server session). It checks that connection when a wait times out and opens
it again when it died. SQLite has no notifications: readers poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from ksystui.store.changes import CHANNEL

__all__ = ["ChangeListener", "libpq_conninfo", "listener_for"]

log = logging.getLogger(__name__)

APPLICATION_NAME = "ksystui-listener"
_CONNECT_TIMEOUT = 5  # seconds: libpq's connect_timeout
_MIN_CONNECT_WAIT = 2.0  # seconds a (re)connection may take even when the wait's timeout is shorter
_RETRY_AFTER = (0.2, 0.5, 1.0, 2.0, 5.0)  # back-off between reconnection attempts


def _url(url: str | URL) -> URL:
    return url if isinstance(url, URL) else make_url(url)


def libpq_conninfo(url: str | URL) -> str:
    """A libpq connection string from a SQLAlchemy URL
    (``postgresql+psycopg://user:pw@host:port/db?sslmode=…``). The password,
    if the URL carries one, is kept (it is needed), so never log the result."""
    from psycopg.conninfo import make_conninfo

    u = _url(url)
    params: dict[str, Any] = {str(k): (v if isinstance(v, str) else ",".join(v)) for k, v in u.query.items()}
    for key, value in (("host", u.host), ("port", u.port), ("user", u.username), ("password", u.password),
                       ("dbname", u.database)):
        if value is not None and value != "":
            params[key] = str(value)
    params.setdefault("connect_timeout", str(_CONNECT_TIMEOUT))
    params.setdefault("application_name", APPLICATION_NAME)  # how an operator tells it in pg_stat_activity
    return make_conninfo("", **params)


class ChangeListener:
    """LISTEN ksystui_changes on a dedicated psycopg connection (never a
    pooler). A notification only WAKES a reader; the reader still reads
    last_seq. Health-checked: a dead connection is noticed and re-opened.
    One task waits on it at a time."""

    def __init__(self, url: str | URL, *, channel: str = CHANNEL):
        self._url = _url(url)
        self.channel = channel
        self._conn: Any = None  # psycopg.AsyncConnection (imported lazily: an optional dependency)
        self._failures = 0
        self._next_attempt = 0.0
        self.opened = 0  # connections opened so far (more than one: it was re-opened)

    @property
    def safe_url(self) -> str:
        return self._url.render_as_string(hide_password=True)

    async def _connect(self) -> Any:
        import psycopg
        from psycopg import sql

        conn = await psycopg.AsyncConnection.connect(libpq_conninfo(self._url), autocommit=True)
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except BaseException:
            await conn.close()
            raise
        return conn

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a notification: True when one
        came; False when none came (or the connection failed and is being
        opened again: read the feed anyway then, a notification may have
        been lost)."""
        import psycopg

        deadline = time.monotonic() + timeout
        try:
            if self._conn is None:
                pause = self._next_attempt - time.monotonic()
                if pause > 0:  # back off after a failure: wait, but never past the timeout
                    await asyncio.sleep(min(pause, timeout))
                    if pause > timeout:
                        return False
                # an unreachable server must not hold the reader past its timeout for long
                async with asyncio.timeout(max(deadline - time.monotonic(), _MIN_CONNECT_WAIT)):
                    self._conn = await self._connect()
                self.opened += 1
                if self.opened > 1:
                    log.info("listening for changes on %s again", self.safe_url)
                self._failures = 0
            conn = self._conn
            # (PostgreSQL folds the identical notifications of one transaction into one)
            notified = conn.notifies(timeout=max(0.001, deadline - time.monotonic()), stop_after=1)
            try:
                async for _ in notified:
                    return True
            finally:
                await notified.aclose()  # at once: it holds the connection's lock until closed
            await conn.execute("SELECT 1")  # quiet: is the session still there?
            return False
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._lost(exc)
            return False

    async def _lost(self, exc: BaseException) -> None:
        self._failures += 1
        self._next_attempt = time.monotonic() + _RETRY_AFTER[min(self._failures, len(_RETRY_AFTER)) - 1]
        log.warning("change notifications from %s lost (%s); reconnecting", self.safe_url,
                    " ".join(str(exc).split()) or type(exc).__name__)
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def listener_for(url: str | URL | None) -> ChangeListener | None:
    """A listener for a PostgreSQL URL; None for SQLite (poll only)."""
    if url is None:
        return None
    try:
        u = _url(url)
    except ArgumentError:
        return None
    return ChangeListener(u) if u.get_backend_name() == "postgresql" else None
