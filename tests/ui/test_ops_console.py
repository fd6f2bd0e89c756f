"""Operations right for every tenant, from the console (issue 11): the
PowerVS tenant's DR test, cleanup and planned move are confirmed with what
they claim and run through the arbiter; a failed recovery host is never
proposed as a move target and the alert says who lost DR protection;
recover and resync are console actions."""

from __future__ import annotations

import asyncio

import pytest

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.port import ArbiterPort
from ksystui.core.lifecycle import Op
from ksystui.store.audit_log import current_actor
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from ksystui.ui.operate import ConfirmScreen
from tests.waiting import eventually

from .conftest import Console, MemoryAlerts, local_fleet, screen_text, tenant_infos, until


@pytest.fixture
async def armed(world, tmp_path):
    """The seed fleet read once, a queue in SQLite, a dispatcher (started by
    the tests that run operations) and the arbiter port the console uses."""
    fleet = local_fleet(world, interval=0.2)
    await fleet.refresh_all()
    queue = AsyncQueue(Queue.open(f"sqlite:///{tmp_path}/q.db"))
    actor = current_actor("ops-test")
    dispatcher = Dispatcher(queue, fleet, {n: m.transport for n, m in fleet.monitors.items()}, actor, tick=0.1)
    port = ArbiterPort(queue, fleet, actor, {t.name: t.priority for t in world.tenants.values()}, dispatcher)
    yield fleet, queue, dispatcher, port
    await dispatcher.stop()
    await queue.close()
    await fleet.stop()


def confirming(app) -> bool:
    return isinstance(app.screen, ConfirmScreen)


async def state_of(queue, op_id: int) -> str | None:
    op = await queue.get(op_id)
    return op.state.value if op is not None else None


async def run_confirmed(pilot, app, queue, key: str, op_id: int, words: tuple[str, ...]) -> str:
    """Press ``key`` on the selected row, check the confirmation says
    ``words``, confirm, and wait for the operation's outcome."""
    await pilot.press(key)
    await until(pilot, lambda: confirming(app))
    text = screen_text(app)
    for w in words:
        assert w in text, (w, text)
    await pilot.press("enter")
    await eventually(lambda: state_of(queue, op_id), 10)
    assert not app.noted("not queued"), app.notes
    await eventually(lambda: _finished(queue, op_id), 30)
    return await state_of(queue, op_id) or ""


async def _finished(queue, op_id: int) -> bool:
    return await state_of(queue, op_id) in ("succeeded", "failed", "cancelled", "in_doubt")


async def test_the_powervs_tenant_rehearses_cleans_up_and_moves_through_the_arbiter(world, armed):
    # issue 11: the DR-test confirmation said "needs only its own node … it would start
    # at once", then Enter gave "not queued"
    fleet, queue, dispatcher, port = armed
    app = Console(fleet, tenant_infos(world), start_fleet=False, arbiter=port)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: "customerC" in screen_text(app))
        await pilot.press("down", "down")  # customerC's row
        run = asyncio.create_task(dispatcher.run())
        try:
            assert await run_confirmed(pilot, app, queue, "t", 1, (
                "DR TEST for customerC", "dr_test=yes", "custC-wdc06-dr")) == "succeeded"
            assert "only its own node" not in screen_text(app)
            assert await run_confirmed(pilot, app, queue, "c", 2, (
                "DR TEST CLEANUP for customerC", "cleanup site DAL dr_test=yes")) == "succeeded"
            assert await run_confirmed(pilot, app, queue, "m", 3, (
                "PLANNED MOVE for customerC", "from=DAL to=WDC", "custC-dal12-prod, custC-wdc06-dr")) == "succeeded"
            # moved: `m` now proposes the move home, with the rediscovery it needs first
            await pilot.press("m")
            await until(pilot, lambda: confirming(app))
            text = screen_text(app)
            assert "DISCOVER for customerC" in text and "ksysmgr -t discover site WDC" in text
            assert "step 1 of 2 of the move home to DAL" in text
            await pilot.press("escape")
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
    assert {v.site for v in world.nodes["ksysorch-dal12"].state.managed_vms()} == {"WDC"}
    assert world.collisions.entries() == []


async def test_a_failed_recovery_host_is_not_proposed_and_the_alert_names_who_lost_protection(world, armed):
    # issue 11: when snorlax itself failed, the alert proposed an unplanned move of customerA onto it
    fleet, queue, _, port = armed
    app = Console(fleet, tenant_infos(world), start_fleet=True, arbiter=port, shared=MemoryAlerts(fleet))
    async with app.run_test(size=(160, 45)) as pilot:
        world.faults.inject("host_failure", "snorlax")
        try:
            await until(pilot, lambda: app.noted("No recovery to queue: recovery host snorlax failed"))
        except TimeoutError:
            raise AssertionError(app.notes) from None
        assert app.noted("DR protection lost for customerA, customerB")
        assert not app.noted("Recovery ready")
        await pilot.press("8")
        await until(pilot, lambda: "HOST_FAILURE" in screen_text(app))
        assert "unplanned move" not in screen_text(app)  # the alerts' PROPOSAL column
        await pilot.press("exclamation_mark")  # never a move: the safe first look
        await until(pilot, lambda: confirming(app) or app.noted("cannot plan it"))
        assert "dr_type=unplanned" not in screen_text(app)


async def test_recover_and_resync_are_console_actions(world, armed):
    # issue 11: resync was not offered anywhere; recover only on the command line
    fleet, queue, _, port = armed
    app = Console(fleet, tenant_infos(world), start_fleet=False, arbiter=port)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: "customerA" in screen_text(app))
        for n, (key, label, command) in enumerate((("R", "RECOVER", "ksysmgr -t recover site customerA"),
                                                   ("y", "RESYNC", "ksysmgr -f resync disk_group")), start=1):
            await pilot.press(key)
            await until(pilot, lambda: confirming(app))
            text = screen_text(app)
            assert f"{label} for customerA" in text and command in text
            await pilot.press("enter")
            await eventually(lambda n=n: state_of(queue, n), 10)
            await until(pilot, lambda: not confirming(app))
    assert [o.op for o in await queue.operations()] == [Op.RECOVER, Op.RESYNC]
