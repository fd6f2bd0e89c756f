"""What the other operations in the queue will still add to a recovery host
(``capacity_gate.pending_demands``), read from their nodes' snapshots: only
what is not there yet, so nothing counts twice."""

from __future__ import annotations

from datetime import UTC, datetime

from ksystui.arbiter import capacity_gate
from ksystui.core.capacity import Size
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.store.queue_types import QueuedOp
from tests.core.test_capacity import A_VMS, B_VMS, onprem


def op(op_id: int, node: str, tenant: str, kind: Op, state: OpState = OpState.QUEUED) -> QueuedOp:
    return QueuedOp(id=op_id, tenant=tenant, node=node, op=kind, argv=("ksysmgr",), site=tenant,
                    to_site="service_provider", recovery_hosts=("u-snorlax",), host_names=("snorlax",),
                    on_recovery_hosts=True, priority=1, class_rank=0, arrival=op_id, raised=0, raise_reason=None,
                    state=state, fence=None, holder=None, confirmed=True, pair_id=None, submitted_by="t",
                    submitted_at=datetime(2026, 11, 30, tzinfo=UTC), admitted_at=None, started_at=None,
                    finished_at=None, rc=None, outcome=None, output_tail=None)


def sizes(demands) -> list[tuple[str, str, Size]]:
    return [(d.tenant, d.name, d.size) for d in demands]


def test_a_queued_move_adds_its_vms_and_a_move_done_adds_nothing_more():
    a = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, snorlax_gb=300)
    moved = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, moved=True, snorlax_gb=300)
    move = op(1, "r7r3m116", "customerA", Op.MOVE_PLANNED, OpState.RUNNING)
    assert sizes(capacity_gate.pending_demands([move], {"r7r3m116": a})) == [
        ("customerA", "snorlax", Size(280, 17.5))]
    assert capacity_gate.pending_demands([move], {"r7r3m116": moved}) == []  # on snorlax already: a running share


def test_a_dr_test_under_way_does_not_count_the_clones_already_up_twice():
    up = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, dr_test="ACTIVE", snorlax_gb=300)
    b = onprem("r7r3m108", "customerB", "raichu", B_VMS, snorlax_gb=300)
    test = op(1, "r7r3m116", "customerA", Op.DR_TEST, OpState.RUNNING)
    assert capacity_gate.pending_demands([test], {"r7r3m116": up}) == []
    # the clones count once, as the rehearsal share on snorlax: customerB's 200 GB is 180 GB short
    verdict = capacity_gate.check(Op.MOVE_PLANNED, b, {"r7r3m116": up, "r7r3m108": b}, [test],
                                  to_site="service_provider")
    assert verdict is not None and [s.short for s in verdict.shortfalls] == [Size(180, 0)]


def test_the_operation_checked_verify_and_unread_nodes_add_nothing():
    a = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, snorlax_gb=300)
    ops = [op(1, "r7r3m116", "customerA", Op.MOVE_PLANNED), op(2, "r7r3m116", "customerA", Op.VERIFY),
           op(3, "r9never", "customerD", Op.MOVE_PLANNED)]
    assert capacity_gate.pending_demands(ops, {"r7r3m116": a}, skip=1) == []
    assert capacity_gate.check(Op.VERIFY, a, {"r7r3m116": a}, ops, to_site=None) is None
