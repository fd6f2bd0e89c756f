"""Issue 12.3's acceptance: a recorded incident replayed shows the same
screens at the same instants as live.

The simulator on loopback, the provider service in this process recording
what it sees, and a console on its database as ``ksystui`` builds it: a host
fails, the alert is raised, customerB is moved to its backup site (unplanned)
and cleaned up. At chosen instants the live console's overview, queue and
alerts are read; then ``ksystui replay``'s console, on the same database,
is put at each of those instants and must read the same words.

An instant is "chosen" when the live screen read the same twice around it,
each read after the console caught up with every change committed so far,
and no change stamped before it was still to come (a transaction is stamped
when it starts, seen when it commits): what the database held as of that
instant is what the live console showed, and an age that read the same
before and after it reads the same at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from textual.worker import WorkerCancelled

from ksystui.arbiter.replay import ReplayArbiter
from ksystui.bootstrap import console_app
from ksystui.client.replay_source import ReplaySource
from ksystui.core.lifecycle import Op
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.screens import ArbiterTableScreen
from tests.ui.conftest import showing, until
from tests.waiting import eventually

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

KEYS = {"overview": "0", "queue": "6", "alerts": "8"}
SIZE = (200, 50)  # every column and every row in view
TRIES = 40
SETTLED = timedelta(milliseconds=300)  # longer than a publish's transaction takes, under load too


@dataclass(frozen=True)
class Shot:
    """What a view read at an instant."""

    moment: str
    view: str
    at: datetime
    words: tuple[str, ...]


async def read_view(pilot, app: ControlRoomApp, catch_up=None) -> tuple[str, ...]:
    """The view on screen as it stands now: caught up with the database (a
    live console), ages judged as of the console's clock, the arbiter's
    table read again; the note above a queue, and every row."""
    if catch_up is not None:
        await catch_up()
    await pilot.pause()
    app._tick()
    screen = app.screen
    note: tuple[str, ...] = ()
    if isinstance(screen, ArbiterTableScreen):
        while True:  # read by this reload (the screen's own timer may start one that cancels it)
            try:
                await screen.reload().wait()
                break
            except WorkerCancelled:
                continue
        await pilot.pause()
        note = (str(screen.query_one("#note").visual),)
    screen.table.flush()  # changes queued for the next paint: what the operator sees a moment later
    rows = [" | ".join(map(str, r.cells)) for r in screen.table.visible_rows()]
    # the overview lists its tenants in the order their first snapshot reached the console (it has no
    # order of its own): a live console's polls and a replay's first move bring them in different orders
    return note + tuple(sorted(rows) if screen.view == "overview" else rows)


async def open_view(pilot, app: ControlRoomApp, view: str) -> None:
    await pilot.press(KEYS[view])
    await until(pilot, lambda: showing(app, view))


async def live_shot(pilot, app: ControlRoomApp, rt, moment: str, view: str) -> Shot:
    """The view read the same twice, the instant between the two reads, and
    nothing stamped before that instant that the console had not read yet
    (a transaction is stamped when it starts and seen once it commits)."""
    await open_view(pilot, app, view)
    for _ in range(TRIES):
        first = await read_view(pilot, app, rt.source.catch_up)
        seen = rt.source.last_seq
        at = datetime.now(UTC)
        second = await read_view(pilot, app, rt.source.catch_up)
        if first != second:
            continue
        await committed_past(rt, at)
        if all(c.at > at for c in await rt.feed.changes_since(seen, limit=100_000)):
            return Shot(moment, view, at, first)
    raise AssertionError(f"the live {view} never read the same twice ({moment})")


async def committed_past(rt, at: datetime) -> None:
    """Wait until a change stamped well after ``at`` is committed: the
    service's transactions stamped before it are committed by then."""

    async def later_one() -> bool:
        last = await rt.feed.last_seq()
        newest = await rt.feed.changes_since(last - 1)
        return bool(newest) and newest[-1].at > at + SETTLED

    await eventually(later_one, 30)


async def test_a_replayed_incident_shows_the_screens_seen_live_at_the_same_instants(site):
    shots: list[Shot] = []
    async with site.service(), site.console() as rt:
        start = datetime.now(UTC)
        app = console_app(rt, scope=None, readonly=False, theme=None)
        app.bell = lambda: None
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: showing(app, "overview") and app.screen.table.visible_rows()
                        and all(r.cells[4] == "fresh" for r in app.screen.table.visible_rows()), timeout=30)
            shots.append(await live_shot(pilot, app, rt, "calm", "overview"))

            site.world.faults.inject("host_failure", "raichu")  # customerB's production host
            await open_view(pilot, app, "alerts")
            await until(pilot, lambda: len(app.screen.table.visible_rows()) == 1, timeout=30)
            for view in ("overview", "alerts"):
                shots.append(await live_shot(pilot, app, rt, "alert raised", view))

            async def settle(op: Op) -> None:
                preview = await rt.port.preview("r7r3m108", op)
                op_id = await rt.port.submit(preview, "customerB")

                async def finished() -> bool:
                    return (await rt.queue.get(op_id)).state.terminal

                await eventually(finished, 60)

            await settle(Op.MOVE_UNPLANNED)
            for view in ("overview", "queue", "alerts"):
                shots.append(await live_shot(pilot, app, rt, "moved", view))
            site.world.faults.clear("host_failure", "raichu")  # repaired: customerB's site is cleaned up
            await settle(Op.CLEANUP)
            for view in ("overview", "queue"):
                shots.append(await live_shot(pilot, app, rt, "cleaned up", view))
        end = datetime.now(UTC)

    replay = await ReplaySource.open(site.url, start, end)
    try:
        app = ControlRoomApp(replay, rt.tenants, replay=replay.cursor, shared=replay, arbiter=ReplayArbiter(replay))
        async with app.run_test(size=SIZE) as pilot:
            for shot in shots:
                await app.replay_seek(shot.at)
                await open_view(pilot, app, shot.view)
                assert await read_view(pilot, app) == shot.words, (shot.moment, shot.view)
    finally:
        await replay.stop()
