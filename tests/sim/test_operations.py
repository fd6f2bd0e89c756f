"""Long operations on a simulated node: progress, states, the one-at-a-time
lock, and faults — what an operator watching a DR drill sees."""

import asyncio

from ksystui.core.ksysmgr.parse import parse_event, parse_progress, parse_vm


async def vm_states(local, node):
    _, out, _ = await local(node, "query vm")
    return {v.name: v.state for v in parse_vm(out)}


async def test_discover_verify_move_in_the_article_order(local):
    rc, out, _ = await local("r7r3m116", "-t discover site customerA")
    lines, summary = parse_progress(out)
    assert rc == 0 and summary.succeeded == summary.total == 5
    assert all(line.time for line in lines)
    assert set((await vm_states(local, "r7r3m116")).values()) == {"DISCOVERED"}
    rc, out, _ = await local("r7r3m116", "verify site customerA")
    assert rc == 0 and "5 out of 5 VMs have been successfully verified" in out
    assert set((await vm_states(local, "r7r3m116")).values()) == {"READY_TO_MOVE"}
    rc, out, _ = await local("r7r3m116", "move site from=customerA to=service_provider")
    assert rc == 0, out
    _, out, _ = await local("r7r3m116", "query vm")
    vms = parse_vm(out)
    assert {v.state for v in vms} == {"MOVED"} and {v.host for v in vms} == {"snorlax"}
    _, out, _ = await local("r7r3m116", "query site")
    assert "service_provider" in out.split("ACTIVE")[0]  # roles switched


async def test_queries_answer_during_an_operation_and_show_intermediate_states(world, local, memory_io):
    world.speed = 20  # slow enough to look inside
    node = world.nodes["r7r3m116"]
    io = memory_io(["y"])
    task = asyncio.create_task(node.run_ksysmgr("-f move site from=customerA to=service_provider".split(), io))
    seen = set()
    for _ in range(200):
        await asyncio.sleep(0.02)
        seen |= set((await vm_states(local, "r7r3m116")).values())
        if task.done():
            break
    assert await task == 0
    assert "MOVING" in seen and "MOVED" in seen


async def test_a_second_operation_is_refused_while_one_runs(world, local, memory_io):
    world.speed = 20
    node = world.nodes["r7r3m116"]
    first = asyncio.create_task(node.run_ksysmgr("verify site customerA".split(), memory_io()))
    await asyncio.sleep(0.05)
    rc, _, err = await local("r7r3m116", "discover site customerA")
    assert rc == 1 and "Another operation is in progress" in err
    assert await first == 0


async def test_planned_move_needs_ready_to_move(local):
    await local("r7r3m116", "discover site customerA")  # VMs now DISCOVERED, not verified
    rc, _, err = await local("r7r3m116", "move site from=customerA to=service_provider")
    assert rc == 1 and "READY_TO_MOVE" in err
    assert set((await vm_states(local, "r7r3m116")).values()) == {"DISCOVERED"}


async def test_dr_test_asks_and_cleanup_restores(local):
    rc, out, _ = await local("r7r3m116", "move site from=customerA to=service_provider dr_test=yes", answers=["n"])
    assert rc == 1 and "You are initiating a failover rehearsal across sites" in out
    rc, out, _ = await local("r7r3m116", "move site from=customerA to=service_provider dr_test=yes", answers=["y"])
    assert rc == 0 and "Rehearsal VM cA_oradb01_Rehearsal creation has completed" in out
    _, out, _ = await local("r7r3m116", "query vm")
    assert {v.dr_test_state for v in parse_vm(out)} == {"ACTIVE_COMPLETED"}
    assert {v.state for v in parse_vm(out)} == {"READY_TO_MOVE"}  # production untouched
    rc, out, _ = await local("r7r3m116", "cleanup site customerA dr_test=yes")
    assert rc == 0 and "Site dr_test cleanup has completed for Site customerA" in out
    _, out, _ = await local("r7r3m116", "query vm")
    assert {v.dr_test_state for v in parse_vm(out)} == {"DRTESTCLEANUP_COMPLETED"}


async def test_host_failure_then_unplanned_move_then_cleanup(world, local):
    world.faults.inject("host_failure", "pbrazos")
    assert set((await vm_states(local, "r7r3m116")).values()) == {"DOWN"}
    _, out, _ = await local("r7r3m116", "query event type=error")
    assert [e.name for e in parse_event(out)] == ["HOST_FAILURE"]
    rc, _, err = await local("r7r3m116", "move site from=customerA to=service_provider")
    assert rc == 1  # a planned move cannot start from DOWN
    rc, out, _ = await local("r7r3m116", "-f move site from=customerA to=service_provider dr_type=unplanned")
    assert rc == 0, out
    assert "Shutdown on customerA Site has failed for VM cA_oradb01" in out
    assert set((await vm_states(local, "r7r3m116")).values()) == {"MOVED"}
    rc, _, err = await local("r7r3m116", "cleanup site customerA")
    assert rc == 1  # the old production host is still dead
    assert set((await vm_states(local, "r7r3m116")).values()) == {"CLEANUP_FAILED"}
    world.faults.clear("host_failure")


async def test_recovery_host_failure_fails_verification_and_names_the_host(world, local):
    world.faults.inject("host_failure", "snorlax")
    rc, out, _ = await local("r7r3m108", "verify site customerB")
    assert rc == 1 and "host snorlax is not operating" in out
    assert set((await vm_states(local, "r7r3m108")).values()) == {"VERIFY_FAILED"}
    world.faults.clear()
    rc, out, _ = await local("r7r3m108", "verify site customerB")
    assert rc == 0


async def test_replication_broken_blocks_planned_move_until_resynced(world, local):
    world.faults.inject("replication_broken", "r7r3m116")
    _, out, _ = await local("r7r3m116", "query disk_group")
    assert "idling_disconnected" in out
    rc, out, _ = await local("r7r3m116", "-f move site from=customerA to=service_provider")
    assert rc == 1 and "Storage replication reversal has failed" in out
    world.faults.clear()
    _, out, _ = await local("r7r3m116", "query disk_group")
    assert "consistent_synchronized" in out


async def test_hmc_unreachable_fails_discovery_of_its_hosts(world, local):
    world.faults.inject("hmc_unreachable", "vmhmc1")
    rc, out, _ = await local("r7r3m116", "discover site customerA")
    lines, summary = parse_progress(out)
    assert rc == 1 and summary.succeeded == 0
    assert any(line.phase == "failed" and "HMC vmhmc1 is unreachable" in line.message for line in lines)


async def test_powervs_discover_and_workgroup_rehearsal(local):
    rc, out, _ = await local("ksysorch-dal12", "discover site DAL")
    assert rc == 0 and "3 out of 3 managed VMs have been successfully discovered" in out
    rc, out, _ = await local("ksysorch-dal12", "-f move workgroup cC_ibmi01_WG to=WDC dr_test=yes")
    assert rc == 0 and "Workgroup dr_test move completed for Workgroup cC_ibmi01_WG to WDC" in out
    rc, out, _ = await local("ksysorch-dal12", "resync wg cC_ibmi01_WG")
    assert rc == 0 and "Resync has completed for Workgroup cC_ibmi01_WG" in out


async def test_auto_discovery_runs_discover_and_verify(world, local):
    node = world.nodes["r7r3m108"]
    assert await world.run_auto_discovery(node) == 0
    _, out, _ = await local("r7r3m108", "query event")
    names = [e.name for e in parse_event(out)]
    assert names[0] == "AUTO_DISCOVERY_STARTED" and "DAILY_VERIFY_COMPLETE" in names
