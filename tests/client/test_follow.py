"""How a console notices changes: a LISTEN connection that dies or hangs is
replaced, and meanwhile the console polls; a notification is only a hint."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from ksystui.client.follow import ChangeWaiter
from tests.waiting import eventually


class Listener:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.closed = False

    async def wait(self, timeout: float) -> bool:
        if self.behaviour == "dies":
            raise OSError("server closed the connection unexpectedly")
        if self.behaviour == "hangs":
            await asyncio.Event().wait()
        await asyncio.sleep(timeout)
        return False

    async def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("behaviour", ["dies", "hangs"])
async def test_a_listener_that_dies_or_hangs_is_closed_and_a_new_one_opened(behaviour):
    opened: list[Listener] = []

    def open_listener() -> Listener:
        opened.append(Listener(behaviour if not opened else "works"))
        return opened[-1]

    waiter = ChangeWaiter(open_listener, poll_seconds=0.05, truth_seconds=0.1, retry_seconds=0.0)
    for _ in range(4):
        await asyncio.wait_for(waiter.wait(), 2)  # never longer than its own bound
    assert len(opened) == 2 and opened[0].closed and not opened[1].closed
    await waiter.close()
    assert opened[1].closed


async def test_without_a_listener_it_polls():
    waiter = ChangeWaiter(None, poll_seconds=0.01)
    await asyncio.wait_for(waiter.wait(), 1)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_console_whose_listen_session_is_killed_still_follows(site):
    async with site.service(), site.console() as rt:
        rt.source.start()
        def listening() -> int | None:
            conn = getattr(rt.source.waiter.listener, "_conn", None)
            return conn.info.backend_pid if conn is not None else None

        await eventually(listening, 10)
        conninfo = site.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as admin:  # what a restarted server or a firewall does
            assert admin.execute("SELECT pg_terminate_backend(%s)", (listening(),)).fetchone() == (True,)
        site.world.faults.inject("host_failure", "raichu")
        await eventually(lambda: rt.source.alerts, 30)
        await eventually(listening, 10)  # listening again


class StubbornListener:
    """A listener that does not end when cancelled, nor close: what psycopg's
    ``notifies()`` did while it held the connection's lock."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()  # the test lets it end, so the loop can close

    async def _forever(self) -> None:
        while not self.released.is_set():
            try:
                await self.released.wait()
            except asyncio.CancelledError:
                continue  # ignores cancellation

    async def wait(self, timeout: float) -> bool:
        self.entered.set()
        await self._forever()
        return False

    async def close(self) -> None:
        await self._forever()


async def test_a_console_stops_even_when_its_listener_ignores_cancellation():
    """Found in CI: a console's teardown waited forever on a LISTEN wait."""
    stubborn = StubbornListener()
    waiter = ChangeWaiter(lambda: stubborn, poll_seconds=0.05, truth_seconds=30)
    task = asyncio.create_task(waiter.wait())
    await asyncio.wait_for(stubborn.entered.wait(), 5)
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 3)  # did not hang
    await asyncio.wait_for(waiter.close(), 5)  # nor does closing it
    stubborn.released.set()
