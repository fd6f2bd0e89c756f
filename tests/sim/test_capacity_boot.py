"""A recovery host refuses a boot it has no room for, as a contended KSYS
would: the VM fails, the node raises INSUFFICIENT_HOST_CAPACITY, and the
simulator logs it (GET /capacity-failures) — the oracle of the capacity check.

With snorlax at 300 GB either of customerA (280 GB) and customerB (200 GB)
fits, not both: after customerA's move, 20 GB are left."""

from __future__ import annotations

import aiohttp

from ksystui.core.ksysmgr.parse import parse_event, parse_host, parse_vm
from ksystui.sim.runner import SimRunner
from ksystui.sim.scenario import parse_scenario
from ksystui.sim.world import SimWorld
from tests.sim.capacity_scenarios import ONLY_ONE_FITS_GB, seed_text, world_with

A, B, C = "r7r3m116", "r7r3m108", "ksysorch-dal12"
MOVE_A = "-f move site from=customerA to=service_provider"
MOVE_B = "-f move site from=customerB to=service_provider"
# customerB's VMs in boot order, and what is left of snorlax's 300 GB when each boots
B_FAILS = ["cB_db2core", "cB_wasapp01", "cB_wasapp02", "cB_batch01"]  # 96, 32, 32 > 20 GB; 24 > 4 GB
B_FITS = "cB_mqgw01"  # 16 GB of the 20 left


async def run(world: SimWorld, node: str, command: str, io_type) -> tuple[int, str, str]:
    io = io_type()
    rc = await world.nodes[node].run_ksysmgr(command.split(), io)
    return rc, io.stdout, io.stderr


def states(world: SimWorld, node: str) -> dict[str, str]:
    return {v.name: v.state for v in world.nodes[node].state.managed_vms()}


async def test_two_tenants_moved_straight_to_the_nodes_overfill_snorlax_over_ssh():
    """The acceptance's 'same two moves sent straight to the nodes', over SSH,
    with the log read from the admin endpoint."""
    world = world_with(ONLY_ONE_FITS_GB, speed=1000)
    async with SimRunner(world, None) as sim:
        async with sim.connect(A) as conn:
            first = await conn.run(f"ksysmgr {MOVE_A}", timeout=30)
        async with sim.connect(B) as conn:
            second = await conn.run(f"ksysmgr {MOVE_B}", timeout=30)
            vms = {v.name: v for v in parse_vm((await conn.run("ksysmgr query vm", timeout=10)).stdout)}
            events = parse_event((await conn.run("ksysmgr query event", timeout=10)).stdout)
        async with aiohttp.ClientSession(base_url=sim.admin_url) as admin, admin.get("/capacity-failures") as resp:
            failures = await resp.json()
    assert first.exit_status == 0 and second.exit_status == 1
    assert "Boot up on service_provider Site has failed for VM cB_db2core: insufficient capacity on host snorlax: " \
           "needs 96 GB, 6 CPU; 20 GB, 14.5 CPU free" in second.stdout
    assert "1 out of 5 managed VMs have been successfully moved" in second.stdout
    assert {n for n, v in vms.items() if v.state == "MOVED"} == {B_FITS}
    assert all(vms[n].state == "RESTART_FAILED" and vms[n].status == "SHUTOFF" for n in B_FAILS)
    capacity = [e for e in events if e.name == "INSUFFICIENT_HOST_CAPACITY"]
    assert [e.resource for e in capacity] == ["snorlax"] * 4 and capacity[0].type == "error"
    assert [f["vm"] for f in failures] == B_FAILS
    assert failures[0] | {"time": None} == {
        "host": "snorlax", "uuid": "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10", "node": B, "tenant": "customerB",
        "vm": "cB_db2core", "operation": "planned move site from customerB to service_provider",
        "needed": {"memory_gb": 96.0, "cpu": 6.0}, "free": {"memory_gb": 20.0, "cpu": 14.5}, "time": None}
    assert failures[-1]["free"] == {"memory_gb": 4.0, "cpu": 13.5}  # after cB_mqgw01 took 16 GB, 1 CPU


