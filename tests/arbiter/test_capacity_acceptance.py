"""Issue 14's acceptance, the arbiter's part: on the seed scenario with
snorlax's memory set so that only one tenant fits (300 GB: customerA 280 GB,
customerB 200 GB), through ksystui the second move is refused with the
numbers and the simulator records no capacity failure; the same two moves
sent straight to the nodes leave the simulator's capacity failure.

The simulator (real SSH, its own capacity model) is the oracle: its
``capacity_failures`` log records every boot a host had no room for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ksystui.arbiter.disaster import disaster_report
from ksystui.arbiter.service import CapacityRefused, plan_for, submit
from ksystui.bootstrap import plan_context
from ksystui.core.disaster_report import report_lines
from ksystui.core.lifecycle import Op
from tests.sim.capacity_scenarios import ONLY_ONE_FITS_GB, world_with

from .conftest import Rig, rig_on
from .test_arbiter import MemoryIO, run_until_settled

SHORT_B = "snorlax needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of 300 GB, 32 CPU: short 180 GB"


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[Rig]:
    """The seed served on loopback with snorlax at 300 GB, and ksystui on it."""
    async with rig_on(world_with(snorlax_memory_gb=ONLY_ONE_FITS_GB, speed=60), tmp_path) as rig:
        yield rig


async def recorded_failures(rig: Rig) -> list[dict]:
    """What the simulator records, as its admin endpoint serves it."""
    async with aiohttp.ClientSession(base_url=rig.runner.admin_url) as admin, \
            admin.get("/capacity-failures") as resp:
        assert resp.status == 200
        return await resp.json()


async def planned_move(rig: Rig, tenant: str):
    return await plan_for(rig.fleet, rig.cfg.tenant(tenant).nodes[0].name, Op.MOVE_PLANNED, confirmed=True)


async def through_ksystui(rig: Rig, tenant: str):
    p = await planned_move(rig, tenant)
    return await submit(rig.queue, rig.fleet, p, priority=rig.cfg.tenant(tenant).priority, actor=rig.actor,
                        confirmed=True)


async def test_the_planner_says_which_tenant_does_not_fit_and_by_how_much(small):
    """Before anything moves: if Austin (customerA's and customerB's
    production, the seed's tags) failed now, customerA recovers first by its
    agreement and customerB would not fit snorlax, short 180 GB; scoped to
    customerB, the same verdict and nobody else's name."""
    context = plan_context(small.cfg)
    report = await disaster_report(small.queue, small.fleet.snapshots, ["city=austin"], context=context)
    by_tenant = {o.tenant: o for o in report.plan.outcomes}
    assert list(by_tenant) == ["customerA", "customerB"]
    assert by_tenant["customerA"].fits and not by_tenant["customerB"].fits
    (short,) = by_tenant["customerB"].shortfalls
    assert (short.name, short.short.memory_gb, short.short.cpu) == ("snorlax", 180.0, 0.0)
    text = "\n".join(report_lines(report))
    assert "DOES NOT FIT short 180 GB on snorlax" in text and "snorlax +180 GB" in text  # the what-if that saves it
    mine = await disaster_report(small.queue, small.fleet.snapshots, ["city=austin"], context=context,
                                 scope="customerB")
    told = "\n".join(report_lines(mine))
    assert "DOES NOT FIT short 180 GB on snorlax" in told
    assert not any(word in told for word in ("customerA", "r7r3m116", "pbrazos", "customerC"))


async def test_through_ksystui_the_second_move_is_refused_with_the_numbers_and_no_boot_fails(small):
    first = await through_ksystui(small, "customerA")
    with pytest.raises(CapacityRefused) as queued_behind:  # customerA's move still waits: its demand counts
        await through_ksystui(small, "customerB")
    assert SHORT_B in str(queued_behind.value)
    (done,) = await run_until_settled(small, [first.id])
    assert done.state == "succeeded"
    await small.fleet.refresh_all()
    with pytest.raises(CapacityRefused) as after:  # customerA's VMs now run on snorlax, as its node says
        await through_ksystui(small, "customerB")
    assert f"not queued: does not fit: {SHORT_B}" in str(after.value)
    assert small.sent("r7r3m108", "move") == 0
    assert await recorded_failures(small) == []


async def test_the_same_two_moves_sent_straight_to_the_nodes_leave_the_simulators_capacity_failure(small):
    for node, tenant, ok in (("r7r3m116", "customerA", True), ("r7r3m108", "customerB", False)):
        argv = (await planned_move(small, tenant)).argv[1:]  # the words after ksysmgr, as ksystui plans them
        rc = await small.world.nodes[node].run_ksysmgr(list(argv), MemoryIO())
        assert (rc == 0) is ok, (tenant, rc)
        await small.fleet.refresh_all()
    failures = await recorded_failures(small)
    assert failures and {(f["host"], f["tenant"], f["node"]) for f in failures} == {
        ("snorlax", "customerB", "r7r3m108")}


async def test_a_move_queued_while_it_fitted_is_not_sent_once_the_host_filled_and_no_boot_fails(small):
    b = await through_ksystui(small, "customerB")  # fits: nothing on snorlax, nothing queued
    argv = (await planned_move(small, "customerA")).argv[1:]
    assert await small.world.nodes["r7r3m116"].run_ksysmgr(list(argv), MemoryIO()) == 0  # behind ksystui's back
    (op,) = await run_until_settled(small, [b.id])
    assert op.state == "failed" and op.outcome.startswith(f"not sent: does not fit: {SHORT_B}")
    assert small.sent("r7r3m108", "move") == 0
    assert await recorded_failures(small) == []
