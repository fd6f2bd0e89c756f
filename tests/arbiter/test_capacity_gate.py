"""The capacity check before every move and DR test, through the arbiter:
on the seed with snorlax too small for both tenants (300 GB: customerA's
280 GB fits, customerB's 200 GB then does not), the second move is refused
at submit with the numbers, queued only with a written reason (audited),
and re-checked just before it is sent."""

from __future__ import annotations

import json

import pytest

from ksystui.arbiter.service import CapacityRefused, plan_for, submit
from ksystui.core.lifecycle import Op
from tests.sim.capacity_scenarios import ONLY_ONE_FITS_GB, world_with

from .conftest import rig_on
from .test_arbiter import MemoryIO, run_until_settled

SHORT_B = ("snorlax needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of 300 GB, 32 CPU: short 180 GB")


@pytest.fixture
async def small(tmp_path):
    """The seed rig with snorlax at 300 GB / 32 CPU (the simulator's own size)."""
    async with rig_on(world_with(snorlax_memory_gb=ONLY_ONE_FITS_GB, speed=60), tmp_path) as rig:
        yield rig


@pytest.fixture
async def unsized(tmp_path):
    """The seed rig with snorlax's size not reported (as before issue 14)."""
    async with rig_on(world_with(sizes={"snorlax": None}, speed=60), tmp_path) as rig:
        yield rig


async def planned(rig, tenant: str, op: Op):
    return await plan_for(rig.fleet, rig.cfg.tenant(tenant).nodes[0].name, op, confirmed=True)


async def queue_op(rig, tenant: str, op: Op, **kw):
    t = rig.cfg.tenant(tenant)
    return await submit(rig.queue, rig.fleet, await planned(rig, tenant, op), priority=t.priority, actor=rig.actor,
                        confirmed=True, **kw)


async def moved_straight(rig, node: str, tenant: str) -> None:
    """A move sent to the node itself, not through ksystui."""
    p = await planned(rig, tenant, Op.MOVE_PLANNED)
    assert await rig.world.nodes[node].run_ksysmgr(list(p.argv[1:]), MemoryIO()) == 0
    await rig.fleet.refresh_all()


async def test_with_the_first_move_queued_the_second_is_refused_with_the_numbers(small):
    a = await queue_op(small, "customerA", Op.MOVE_PLANNED)
    with pytest.raises(CapacityRefused) as refused:
        await queue_op(small, "customerB", Op.MOVE_PLANNED)
    text = str(refused.value)
    assert text.startswith("not queued: does not fit: " + SHORT_B)
    assert "--over-capacity" in text and "audited" in text
    assert [o.id for o in await small.queue.operations()] == [a.id]  # nothing queued for customerB
    assert await small.queue.export_audit("customerB") == []


async def test_after_the_first_move_ran_the_second_is_still_refused_and_nothing_reaches_its_node(small):
    a = await queue_op(small, "customerA", Op.MOVE_PLANNED)
    (done,) = await run_until_settled(small, [a.id])
    assert done.state == "succeeded"
    await small.fleet.refresh_all()
    with pytest.raises(CapacityRefused, match="short 180 GB"):
        await queue_op(small, "customerB", Op.MOVE_PLANNED)
    assert small.sent("r7r3m108", "move") == 0


async def test_a_written_reason_queues_it_anyway_and_the_audit_keeps_reason_and_numbers(small):
    await queue_op(small, "customerA", Op.MOVE_PLANNED)
    why = "customerB's DB2 runs at half memory on snorlax (CAB-1142)"
    b = await queue_op(small, "customerB", Op.MOVE_PLANNED, capacity_reason=f"  {why} ")
    assert b.capacity_override == why and (await small.queue.get(b.id)).capacity_override == why
    (entry,) = [e for e in await small.queue.export_audit("customerB") if e["action"] == "submit"]
    detail = entry["detail"] if isinstance(entry["detail"], dict) else json.loads(entry["detail"])
    assert detail["capacity_override"] == why
    assert any("DOES NOT FIT, short 180 GB" in line for line in detail["capacity"])
    (line,) = [x for x in await small.port().lines() if x.id == b.id]
    assert f"(queued over capacity: {why})" in line.detail


