"""Alerts and operations as the store hands them to the notifier, for the
notice tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ksystui.core.alerts import AlertRecord
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.store.queue_types import QueuedOp

RAISED = datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC)


@dataclass(frozen=True)
class ResolvedAlert(AlertRecord):
    """An alert record as it is once it keeps its resolution (the alert
    lifecycle adds these fields to ``AlertRecord``)."""

    resolved_at: datetime | None = None
    resolved_why: str | None = None


def alert(**changes: Any) -> AlertRecord:
    base = AlertRecord(id=7, identity="nodeA:41@2026-11-30T08:00:00Z", tenant="customerA", node="nodeA",
                       event="HOST_FAILURE", event_id="41", event_time="2026-11-30T08:00:00Z",
                       description="Host r7r3m116 is not responding", resource="r7r3m116",
                       proposal=Op.MOVE_UNPLANNED, raised_at=RAISED, acked_by=None, acked_at=None,
                       ack_reason=None)
    return replace(base, **changes)


def acked(**changes: Any) -> AlertRecord:
    return alert(acked_by="ana@ops/tty1", acked_at=RAISED + timedelta(minutes=3),
                 ack_reason="moving customerA now", **changes)


def resolved(why: str = "host r7r3m116 is back", **changes: Any) -> ResolvedAlert:
    a = acked(**changes)
    return ResolvedAlert(**{**a.__dict__, "resolved_at": RAISED + timedelta(minutes=40), "resolved_why": why})


def operation(op: Op = Op.MOVE_UNPLANNED, state: OpState = OpState.SUCCEEDED, outcome: str | None = "exit 0",
              **changes: Any) -> QueuedOp:
    started = RAISED + timedelta(minutes=5)
    base = QueuedOp(id=12, tenant="customerA", node="nodeA", op=op, argv=("ksysmgr", "move"), site="Austin",
                    to_site="Dallas", recovery_hosts=("uuid-1",), host_names=("r7r3m108",), on_recovery_hosts=False,
                    priority=1, class_rank=0, arrival=1, raised=0, raise_reason=None, state=state, fence=1,
                    holder=None, confirmed=True, pair_id=None, submitted_by="ana@ops/tty1",
                    submitted_at=RAISED + timedelta(minutes=4), admitted_at=started, started_at=started,
                    finished_at=started + timedelta(minutes=20), rc=0 if state is OpState.SUCCEEDED else 1,
                    outcome=outcome, output_tail=None)
    return replace(base, **changes)
