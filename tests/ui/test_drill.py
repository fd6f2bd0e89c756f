"""The live drill view (issue 13.2, 13.4): on the seed scenario a DR test of
customerA (RTO 30 min), confirmed with "w", opens `:drill`, which shows each
VM's steps as the node prints them, elapsed against the RTO with a bar; a
read-only console on the same database sees the same steps, live; `:drills`
then lists the run's measured RTO and that nobody cleaned it up."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from textual.app import App

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.port import ArbiterPort
from ksystui.core.lifecycle import Op
from ksystui.core.operations import PlannedOp
from ksystui.core.readouts import Preview
from ksystui.sim.flows import STEP
from ksystui.store.audit_log import current_actor
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from ksystui.ui.drill_screen import DrillScreen, DrillsScreen
from ksystui.ui.operate import ConfirmScreen

from .conftest import Console, local_fleet, screen_text, tenant_infos, until

NODE = "r7r3m116"  # customerA's KSYS node
RTO = timedelta(minutes=30)


@pytest.fixture
async def two_consoles_db(world, tmp_path):
    """The seed fleet, a queue in SQLite with a dispatcher, the operating
    console's port and a read-only console's port on the same database."""
    fleet = local_fleet(world)
    await fleet.refresh_all()
    url = f"sqlite:///{tmp_path}/q.db"
    queue = AsyncQueue(Queue.open(url))
    watcher_queue = AsyncQueue(Queue.open(url))
    prio = {t.name: t.priority for t in world.tenants.values()}
    transports = {n: m.transport for n, m in fleet.monitors.items()}
    dispatcher = Dispatcher(queue, fleet, transports, current_actor("drill-test"), tick=0.1)
    port = ArbiterPort(queue, fleet, current_actor("drill-test"), prio, dispatcher)
    watcher = ArbiterPort(watcher_queue, fleet, current_actor("watcher"), prio, readonly=True)
    run = asyncio.create_task(dispatcher.run())
    yield fleet, port, watcher
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    await dispatcher.stop()
    await watcher_queue.close()
    await queue.close()
    await fleet.stop()


class BootGate:
    """Holds customerA's node before the second VM's boot: the first VM is
    up, the second's rehearsal clone waits to boot, the rest have not begun."""

    def __init__(self, world, monkeypatch):
        node = world.nodes[NODE]
        self.release = asyncio.Event()
        self.held = asyncio.Event()
        self.boots = 0
        original = node.pause

        async def pause(seconds: float) -> None:
            if seconds == STEP["boot"]:
                self.boots += 1
                if self.boots == 2:
                    self.held.set()
                    await self.release.wait()
            await original(seconds)

        monkeypatch.setattr(node, "pause", pause)


def agreed(world):
    return [replace(t, rto=RTO) if t.name == "customerA" else t for t in tenant_infos(world)]


def step_cells(app) -> list[tuple[str, ...]]:
    """The drill table's rows as the operator reads them (VM, its state, the step, its state)."""
    return [tuple(str(c) for c in r.cells[:4]) for r in app.screen.table.visible_rows()]


def showing_drill(app) -> bool:
    return isinstance(app.screen, DrillScreen) and app.screen.ready and app.screen.live is not None


