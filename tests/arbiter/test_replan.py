"""Planned at dispatch, not frozen at submit; one request per intent;
rehearsals protect their host — against the simulator, as an operator
would notice: what was sent to the node, what the queue and audit say."""

from __future__ import annotations

import pytest

from ksystui.arbiter.service import SubmitError, plan_for, submit
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from tests.arbiter.test_arbiter import MemoryIO, queue_op, run_until_settled
from tests.waiting import eventually

NODE_A, NODE_B = "r7r3m116", "r7r3m108"


async def _settled(rig, op_id: int) -> bool:
    op = await rig.queue.get(op_id)
    return op is not None and op.state.terminal


async def test_a_verify_queued_before_the_same_tenants_move_is_refused_not_sent_with_its_old_command(rig):
    """Issue 11, "Frozen command lines": a verify queued before the same
    tenant's move was sent afterwards with its old argv and failed "exit 4:
    ERROR: verify the active site"."""
    move = await queue_op(rig, "customerA", Op.MOVE_PLANNED)
    verify = await queue_op(rig, "customerA", Op.VERIFY)  # planned while customerA is the active site
    assert verify.argv[-1] == "customerA"
    d = rig.dispatcher()
    assert await d.step() == [move.id]  # the move goes first (its class), the verify waits for the node
    await eventually(lambda: _settled(rig, move.id), timeout=30)
    assert (await rig.queue.get(move.id)).state is OpState.SUCCEEDED
    # the node's own quick discovery at its new active site makes the VMs ready again
    assert await rig.world.nodes[NODE_A].run_ksysmgr(["discover", "site", "service_provider"], MemoryIO()) == 0
    await rig.fleet.refresh_all()

    (op,) = await run_until_settled(rig, [verify.id])
    assert rig.sent(NODE_A, "verify") == 0, "the old command line was sent"
    assert op.state is OpState.FAILED
    assert "refused before sending: it no longer applies" in op.outcome
    assert "site customerA" in op.outcome and "service_provider" in op.outcome
    finish = [e for e in await rig.queue.export_audit("customerA")
              if e["operation"] == verify.id and e["action"] == "finish"]
    assert finish and "no longer applies" in finish[-1]["detail"]["outcome"]  # the refusal is audited


async def test_an_identical_request_is_refused_naming_the_one_queued_unless_a_reason_is_given(rig):
    """Issue 11, "Duplicates": three identical discover requests were all
    accepted (requests 6, 7 and 8)."""
    first = await queue_op(rig, "customerA", Op.DISCOVER)
    planned = await plan_for(rig.fleet, NODE_A, Op.DISCOVER, confirmed=True)
    with pytest.raises(SubmitError, match=rf"#{first.id} discover of customerA") as refused:
        await submit(rig.queue, rig.fleet, planned, priority=1, actor=rig.actor, confirmed=True)
    assert refused.value.existing.id == first.id and "--force" in str(refused.value)
    # the console goes through the same call: its port refuses too, naming the queued one
    port = rig.port()
    with pytest.raises(SubmitError, match=rf"#{first.id}"):
        await port.submit(await port.preview(NODE_A, Op.DISCOVER))
    # another tenant's discover, or another operation of the same tenant, is another intent
    await queue_op(rig, "customerB", Op.DISCOVER)
    # a console scoped to customerB names the queued one by customerB's own numbering, never the global id
    scoped = rig.port(scope="customerB")
    with pytest.raises(SubmitError, match=r"already queued: #1 discover of customerB") as refused_b:
        await scoped.submit(await scoped.preview(NODE_B, Op.DISCOVER))
    assert "#3" not in str(refused_b.value)
    await queue_op(rig, "customerA", Op.VERIFY)
    forced = await submit(rig.queue, rig.fleet, planned, priority=1, actor=rig.actor, confirmed=True,
                          duplicate_reason="SAN zoning changed after the first was queued")
    ops = await rig.queue.operations(tenant="customerA")
    assert [o.op for o in ops] == [Op.DISCOVER, Op.VERIFY, Op.DISCOVER]
    record = next(e for e in await rig.queue.export_audit("customerA")
                  if e["operation"] == forced.id and e["action"] == "submit")
    assert record["detail"]["duplicate_of"] == first.id
    assert record["detail"]["duplicate_reason"] == "SAN zoning changed after the first was queued"
    # once the first has finished, the same request is a new intent again
    await run_until_settled(rig, [o.id for o in ops])
    await queue_op(rig, "customerA", Op.DISCOVER)


async def test_a_planned_move_waits_for_the_tenants_dr_test_cleanup(rig):
    """Issue 16, "A rehearsal overtaken": a planned move was admitted while
    customerB's DR test was still ACTIVE_COMPLETED (not cleaned up); the
    cleanup was then refused."""
    drill = await queue_op(rig, "customerB", Op.DR_TEST)
    (done,) = await run_until_settled(rig, [drill.id])
    assert done.state is OpState.SUCCEEDED
    snap = await rig.fleet.monitors[NODE_B].poll_once()
    assert {v.dr_test_state for v in snap.vms} == {"ACTIVE_COMPLETED"}
    with pytest.raises(SubmitError, match="DR test is not cleaned up.*ACTIVE_COMPLETED.*cleanup"):
        await queue_op(rig, "customerB", Op.MOVE_PLANNED)
    assert rig.sent(NODE_B, "move") == 1  # the drill's own move only: no planned move went out
    cleanup = await queue_op(rig, "customerB", Op.CLEANUP)
    assert cleanup.op is Op.DR_TEST_CLEANUP
    (cleaned,) = await run_until_settled(rig, [cleanup.id])
    assert cleaned.state is OpState.SUCCEEDED, cleaned.outcome  # the cleanup was not stranded
    await rig.fleet.refresh_all()
    move = await queue_op(rig, "customerB", Op.MOVE_PLANNED)  # now the move may go
    (moved,) = await run_until_settled(rig, [move.id])
    assert moved.state is OpState.SUCCEEDED, moved.outcome
