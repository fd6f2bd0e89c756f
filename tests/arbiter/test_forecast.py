"""Every waiting request gets a predicted start (arbiter.forecast): the
queue played forward with what holds the hosts now and how long each kind
of operation took before on its node."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ksystui.arbiter.forecast import expected_seconds, predicted_starts
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.store.queue_types import QueuedOp
from tests.arbiter.test_disaster import running

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SNORLAX = ("u-snorlax",)


def waiting(op_id: int, tenant: str, node: str, op: Op, hosts: tuple[str, ...] = SNORLAX, priority: int = 1,
            ) -> QueuedOp:
    r = running(op_id, tenant, node, op, hosts, NOW)
    return replace(r, state=OpState.QUEUED, admitted_at=None, started_at=None, priority=priority, arrival=op_id)


class Queue:
    def __init__(self, holding: list[QueuedOp], queued: list[QueuedOp], durations: dict[tuple[str, str], list[float]]):
        self._holding, self._waiting, self._durations = holding, queued, durations
        self.reads = 0

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        self.reads += 1
        return self._durations.get((str(op), node), [])

    async def holding(self) -> list[QueuedOp]:
        return self._holding

    async def waiting(self) -> list[QueuedOp]:
        return self._waiting


async def test_a_request_waiting_for_snorlax_is_predicted_to_start_when_the_move_holding_it_ends():
    move = running(1, "customerA", "r7r3m116", Op.MOVE_PLANNED, SNORLAX, NOW - timedelta(minutes=5))
    verify = waiting(2, "customerB", "r7r3m108", Op.VERIFY)
    queue = Queue([move], [verify], {(Op.MOVE_PLANNED.value, "r7r3m116"): [1200.0]})
    starts = await predicted_starts(queue, NOW)
    assert starts == {2: NOW + timedelta(minutes=15)}  # 20 minutes a move, 5 gone


async def test_requests_that_share_nothing_start_at_once():
    move = running(1, "customerA", "r7r3m116", Op.MOVE_PLANNED, SNORLAX, NOW)
    discover = waiting(2, "customerC", "ksysorch-dal12", Op.DISCOVER, hosts=())
    starts = await predicted_starts(Queue([move], [discover], {}), NOW)
    assert starts == {2: NOW}


async def test_behind_an_operation_in_doubt_no_start_can_be_told():
    stuck = replace(running(1, "customerA", "r7r3m116", Op.MOVE_PLANNED, SNORLAX, NOW), state=OpState.IN_DOUBT)
    verify = waiting(2, "customerB", "r7r3m108", Op.VERIFY)
    starts = await predicted_starts(Queue([stuck], [verify], {}), NOW)
    assert starts == {2: None}


async def test_a_long_queue_reads_each_kind_of_history_once():
    ops = [waiting(i, "customerB", "r7r3m108", Op.VERIFY) for i in range(1, 200)]
    queue = Queue([], ops, {})
    seconds = await expected_seconds(queue, ops)
    assert queue.reads == 1 and set(seconds.values()) == {900.0}
    assert await predicted_starts(Queue([], [], {}), NOW) == {}


async def test_on_the_real_queue_what_waits_behind_the_running_move_starts_when_it_is_expected_to_end(queue):
    from ksystui.store.audit_log import current_actor
    from ksystui.store.queue_types import NewOp

    actor = current_actor("test-console")
    argv = ("ksysmgr", "-f", "move", "site")

    async def queued(tenant: str, node: str, op: Op, hosts: tuple[str, ...], priority: int) -> int:
        return (await queue.submit(NewOp(tenant, node, op, argv, recovery_hosts=hosts, priority=priority),
                                   actor)).id

    move = await queued("customerA", "r7r3m116", Op.MOVE_PLANNED, SNORLAX, 1)
    fence = await asyncio.to_thread(queue.queue.admit, move, "console-1", actor)
    await asyncio.to_thread(queue.queue.mark_running, move, fence, actor)
    verify = await queued("customerB", "r7r3m108", Op.VERIFY, SNORLAX, 2)
    discover = await queued("customerC", "ksysorch-dal12", Op.DISCOVER, (), 3)
    now = datetime.now(UTC)
    starts = await predicted_starts(queue, now)
    assert set(starts) == {verify, discover}
    assert starts[discover] == now  # it shares nothing with the move
    # no past move of customerA's node: 15 minutes in all are assumed, a moment of which has run
    assert now + timedelta(minutes=14) < starts[verify] <= now + timedelta(minutes=15)
