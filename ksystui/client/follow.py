"""How a console notices that the database changed, and whether a provider
service keeps it fresh.

On PostgreSQL a LISTEN connection wakes the console as soon as the service
commits; a notification is only a hint, so the console still reads the
change sequence (``last_seq``) after every wake-up *and* at least every
``truth_seconds``: a lost notification, or a LISTEN connection that died,
delays a change by that much at worst, never hides it. A listener that
fails is closed and a new one opened. On SQLite (no LISTEN) the console
reads the sequence every ``poll_seconds``. A listener that fails, or does
not come back within its own timeout, is closed and a new one opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ksystui.core.lease import LeaseState

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_SERVICE = ("no provider service is running on this database: start `ksystui serve` "
              "(nothing polls the nodes: the data shown only ages)")


class Listener(Protocol):
    """A change notification channel (``store.notify.ChangeListener``)."""

    async def wait(self, timeout: float) -> bool: ...

    async def close(self) -> None: ...


class ChangeWaiter:
    """Waits until the change sequence is worth reading again."""

    def __init__(self, open_listener: Callable[[], Listener | None] | None, *, poll_seconds: float = 0.5,
                 truth_seconds: float = 1.0, retry_seconds: float = 2.0):
        self._open = open_listener
        self.poll_seconds = poll_seconds
        self.truth_seconds = truth_seconds
        self.retry_seconds = retry_seconds
        self.listener: Listener | None = None
        self._next_open = 0.0  # loop time before which no new listener is opened (after a failure)

    async def wait(self) -> None:
        listener = self._listener()
        if listener is None:
            await asyncio.sleep(self.poll_seconds)
            return
        try:
            # bounded here too: a listener that does not come back is as good as dead
            await _bounded(listener.wait(self.truth_seconds), self.truth_seconds + self.poll_seconds)
        except TimeoutError:
            log.warning("change listener did not come back: opening a new one")
            await self._drop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the LISTEN connection died: poll meanwhile, open a new one soon
            log.warning("change listener failed, opening a new one: %s", exc)
            await self._drop()
            self._next_open = asyncio.get_running_loop().time() + self.retry_seconds
            await asyncio.sleep(self.poll_seconds)

    def _listener(self) -> Listener | None:
        if self.listener is None and self._open is not None \
                and asyncio.get_running_loop().time() >= self._next_open:
            try:
                self.listener = self._open()
            except Exception as exc:
                log.warning("change listener cannot be opened, polling meanwhile: %s", exc)
                self._next_open = asyncio.get_running_loop().time() + self.retry_seconds
                return None
        return self.listener

    async def _drop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await _bounded(listener.close(), CLOSE_SECONDS)

    async def close(self) -> None:
        await self._drop()


CLOSE_SECONDS = 2.0  # a listener that does not close by then is left to the garbage collector


async def _bounded(work: Coroutine[Any, Any, T], seconds: float) -> T:
    """``work``'s result within ``seconds`` (else TimeoutError), and on
    cancellation leave at once. Not ``asyncio.wait_for``: that waits for the
    cancelled work to end, and psycopg's ``notifies()`` (with the
    connection's lock it holds) did not, so a console closing mid-wait hung
    for good (found in CI: a console's teardown waited forever)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise TimeoutError
    return task.result()


def service_leads(lease: LeaseState, now: datetime) -> bool:
    """Whether a provider service holds a live lease: someone holds it and
    its expiry is still ahead."""
    return lease.holder is not None and lease.expires_at is not None and lease.expires_at > now
