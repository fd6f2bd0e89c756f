"""The simulator and ksystui's capacity model read the same machines: what
the nodes print (`query host` sizes, VM sizes, where the VMs run) is enough
for ``core.capacity.check`` to refuse exactly the move the simulator would
fail, with the same numbers — so a test of the arbiter's gate on the
simulator means something."""

from __future__ import annotations

from ksystui.core import capacity
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.sim.world import SimWorld
from tests.in_process import InProcessTransport
from tests.sim.capacity_scenarios import ONLY_ONE_FITS_GB, SNORLAX_UUID, world_with

A, B = "r7r3m116", "r7r3m108"


async def snapshots(world: SimWorld):
    fleet = Fleet()
    for name, node in world.nodes.items():
        fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                              interval=60, jitter=0.0))
    await fleet.refresh_all()
    return dict(fleet.snapshots)


async def move(world: SimWorld, node: str, site: str, io) -> int:
    return await world.nodes[node].run_ksysmgr(f"-f move site from={site} to=service_provider".split(), io)


async def test_the_check_refuses_the_move_the_simulator_would_fail_with_its_numbers(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    assert await move(world, A, "customerA", memory_io()) == 0
    snaps = await snapshots(world)
    load = capacity.host_loads(snaps.values())[SNORLAX_UUID]
    assert load.total == capacity.Size(300, 32)
    assert load.by_tenant() == {"customerA": capacity.Size(280, 17.5)}
    verdict = capacity.check(Op.MOVE_PLANNED, snaps[B], snaps.values())
    assert not verdict.fits
    short = verdict.shortfalls[0]
    assert (short.name, short.needed, short.free) == ("snorlax", capacity.Size(200, 12.5), capacity.Size(20, 14.5))
    # the simulator's first refusal names the same free room
    assert await move(world, B, "customerB", memory_io()) == 1
    failure = world.capacity_failures.entries()[0]
    assert failure.free == capacity.Size(20, 14.5)


async def test_on_the_seed_both_tenants_fit_by_both_readings(world, memory_io):
    world.speed = 1000
    assert await move(world, A, "customerA", memory_io()) == 0
    snaps = await snapshots(world)
    assert capacity.check(Op.MOVE_PLANNED, snaps[B], snaps.values()).fits
    assert await move(world, B, "customerB", memory_io()) == 0
    assert world.capacity_failures.entries() == []
    after = capacity.host_loads((await snapshots(world)).values())[SNORLAX_UUID]
    assert after.used == capacity.Size(480, 30) and after.free == capacity.Size(32, 2)


async def test_rehearsal_clones_count_by_both_readings(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    rc = await world.nodes[A].run_ksysmgr("-f move site from=customerA to=service_provider dr_test=yes".split(),
                                          memory_io())
    assert rc == 0
    snaps = await snapshots(world)
    shares = capacity.host_loads(snaps.values())[SNORLAX_UUID].shares
    assert [(s.tenant, s.kind, s.size) for s in shares] == [
        ("customerA", capacity.ShareKind.REHEARSAL, capacity.Size(280, 17.5))]
    assert not capacity.check(Op.MOVE_PLANNED, snaps[B], snaps.values()).fits
    assert await move(world, B, "customerB", memory_io()) == 1