async def test_the_failing_tenant_learns_the_host_not_the_other_tenant(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    await run(world, A, MOVE_A, memory_io)
    _, out, err = await run(world, B, MOVE_B, memory_io)
    assert "snorlax" in out and "customerA" not in out + err and "cA_" not in out + err


async def test_an_unplanned_move_is_refused_the_same_way(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    await run(world, A, MOVE_A, memory_io)
    rc, _, _ = await run(world, B, "-f move site from=customerB to=service_provider dr_type=unplanned", memory_io)
    assert rc == 1 and [f.vm for f in world.capacity_failures.entries()] == B_FAILS
    assert states(world, B) == {n: "RESTART_FAILED" for n in B_FAILS} | {B_FITS: "MOVED"}


async def test_dr_test_clones_take_room_until_their_cleanup(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    rc, out, _ = await run(world, A, "-f move site from=customerA to=service_provider dr_test=yes", memory_io)
    assert rc == 0 and world.capacity_failures.entries() == []
    # customerA's rehearsal clones hold 280 GB of snorlax: customerB's move does not fit
    rc, _, _ = await run(world, B, MOVE_B, memory_io)
    assert rc == 1 and [f.vm for f in world.capacity_failures.entries()] == B_FAILS


async def test_a_dr_test_clone_that_does_not_fit_fails_its_rehearsal(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    await run(world, A, MOVE_A, memory_io)
    rc, out, _ = await run(world, B, "-f move site from=customerB to=service_provider dr_test=yes", memory_io)
    assert rc == 1
    assert "Boot up on service_provider Site has failed for VM cB_db2core_Rehearsal: insufficient capacity on " \
           "host snorlax: needs 96 GB, 6 CPU; 20 GB, 14.5 CPU free" in out
    dr = {v.name: v.dr_test_state for v in world.nodes[B].state.managed_vms()}
    assert dr["cB_db2core"] == "ACTIVE_FAILED" and dr[B_FITS] == "ACTIVE_COMPLETED"
    assert [f.vm for f in world.capacity_failures.entries()] == B_FAILS


async def test_cleaning_up_the_clones_frees_the_host(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    await run(world, A, "-f move site from=customerA to=service_provider dr_test=yes", memory_io)
    assert (await run(world, A, "-f cleanup site customerA dr_test=yes", memory_io))[0] == 0
    assert (await run(world, B, MOVE_B, memory_io))[0] == 0
    assert world.capacity_failures.entries() == []


async def test_a_move_home_frees_the_host(memory_io):
    world = world_with(ONLY_ONE_FITS_GB)
    assert (await run(world, A, MOVE_A, memory_io))[0] == 0
    assert (await run(world, A, "discover site service_provider verify=yes", memory_io))[0] == 0
    assert (await run(world, A, "-f move site from=service_provider to=customerA", memory_io))[0] == 0
    assert {v.host for v in world.nodes[A].state.managed_vms()} == {"pbrazos"}
    assert (await run(world, B, MOVE_B, memory_io))[0] == 0
    assert set(states(world, B).values()) == {"MOVED"} and world.capacity_failures.entries() == []


async def test_both_tenants_fit_on_the_seed_s_snorlax(world, memory_io):
    world.speed = 1000
    assert (await run(world, A, MOVE_A, memory_io))[0] == 0
    assert (await run(world, B, MOVE_B, memory_io))[0] == 0
    assert world.capacity_failures.entries() == []


async def test_an_unsized_host_is_unlimited_as_before(memory_io):
    """A scenario without sizes (every one before issue 14) moves as it did,
    however big the VMs grow on the recovery side."""
    text = seed_text(sizes={"snorlax": None, "dh-wdc06-01": None})
    at = text.index('name = "cB_db2core"')
    world = SimWorld(parse_scenario(text[:at] + "target_flex_mem = 1000\n" + text[at:]), speed=1000)
    _, out, _ = await run(world, A, "query host snorlax", memory_io)
    assert parse_host(out)[0].memory_capacity is None
    assert (await run(world, A, MOVE_A, memory_io))[0] == 0
    assert (await run(world, B, MOVE_B, memory_io))[0] == 0
    assert world.capacity_failures.entries() == []
    assert not any(e.name == "INSUFFICIENT_HOST_CAPACITY" for e in world.nodes[B].state.events)


def _with_fields(text: str, fields: str, *vms: str) -> str:
    for vm in vms:
        at = text.index(f'name = "{vm}"')
        text = text[:at] + fields + "\n" + text[at:]
    return text


async def test_flexible_capacity_sizes_the_vm_on_the_recovery_side(memory_io):
    # customerB boots with a tenth of its memory on snorlax: 20 GB, and both tenants fit in 300 GB
    text = _with_fields(seed_text(ONLY_ONE_FITS_GB), "target_flex_mem = 10",
                        "cB_db2core", "cB_wasapp01", "cB_wasapp02", "cB_mqgw01", "cB_batch01")
    # customerA's database boots with three times its memory: 384 GB, more than snorlax has
    text = _with_fields(text, "target_flex_mem = 300", "cA_oradb01")
    world = SimWorld(parse_scenario(text), speed=1000)
    rc, out, _ = await run(world, A, MOVE_A, memory_io)
    assert rc == 1 and "VM cA_oradb01: insufficient capacity on host snorlax: needs 384 GB, 8 CPU; 300 GB, 32 CPU " \
                       "free" in out
    assert (await run(world, B, MOVE_B, memory_io))[0] == 0  # 152 GB of customerA + 20 GB
    assert [f.vm for f in world.capacity_failures.entries()] == ["cA_oradb01"]


async def test_powervs_backup_holds_take_room_on_the_dedicated_host(memory_io):
    """customerC's shut-off backup VMs hold 4 GB / 0.25 CPU each on
    dh-wdc06-01; sized at 35 GB, the host has 27 GB for cC_aixerp01's 32."""
    text = _with_fields(seed_text(sizes={"dh-wdc06-01": (35, 8)}), "inactive_vm_mem = 4\ninactive_vm_cpu = 0.25",
                        "cC_aixerp01", "cC_ibmi01", "cC_rhelweb01")
    world = SimWorld(parse_scenario(text), speed=1000)
    rc, out, _ = await run(world, C, "move workgroup cC_aixerp01_WG to=WDC", memory_io)
    assert rc == 1
    assert "insufficient capacity on host dh-wdc06-01: needs 32 GB, 2 CPU; 27 GB, 7.5 CPU free" in out
    failure = world.capacity_failures.entries()[0]
    assert (failure.host, failure.tenant, failure.vm) == ("dh-wdc06-01", "customerC", "cC_aixerp01")


async def test_a_powervs_workgroup_that_fits_boots_onto_the_dedicated_host(memory_io):
    text = _with_fields(seed_text(), "inactive_vm_mem = 4\ninactive_vm_cpu = 0.25", "cC_ibmi01", "cC_rhelweb01")
    world = SimWorld(parse_scenario(text), speed=1000)
    _, before, _ = await run(world, C, "query vm", memory_io)
    assert (await run(world, C, "move workgroup cC_aixerp01_WG to=WDC", memory_io))[0] == 0
    assert world.capacity_failures.entries() == []
    # the VM now runs as its backup VM on the dedicated host, and says so
    _, after, _ = await run(world, C, "query vm", memory_io)
    assert {v.name: v.dedicated_host for v in parse_vm(after)} == {
        "cC_aixerp01": "dh-wdc06-01", "cC_ibmi01": None, "cC_rhelweb01": None}
    assert "Dedicated_Host" not in before


async def test_the_admin_index_lists_the_capacity_log(sim: SimRunner):
    async with aiohttp.ClientSession(base_url=sim.admin_url) as admin:
        async with admin.get("/") as resp:
            assert "GET /capacity-failures" in (await resp.json())["routes"]
        async with admin.get("/capacity-failures") as resp:
            assert resp.status == 200 and await resp.json() == []
