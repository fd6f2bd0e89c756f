"""Failback as a first-class flow (issue 11, deliverable 2, "Failback
escapes the arbiter"): after customerA's move to the provider, `m` proposes
the move home with the discover/verify it needs first, and the move home
claims the recovery host it leaves (snorlax) as well as the home host — so
while customerB verifies on snorlax it waits, and the simulator's collision
log stays empty."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ksystui.arbiter.service import queue_lines
from ksystui.core.lifecycle import Op
from ksystui.core.operations import preconditions
from tests.in_process import InProcessTransport
from tests.waiting import eventually

from .conftest import done, run_to_end

A, B = "r7r3m116", "r7r3m108"


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
    await eventually(lambda: done(queue, move_home), 30)
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