async def test_a_dr_test_is_watched_live_by_its_console_and_by_a_read_only_one(world, two_consoles_db, monkeypatch):
    fleet, port, watcher = two_consoles_db
    gate = BootGate(world, monkeypatch)
    vms = [v.name for v in world.nodes[NODE].state.managed_vms()]
    first, second = vms[0], vms[1]
    seen: list[tuple[str, ...]] = []
    try:
        app = Console(fleet, agreed(world), start_fleet=False, arbiter=port)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "customerA" in screen_text(app))
            await pilot.press("t")  # customerA's row is selected first
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "w queues it and watches it live" in screen_text(app)
            await pilot.press("w")
            await until(pilot, lambda: showing_drill(app) and gate.held.is_set()
                        and any(c[0] == f"▶ {second}" and c[2] == "▶ Boot up" for c in step_cells(app)), 30)
            text = screen_text(app)
            assert "DR TEST #1 for customerA on r7r3m116: running" in text
            assert "of RTO 30m" in text and "RTO [" in text  # elapsed against the RTO, with its bar
            assert "no past DR test of customerA to go by" in text
            rows = step_cells(app)
            assert [c[2] for c in rows if c[0] == f"✓ {first}"] == [
                "✓ Rehearsal VM creation", "✓ Volumes clone", "✓ Boot up"]
            assert {c[1] for c in rows if c[0].endswith(first)} == {"up"}
            assert [c[2] for c in rows if c[0].endswith(second)] == [
                "✓ Rehearsal VM creation", "✓ Volumes clone", "▶ Boot up"]
            assert not any(c[0].endswith(vms[2]) for c in rows)  # not reached yet
            seen = rows
        # a read-only console on the same database: the same drill, the same steps
        ro = Console(fleet, agreed(world), start_fleet=False, arbiter=watcher, readonly=True)
        async with ro.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "customerA" in screen_text(ro))
            ro.run_command("drill")  # as `:drill` Enter does (the `:` line has its own tests)
            await until(pilot, lambda: showing_drill(ro) and step_cells(ro) == seen, 15)
            gate.release.set()
            # live: it follows the drill to its end
            await until(pilot, lambda: "succeeded" in screen_text(ro) and "measured RTO" in screen_text(ro), 30)
            rows = step_cells(ro)
            assert {c[0][2:] for c in rows if c[1] != "-"} == set(vms)
            assert all(c[1] == "up" for c in rows if c[1] != "-")
            assert "met the RTO" in screen_text(ro)
            ro.run_command("drills")
            await until(pilot, lambda: isinstance(ro.screen, DrillsScreen) and ro.screen.ready
                        and "never cleaned up" in screen_text(ro))
            [row] = [r.cells for r in ro.screen.table.visible_rows()]
            assert row[0:3] == ("customerA", "#1", "DR test") and row[7:9] == ("30m", "met")
            assert row[-1] == "NO"
            await pilot.press("enter")  # the run, in the drill view again
            await until(pilot, lambda: showing_drill(ro) and ro.screen.live.run.id == 1)
    finally:
        gate.release.set()


class Confirming(App[None]):
    """Only the confirmation, as the console pushes it."""

    def __init__(self, op: Op, typed: bool):
        super().__init__()
        planned = PlannedOp(op, NODE, "customerA", ("ksysmgr", "move", "site"), "customerA", "service_provider",
                            ("uuid",), ("snorlax",))
        self.confirm = ConfirmScreen(Preview(planned, "x", 1, 1, (), (), typed))
        self.result: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.confirm, self.result.append)


@pytest.mark.parametrize("op,typed,keys,result,watch", [
    pytest.param(Op.DR_TEST, False, ("w",), "", True, id="dr-test-w"),
    pytest.param(Op.VERIFY, False, ("w", "enter"), "", False, id="verify-no-watch"),
    pytest.param(Op.MOVE_UNPLANNED, True, (*"customerA w", "enter"), "customerA", True, id="unplanned-typed-w"),
    pytest.param(Op.MOVE_UNPLANNED, True, (*"customerB w", "enter", "escape"), None, False, id="wrong-name"),
])
async def test_the_confirmation_of_a_drill_offers_to_watch_it(op, typed, keys, result, watch):
    app = Confirming(op, typed)
    async with app.run_test(size=(120, 40)) as pilot:
        offered = "watch it live" in screen_text(app) or "watches it live" in screen_text(app)
        assert offered == (op is not Op.VERIFY)
        await pilot.press(*keys)
        await until(pilot, lambda: app.result)
    assert app.result == [result] and app.confirm.and_watch is watch
