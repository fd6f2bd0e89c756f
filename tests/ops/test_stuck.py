"""Stuck states (issue 11): after a failed cleanup (CLEANUP_FAILED)
ksystui refused both cleanup and recover, while the node accepts
`ksysmgr -f cleanup site customerA`. Now the confirmation promises nothing
it would refuse, and the forced cleanup runs through the arbiter."""

from __future__ import annotations

from ksystui.core.lifecycle import Op

from .conftest import run_to_end

A = "r7r3m116"


async def test_a_failed_cleanup_is_run_again_forced_once_the_old_site_is_back(world, arbiter):
    queue, port = arbiter
    world.faults.inject("host_failure", "pbrazos")
    await port.fleet.monitors[A].poll_once()
    await run_to_end(queue, port, A, Op.MOVE_UNPLANNED)  # the disaster move to snorlax
    await run_to_end(queue, port, A, Op.CLEANUP, expect="failed")  # pbrazos still down
    assert {v.state for v in world.nodes[A].state.managed_vms()} == {"CLEANUP_FAILED"}
    world.faults.clear("host_failure", "pbrazos")
    for op in (Op.CLEANUP, Op.RECOVER):
        preview = await port.preview(A, op)
        assert preview.warnings == (), (op, preview.warnings)  # today: "would be refused now"
    op_id, _ = await run_to_end(queue, port, A, Op.CLEANUP)
    assert (await queue.get(op_id)).argv == ("ksysmgr", "-f", "-t", "cleanup", "site", "customerA")
    assert {v.state for v in world.nodes[A].state.managed_vms()} == {"MOVED"}
    assert not any(v.cleanup_pending for v in world.nodes[A].state.managed_vms())
