"""A replayed console's arbiter: the queue, the audit trail and the
operation details as they stood at the replay's cursor, read-only.

``ReplayArbiter(source)`` implements ``ui.ports.ArbiterClient`` over a
``client.replay_source.ReplaySource``. It builds every line with the same
functions as the live port (``arbiter.service.queue_lines``,
``audit_lines.audit_line``, ``history.record_view``), handed the queue as it
stood then (:class:`QueueAsOf`) and the cursor for "now": a replay shows
the words and ages a live console showed at that instant. Everything that
would change something (preview, submit, cancel, raise, acknowledge) is
refused: a replay changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import Engine

from ksystui.arbiter.audit_lines import audit_line, chain_status
from ksystui.arbiter.disaster import PlanContext, disaster_report
from ksystui.arbiter.drills import DrillReader, live_drill
from ksystui.arbiter.history import record_view
from ksystui.arbiter.service import SubmitError, queue_lines, unpaired_rehearsals
from ksystui.core.arbitration import ordered_by
from ksystui.core.disaster_report import DisasterReport
from ksystui.core.drills import DrillLive, DrillRun
from ksystui.core.lifecycle import Op
from ksystui.core.op_detail import AuditRecordView, OperationDetail, OutputLine, when
from ksystui.core.operations import OP_LABEL
from ksystui.core.opstate import ACTIVE, HOLDING, OpState
from ksystui.core.readouts import AuditLine, Preview, QueueLine
from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.tenant_numbers import own_numbers, shown_ref
from ksystui.core.tenants import TenantInfo
from ksystui.store.audit_log import AuditLog
from ksystui.store.bundle import BundleInfo
from ksystui.store.history_reads import (
    OperationsRecord,
    audit_at,
    audit_of_operation_at,
    audit_record_at,
    output_at,
)
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.queue_types import QueuedOp

__all__ = ["QueueAsOf", "ReplayArbiter", "Replaying"]

REPLAYING = "replaying: this console shows the record and changes nothing"


class Replaying(SubmitError):
    """A change asked of a replayed console."""

    def __init__(self) -> None:
        super().__init__(REPLAYING)


class ReplayRecord(Protocol):
    """What the arbiter reads of a replay source."""

    at: datetime
    engine: Engine
    operations: OperationsRecord
    scope: str | None
    bundle: BundleInfo | None


@dataclass(frozen=True)
class _Alive:
    console_id: str


class QueueAsOf:
    """The queue's read calls (those ``queue_lines`` makes) on the
    operations as they stood at one instant."""

    def __init__(self, ops: Sequence[QueuedOp], at: datetime):
        self.ops = list(ops)
        self.at = at

    async def holding(self) -> list[QueuedOp]:
        return sorted((o for o in self.ops if o.state in HOLDING), key=lambda o: (o.fence or 0, o.id))

    async def active(self) -> list[QueuedOp]:
        return sorted((o for o in self.ops if o.state in ACTIVE), key=lambda o: (o.fence or 0, o.id))

    async def waiting(self) -> list[QueuedOp]:
        return ordered_by([o for o in self.ops if o.state is OpState.QUEUED], QueuedOp.to_request)

    async def operations(self, states: Iterable[OpState | str] | None = None, tenant: str | None = None,
                         limit: int | None = None, *, kinds: Iterable[Op | str] | None = None,
                         finished_since: datetime | None = None) -> list[QueuedOp]:
        wanted = None if states is None else {OpState(s) for s in states}
        ops = None if kinds is None else {Op(k) for k in kinds}
        out = [o for o in self.ops if (wanted is None or o.state in wanted) and (tenant is None or o.tenant == tenant)
               and (ops is None or o.op in ops)
               and (finished_since is None or (o.finished_at is not None and o.finished_at >= finished_since))]
        return out[-limit:] if limit is not None else out

    async def operation_ids(self, tenant: str | None = None) -> list[int]:
        return sorted(o.id for o in self.ops if tenant is None or o.tenant == tenant)

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        runs = sorted((o.finished_at, o.id, (o.finished_at - o.started_at).total_seconds()) for o in self.ops
                       if o.op == Op(op) and o.node == node and o.state is OpState.SUCCEEDED
                       and o.started_at is not None and o.finished_at is not None)
        return [seconds for *_, seconds in runs[-limit:]]

    async def dispatchers(self, alive_within: float) -> list[_Alive]:
        # who held what then was alive then, as far as the record tells
        return [_Alive(o.holder) for o in self.ops if o.holder is not None and o.state in ACTIVE]

    async def get(self, op_id: int) -> QueuedOp | None:
        return next((o for o in self.ops if o.id == op_id), None)


class ReplayArbiter:
    """``ui.ports.ArbiterClient`` at the replay's cursor (read-only)."""

    def __init__(self, source: ReplayRecord, plan_context: PlanContext | None = None):
        self.source = source
        # the configuration's agreements and failure-domain tags (``bootstrap.plan_context``);
        # None: the priorities the recorded operations carried, no RTO
        self.plan_context = plan_context

    def _scope(self, scope: str | None) -> str | None:
        return self.source.scope or scope

    def _queue(self) -> QueueAsOf:
        at = self.source.at
        return QueueAsOf(self.source.operations.at(at), at)

    def _numbers(self, queue: QueueAsOf, scope: str | None) -> dict[int, int] | None:
        return None if scope is None else own_numbers(o.id for o in queue.ops if o.tenant == scope)

    # --- refused --------------------------------------------------------------------------------------
    async def preview(self, node: str, op: Op, *, scope: str | None = None) -> Preview:
        raise Replaying()

    async def submit(self, preview: Preview, typed: str | None = None, capacity_reason: str | None = None) -> int:
        raise Replaying()

    async def cancel(self, op_id: int, reason: str) -> bool:
        raise Replaying()

    async def raise_priority(self, op_id: int, reason: str) -> bool:
        raise Replaying()

    async def acknowledge(self, alert_id: int, reason: str, *, scope: str | None = None) -> bool:
        raise Replaying()

    # --- read as of the cursor ---------------------------------------------------------------------------
    async def lines(self, scope: str | None = None) -> list[QueueLine]:
        scope = self._scope(scope)
        queue = self._queue()
        return await queue_lines(cast(AsyncQueue, queue), tenant=scope, now=queue.at, own_numbering=scope is not None)

    async def rehearsals_left(self, scope: str | None = None) -> list[str]:
        scope = self._scope(scope)
        queue = self._queue()
        ops = await queue.operations(tenant=scope)
        numbers = self._numbers(queue, scope)
        return [f"{shown_ref(o.id, numbers)} {o.tenant} DR test on {o.node} succeeded and was never cleaned up"
                for o in unpaired_rehearsals(ops)]

    async def running_here(self, scope: str | None = None) -> list[QueueLine]:
        return []  # nothing runs in a replay: quitting leaves nothing behind

    async def audit(self, scope: str | None, limit: int) -> list[AuditLine]:
        scope = self._scope(scope)
        numbers = self._numbers(self._queue(), scope)
        entries = await asyncio.to_thread(audit_at, self.source.engine, self.source.at, limit, tenant=scope)
        return [audit_line(e, numbers) for e in entries]

    async def audit_status(self, scope: str | None = None) -> str:
        if self.source.bundle is not None:  # a part of the chain: what its verification said when exported
            return self.source.bundle.audit_status or "hash chain not verifiable in a bundle (a part of the trail)"
        problems = await asyncio.to_thread(AuditLog(self.source.engine).verify)
        return chain_status(problems, scoped=self._scope(scope) is not None)

    async def operation(self, op_id: int, scope: str | None = None) -> OperationDetail | None:
        scope = self._scope(scope)
        queue = self._queue()
        op = await queue.get(op_id)
        if op is None or (scope is not None and op.tenant != scope):
            return None
        numbers = self._numbers(queue, scope)
        line = next((line for line in await self.lines(scope) if line.id == op_id), None)
        if line is None:
            line = QueueLine(op.id, ", ".join(op.host_names) or "-", op.tenant, op.node, OP_LABEL[op.op],
                             op.state.value, None, op.priority, op.outcome or "", " ".join(op.argv),
                             ref=shown_ref(op.id, numbers) if numbers is not None else "")
        engine, at = self.source.engine, self.source.at
        output = await asyncio.to_thread(output_at, engine, op_id, at)
        records = await asyncio.to_thread(audit_of_operation_at, engine, op_id, at)
        return OperationDetail(
            line=line, argv=op.argv, site=op.site, to_site=op.to_site, host_names=op.host_names,
            submitted_by=op.submitted_by, submitted_at=when(op.submitted_at), admitted_at=when(op.admitted_at),
            started_at=when(op.started_at), finished_at=when(op.finished_at), rc=op.rc, outcome=op.outcome or "",
            raise_reason=op.raise_reason or "", output=tuple(OutputLine(when(t), text) for t, text in output),
            audit=tuple(record_view(r, numbers) for r in records))

    async def drill(self, ref: str = "", scope: str | None = None, *, op_id: int | None = None) -> DrillLive | None:
        """The drill as it stood at the cursor: its output written by then."""
        scope = self._scope(scope)
        queue = self._queue()
        ops = await queue.operations(tenant=scope)
        reader = DrillReader(self.source.engine, until=self.source.at)
        return await live_drill(reader, ops, self._numbers(queue, scope), ref, op_id, lambda: self.lines(scope))

    async def drills(self, scope: str | None = None) -> list[DrillRun]:
        """Every drill as it stood at the cursor."""
        scope = self._scope(scope)
        queue = self._queue()
        ops = await queue.operations(tenant=scope)
        return await DrillReader(self.source.engine, until=self.source.at).runs(ops, self._numbers(queue, scope))

    async def audit_record(self, seq: int, scope: str | None = None) -> AuditRecordView | None:
        scope = self._scope(scope)
        row = await asyncio.to_thread(audit_record_at, self.source.engine, seq, self.source.at, tenant=scope)
        if row is None:
            return None
        return record_view(row, self._numbers(self._queue(), scope))

    # --- the disaster planner (`:plan`), at the cursor ------------------------------------------------
    async def plan(self, fail: Sequence[str] = (), scope: str | None = None) -> DisasterReport:
        """The disaster plan as it would have read at the cursor: the nodes'
        snapshots as they stood then, the queue's history and holders then,
        the disaster striking at the cursor's instant. A record without
        snapshots: "not in a replay"."""
        snapshots: Mapping[str, NodeSnapshot] | None = getattr(self.source, "snapshots", None)
        if snapshots is None:
            raise SubmitError("not in a replay: this record holds no node snapshots to plan from")
        queue = self._queue()
        context = self.plan_context
        if context is None:
            priorities: dict[str, int] = {}
            for o in queue.ops:
                priorities[o.tenant] = min(o.priority, priorities.get(o.tenant, o.priority))
            context = PlanContext(tuple(TenantInfo(t, p, "") for t, p in sorted(priorities.items())))
        return await disaster_report(queue, snapshots, list(fail), context=context, scope=self._scope(scope),
                                     now=queue.at)
