"""The arbiter's acceptance, in process: serialised verification on the
shared host, agreement order for unplanned moves, parallel discovery,
preconditions, progress and the audit trail."""

from __future__ import annotations

import asyncio

from ksystui.arbiter.service import plan_for, submit
from ksystui.core.lifecycle import Op


class MemoryIO:
    def __init__(self):
        self.out = []

    async def write(self, text):
        self.out.append(text)

    async def write_err(self, text):
        self.out.append(text)

    async def readline(self):
        return None


async def queue_op(rig, tenant: str, op: Op):
    t = rig.cfg.tenant(tenant)
    planned = await plan_for(rig.fleet, t.nodes[0].name, op, confirmed=True)
    return await submit(rig.queue, rig.fleet, planned, priority=t.priority, actor=rig.actor, confirmed=True)


async def run_until_settled(rig, ids, timeout=40.0):
    d = rig.dispatcher()
    task = asyncio.create_task(d.run())
    try:
        async with asyncio.timeout(timeout):
            while True:
                ops = [await rig.queue.get(i) for i in ids]
                if all(o.state in ("succeeded", "failed", "cancelled", "in_doubt") for o in ops):
                    return ops
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await d.stop()


async def test_verify_at_the_same_moment_runs_one_after_the_other(rig):
    a = await queue_op(rig, "customerA", Op.VERIFY)
    b = await queue_op(rig, "customerB", Op.VERIFY)
    ops = await run_until_settled(rig, [a.id, b.id])
    assert [o.state for o in ops] == ["succeeded", "succeeded"]
    first, second = sorted(ops, key=lambda o: o.started_at)
    assert first.finished_at <= second.started_at  # never together on snorlax
    assert rig.world.collisions.entries() == []


async def test_without_the_arbiter_the_same_two_verifies_collide(rig):
    rcs = await asyncio.gather(
        rig.world.nodes["r7r3m116"].run_ksysmgr(["verify", "site", "customerA"], MemoryIO()),
        rig.world.nodes["r7r3m108"].run_ksysmgr(["verify", "site", "customerB"], MemoryIO()),
    )
    assert sorted(rcs) == [0, 1] and len(rig.world.collisions.entries()) == 1


async def test_unplanned_moves_go_by_agreement_and_discovery_runs_in_parallel(rig):
    b = await queue_op(rig, "customerB", Op.MOVE_UNPLANNED)  # submitted first, priority 2
    a = await queue_op(rig, "customerA", Op.MOVE_UNPLANNED)  # priority 1: moves first
    ops = await run_until_settled(rig, [a.id, b.id])
    ra, rb = ops
    assert ra.state == "succeeded" and rb.state == "succeeded"
    assert ra.started_at < rb.started_at and ra.finished_at <= rb.started_at
    assert rig.world.collisions.entries() == []
    da = await queue_op(rig, "customerA", Op.DISCOVER)
    db = await queue_op(rig, "customerB", Op.DISCOVER)
    ops = await run_until_settled(rig, [da.id, db.id])
    x, y = ops
    assert x.state == y.state == "succeeded", (x.outcome, y.outcome)
    assert x.started_at < y.finished_at and y.started_at < x.finished_at  # they overlapped


async def test_a_planned_move_is_refused_before_sending_when_vms_are_not_ready(rig):
    rig.world.nodes["r7r3m116"].state.vms["cA_oradb01"].set_state("VERIFY_FAILED")
    await rig.fleet.refresh_all()
    m = await queue_op(rig, "customerA", Op.MOVE_PLANNED)
    (op,) = await run_until_settled(rig, [m.id])
    assert op.state == "failed" and "refused before sending" in op.outcome and "READY_TO_MOVE" in op.outcome
    assert rig.sent("r7r3m116", "move") == 0


async def test_progress_is_recorded_and_the_node_refreshed(rig):
    m = await queue_op(rig, "customerA", Op.MOVE_PLANNED)
    (op,) = await run_until_settled(rig, [m.id])
    assert op.state == "succeeded" and op.rc == 0
    lines = await rig.queue.progress(m.id)
    assert any("Site move started for customerA to service_provider" in line for line in lines)
    assert any("5 out of 5 managed VMs have been successfully moved" in line for line in lines)
    snap = await rig.fleet.monitors["r7r3m116"].poll_once()  # a poll that starts after the move ended
    assert {v.state for v in snap.vms} == {"MOVED"}
    assert "-f" in op.argv  # confirmed by the operator, so the node's prompts are skipped


async def test_every_transition_is_audited_with_who(rig):
    v = await queue_op(rig, "customerA", Op.VERIFY)
    await run_until_settled(rig, [v.id])
    entries = await rig.queue.export_audit("customerA")
    actions = [e["action"] for e in entries]
    for a in ("submit", "admit", "start", "finish"):
        assert a in actions
    assert all(e["actor"] for e in entries) and await rig.queue.verify_audit() == []
    assert await rig.queue.export_audit("customerB") == []


async def test_cancel_and_raise(rig):
    a = await queue_op(rig, "customerA", Op.VERIFY)
    b = await queue_op(rig, "customerB", Op.VERIFY)
    assert await rig.queue.raise_priority(b.id, rig.actor, "customerB's auditor is on site today")
    c = await queue_op(rig, "customerA", Op.DISCOVER)
    assert await rig.queue.cancel(c.id, rig.actor, "not needed")
    ops = await run_until_settled(rig, [a.id, b.id, c.id])
    ra, rb, rc = ops
    assert rc.state == "cancelled" and rb.started_at < ra.started_at  # raised first
    assert rig.sent("r7r3m116", "discover") == 0


async def test_the_port_previews_exactly_what_will_run(rig):
    d = rig.dispatcher()
    port = rig.port(d)
    a = await queue_op(rig, "customerA", Op.VERIFY)
    await rig.queue.admit(a.id, "other-console", rig.actor)
    p = await port.preview("r7r3m108", Op.MOVE_UNPLANNED)
    assert p.planned.command == ("ksysmgr -f -t move site from=customerB to=service_provider dr_type=unplanned")
    assert "snorlax" in p.planned.host_names and p.needs_typed_confirmation  # (and the home host, after a failback)
    assert any("snorlax held by" in h and "customerA" in h for h in p.holders)
    scoped = await port.preview("r7r3m108", Op.MOVE_UNPLANNED, scope="customerB")
    assert all("customerA" not in h for h in scoped.holders)
    assert any("another tenant" in h for h in scoped.holders)
    import pytest

    from ksystui.arbiter.service import SubmitError

    with pytest.raises(SubmitError, match="type the tenant"):
        await port.submit(p, "customerA")
    op_id = await port.submit(p, "customerB")
    assert (await rig.queue.get(op_id)).state == "queued"


async def test_the_queue_lists_recent_outcomes_too(rig):
    from ksystui.arbiter.service import queue_lines

    v = await queue_op(rig, "customerA", Op.VERIFY)
    await run_until_settled(rig, [v.id])
    (line,) = await queue_lines(rig.queue)
    assert line.id == v.id and line.state == "succeeded" and "ago" in line.detail and "exit 0" in line.detail
    assert await queue_lines(rig.queue, tenant="customerB") == []
