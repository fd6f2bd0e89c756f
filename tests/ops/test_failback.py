"""Failback as a first-class flow (issue 11, deliverable 2, "Failback
escapes the arbiter"): after customerA's move to the provider, `m` proposes
the move home with the discover/verify it needs first, and the move home
claims the recovery host it leaves (snorlax) as well as the home host — so
while customerB verifies on snorlax it waits, and the simulator's collision
log stays empty."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.port import ArbiterPort
from ksystui.arbiter.service import queue_lines
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.core.operations import preconditions
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.store.audit_log import current_actor
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from tests.in_process import InProcessTransport
from tests.waiting import eventually

A, B = "r7r3m116", "r7r3m108"


@pytest.fixture
async def arbiter(world, tmp_path):
    """The seed fleet (in process), a queue, a running dispatcher, the port."""
    fleet = Fleet()
    for name, node in world.nodes.items():
        fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                              interval=0.2, jitter=0.0))
    await fleet.refresh_all()
    queue = AsyncQueue(Queue.open(f"sqlite:///{tmp_path}/q.db"))
    actor = current_actor("failback-test")
    dispatcher = Dispatcher(queue, fleet, {n: m.transport for n, m in fleet.monitors.items()}, actor, tick=0.05)
    port = ArbiterPort(queue, fleet, actor, {t.name: t.priority for t in world.tenants.values()}, dispatcher)
    run = asyncio.create_task(dispatcher.run())
    yield queue, port
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    await dispatcher.stop()
    await queue.close()
    await fleet.stop()


async def run_to_end(queue, port, node: str, op: Op) -> tuple[int, str | None]:
    """Preview (what the console shows), confirm, wait for the outcome."""
    preview = await port.preview(node, op)
    op_id = await port.submit(preview, preview.planned.tenant)
    await eventually(lambda: _done(queue, op_id), 20)
    done = await queue.get(op_id)
    assert done.state.value == "succeeded", (preview.planned.command, done.outcome)
    return op_id, preview.planned.purpose


async def _done(queue, op_id: int) -> bool:
    op = await queue.get(op_id)
    return op is not None and op.state.terminal


async def test_the_move_home_waits_for_snorlax_while_customer_b_verifies(world, arbiter):
    queue, port = arbiter
    await run_to_end(queue, port, A, Op.MOVE_PLANNED)  # customerA fails over to snorlax
    # `m` on the moved tenant: the move home, with the discover/verify it needs first
    first = await port.preview(A, Op.MOVE_PLANNED)
    assert first.planned.command == "ksysmgr -t discover site service_provider verify=yes"
    assert any("move home to customerA" in h for h in first.holders)
    await run_to_end(queue, port, A, Op.MOVE_PLANNED)
    home = await port.preview(A, Op.MOVE_PLANNED)
    assert home.planned.command == "ksysmgr -f -t move site from=service_provider to=customerA dr_type=planned"
    assert set(home.planned.host_names) == {"pbrazos", "snorlax"}  # today: only pbrazos
    assert preconditions(home.planned.op, port.fleet.snapshots[A], datetime.now(UTC)) == []

    world.speed = 20.0  # customerB's verification takes long enough to be seen running
    verify_b = await port.submit(await port.preview(B, Op.VERIFY))
    await eventually(lambda: _state(queue, verify_b, "running"), 10)
    move_home = await port.submit(home, "customerA")
    lines = {line.id: line for line in await queue_lines(queue)}
    assert lines[move_home].state == "queued" and "held by" in lines[move_home].detail
    assert f"#{verify_b} customerB verify" in lines[move_home].detail
    world.speed = 200.0
    await eventually(lambda: _done(queue, move_home), 30)
    ops = {o.id: o for o in await queue.operations()}
    assert ops[verify_b].state.value == ops[move_home].state.value == "succeeded"
    assert ops[move_home].started_at >= ops[verify_b].finished_at  # serialised on snorlax
    assert world.collisions.entries() == []
    assert {v.host for v in world.nodes[A].state.managed_vms()} == {"pbrazos"}  # home again


async def _state(queue, op_id: int, state: str) -> bool:
    op = await queue.get(op_id)
    return op is not None and op.state.value == state


async def test_unarbitrated_the_move_home_collides_with_customer_b_on_snorlax(world):
    """The oracle: the simulated move home works on snorlax (it shuts the VMs
    down there), so sent beside customerB's verification it collides."""
    a, b = world.nodes[A], world.nodes[B]
    out = InProcessTransport(world, A)
    for argv in (["ksysmgr", "-f", "move", "site", "from=customerA", "to=service_provider"],
                 ["ksysmgr", "discover", "site", "service_provider", "verify=yes"]):
        assert (await out.run(argv)).rc == 0
    world.speed = 20.0
    verify = asyncio.create_task(InProcessTransport(world, B).run(["ksysmgr", "verify", "site", "customerB"],
                                                                  check=False))
    await eventually(lambda: b.current_operation is not None)
    home = await out.run(["ksysmgr", "-f", "move", "site", "from=service_provider", "to=customerA"], check=False)
    await verify
    assert home.rc != 0 and "snorlax" in home.stderr
    assert [c.host for c in world.collisions.entries()] == ["snorlax"]
    assert a.current_operation is None