async def test_a_blank_reason_is_no_reason(small):
    await queue_op(small, "customerA", Op.MOVE_PLANNED)
    with pytest.raises(CapacityRefused):
        await queue_op(small, "customerB", Op.MOVE_PLANNED, capacity_reason="   ")


async def test_the_dispatcher_fails_a_move_that_no_longer_fits_without_sending_it(small):
    b = await queue_op(small, "customerB", Op.MOVE_PLANNED)  # it fits when it is queued
    await moved_straight(small, "r7r3m116", "customerA")  # then customerA fills snorlax behind ksystui's back
    (op,) = await run_until_settled(small, [b.id])
    assert op.state == "failed" and op.outcome.startswith("not sent: does not fit: " + SHORT_B)
    assert small.sent("r7r3m108", "move") == 0
    finish = [e for e in await small.queue.export_audit("customerB") if e["action"] == "finish"]
    assert finish and "does not fit" in json.dumps(finish[-1]["detail"])


async def test_the_dispatcher_honours_a_written_override(small):
    await moved_straight(small, "r7r3m116", "customerA")
    b = await queue_op(small, "customerB", Op.MOVE_PLANNED, capacity_reason="accepted by customerB: CAB-1142")
    (op,) = await run_until_settled(small, [b.id])
    assert not (op.outcome or "").startswith("not sent")
    assert small.sent("r7r3m108", "move") == 1
    # sent as the operator decided: the boots that do not fit fail on the node
    assert {f.tenant for f in small.world.capacity_failures.entries()} == {"customerB"}


async def test_a_dr_test_under_way_counts_its_clones_once(small):
    # customerA's DR test queued: its clones will take 280 GB of snorlax
    await queue_op(small, "customerA", Op.DR_TEST)
    with pytest.raises(CapacityRefused, match="short 180 GB"):
        await queue_op(small, "customerB", Op.DR_TEST)


async def test_a_host_whose_size_nobody_reports_is_not_checked_and_says_so(unsized):
    rig = unsized
    a = await queue_op(rig, "customerA", Op.MOVE_PLANNED)
    port = rig.port()
    preview = await port.preview("r7r3m108", Op.MOVE_PLANNED)
    assert preview.capacity is not None and preview.capacity.fits
    assert "snorlax" in preview.capacity.unchecked
    assert any(line.startswith("snorlax") and "not checked" in line for line in preview.capacity.lines)
    b = await queue_op(rig, "customerB", Op.MOVE_PLANNED)
    assert b.capacity_override is None and a.id < b.id


async def test_verify_and_discover_are_not_capacity_checked(small):
    await queue_op(small, "customerA", Op.MOVE_PLANNED)
    port = small.port()
    assert (await port.preview("r7r3m108", Op.VERIFY)).capacity is None
    await queue_op(small, "customerB", Op.VERIFY)


async def test_the_preview_shows_the_verdict_and_a_scoped_console_sees_no_other_tenant(small):
    await queue_op(small, "customerA", Op.MOVE_PLANNED)
    port = small.port(scope="customerB")
    preview = await port.preview("r7r3m108", Op.MOVE_PLANNED)
    assert preview.over_capacity and preview.capacity.shortfalls[0].short.memory_gb == 180
    shown = " ".join(preview.capacity.lines) + preview.capacity.refusal()
    assert "snorlax" in shown and "customerA" not in shown and "r7r3m116" not in shown
    with pytest.raises(CapacityRefused) as refused:
        await port.submit(preview)
    assert "customerA" not in str(refused.value) and "r7r3m116" not in str(refused.value)
    op_id = await port.submit(preview, capacity_reason="approved by the provider's duty manager")
    assert (await small.queue.get(op_id)).capacity_override == "approved by the provider's duty manager"
