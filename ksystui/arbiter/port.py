"""What the console may do with the arbiter. The UI holds one of these and
never touches the queue's database itself. Every write (submit, cancel,
raise, acknowledge) is audited by the store; a read-only console's port
refuses them all, whatever its screen lets through."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ksystui.arbiter.audit_lines import audit_line, chain_status
from ksystui.arbiter.disaster import PlanContext, RecentHistory, disaster_report
from ksystui.arbiter.drills import (
    DRILL_KINDS,
    DRILL_READ,
    DrillReader,
    live_drill,
    named_operation,
    pick,
)
from ksystui.arbiter.history import audit_of_operation, audit_record, output_lines, record_view
from ksystui.arbiter.ports import FleetReader, Waker
from ksystui.arbiter.service import (
    DuplicateSubmit,
    SubmitError,
    capacity_verdict,
    own_numbers_of,
    plan_for,
    queue_lines,
    submit,
    unpaired_rehearsals,
)
from ksystui.core.actor import Actor
from ksystui.core.arbitration import Request, decide, ordered
from ksystui.core.disaster_report import DisasterReport
from ksystui.core.drills import DrillLive, DrillRun
from ksystui.core.lifecycle import Op
from ksystui.core.op_detail import AuditRecordView, OperationDetail, when
from ksystui.core.operations import OP_LABEL, preconditions
from ksystui.core.readouts import AuditLine, Preview, QueueLine
from ksystui.core.tenant_numbers import shown_ref
from ksystui.core.tenants import TenantInfo
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.queue_types import QueuedOp

if TYPE_CHECKING:
    from ksystui.store.feed import AsyncFeed


class ReadOnlyConsole(SubmitError):
    """A write asked of a read-only console's port."""

    def __init__(self) -> None:
        super().__init__("read-only mode: this console changes nothing")


def runs_in_this_process(holder: str | None, console: str) -> bool:
    """Whether an admitted or running operation's holder is this process: this
    console's own dispatcher, or a provider service run inside it (the demo;
    a member id is ``host:pid:boot``, like a console id)."""
    if holder is None:
        return False
    return holder == console or holder.startswith(f"{socket.gethostname()}:{os.getpid()}:")


class ArbiterPort:
    """The console's calls: preview and submit an operation, read the queue
    and the audit trail, cancel or raise a waiting request."""

    def __init__(self, queue: AsyncQueue, fleet: FleetReader, actor: Actor, priorities: Mapping[str, int],
                 dispatcher: Waker | None = None, *, feed: AsyncFeed | None = None, readonly: bool = False,
                 scope: str | None = None, plan_context: PlanContext | None = None):
        self.queue = queue
        # what the planner reads of the configuration (the tenants' agreements and the nodes'
        # failure-domain tags: ``bootstrap.plan_context``); None: the priorities above, no RTO, no tags
        self.plan_context = plan_context
        self._plan_history = RecentHistory(queue)  # `:plan` plans again every few seconds
        self.fleet = fleet
        self.actor = actor
        self.priorities = priorities
        self.dispatcher = dispatcher
        self.feed = feed  # the shared alerts (None: nothing to acknowledge)
        self.readonly = readonly
        self.scope = scope  # a console started for one tenant: whatever it is asked, only that tenant's
        self._drills: DrillReader | None = None

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnlyConsole()

    async def preview(self, node: str, op: Op, *, scope: str | None = None) -> Preview:
        scope = self.scope or scope
        planned = await plan_for(self.fleet, node, op, confirmed=True)
        if scope is not None and planned.tenant != scope:
            raise SubmitError("no such node in this console")
        prio = self.priorities.get(planned.tenant, 99)
        active = await self.queue.holding()
        waiting = await self.queue.waiting()
        me = Request(-1, planned.tenant, node, planned.op, prio, 1 << 62, frozenset(planned.recovery_hosts),
                     on_recovery_hosts=planned.on_recovery_hosts)
        mine = planned.claims
        numbers = await own_numbers_of(self.queue, scope)
        holders = [planned.purpose] if planned.purpose else []
        for o in active:
            shared = mine & o.to_request().claims
            if shared:
                who = f"{shown_ref(o.id, numbers)} {o.tenant} {OP_LABEL[o.op]}" if scope is None or o.tenant == scope \
                    else "another tenant's operation"
                what = ", ".join(sorted(o.host_names)) if any(c.kind == "host" for c in shared) else node
                holders.append(f"{what} held by {who} ({o.state})")
        order = ordered([*(w.to_request() for w in waiting), me])
        position = next(i for i, r in enumerate(order, start=1) if r.id == -1)
        decision = decide([o.to_request() for o in active], order)
        if any(r.id == -1 for r in decision.admit):
            holders.append("nothing blocks it: it would start at once")
        snap = self.fleet.snapshots.get(node)
        warnings = tuple(preconditions(planned.op, snap, datetime.now(UTC))) if snap else ("node not read yet",)
        return Preview(planned, OP_LABEL[planned.op], prio, position, tuple(holders), warnings,
                       planned.op is Op.MOVE_UNPLANNED, capacity=await capacity_verdict(self.queue, self.fleet, planned))

    async def submit(self, preview: Preview, typed: str | None = None, capacity_reason: str | None = None) -> int:
        """Queue what ``preview`` showed. One that does not fit its recovery
        hosts needs ``capacity_reason`` (written, audited); submit checks
        again, on the queue and the nodes as they are now."""
        self._writable()
        if preview.needs_typed_confirmation and typed != preview.planned.tenant:
            raise SubmitError(f"type the tenant's name ({preview.planned.tenant}) to confirm an unplanned move")
        try:
            row = await submit(self.queue, self.fleet, preview.planned, priority=preview.priority, actor=self.actor,
                               confirmed=True, capacity_reason=capacity_reason)
        except DuplicateSubmit as exc:
            if self.scope is None:
                raise
            # a scoped console names its tenant's operations by their own numbers, never the global id
            shown = shown_ref(exc.existing.id, await own_numbers_of(self.queue, self.scope))
            raise SubmitError(str(exc).replace(f"#{exc.existing.id} ", f"{shown} ", 1)) from None
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return row.id

    async def lines(self, scope: str | None = None) -> list[QueueLine]:
        scope = self.scope or scope
        return await queue_lines(self.queue, tenant=scope, own_numbering=scope is not None)

    async def rehearsals_left(self, scope: str | None = None) -> list[str]:
        scope = self.scope or scope
        ops = await self.queue.operations(tenant=scope, kinds=(Op.DR_TEST, Op.DR_TEST_CLEANUP))
        numbers = await own_numbers_of(self.queue, scope)
        return [f"{shown_ref(o.id, numbers)} {o.tenant} DR test on {o.node} succeeded and was never cleaned up"
                for o in unpaired_rehearsals(ops)]

    async def audit(self, scope: str | None, limit: int) -> list[AuditLine]:
        """The newest records, newest first; scoped: that tenant's only, with
        no global place in them (no seq, and the tenant's own operation numbers)."""
        scope = self.scope or scope
        numbers = await own_numbers_of(self.queue, scope)
        return [audit_line(e, numbers) for e in await self.queue.recent_audit(limit, scope)]

    async def running_here(self, scope: str | None = None) -> list[QueueLine]:
        """The operations that run in this process (its dispatcher, or the
        demo's provider service): what quitting this console would leave to
        another dispatcher or to crash recovery. Another tenant's, in a
        scoped console, count without being named ("another tenant's")."""
        scope = self.scope or scope
        here = {o.id for o in await self.queue.active() if runs_in_this_process(o.holder, self.actor.console)}
        if not here:
            return []
        lines = [line for line in await self.lines(scope) if line.id in here]
        hidden = here - {line.id for line in lines}
        lines += [QueueLine(i, "-", "another tenant's", "-", "operation", "running", None, 0, "", "", ref="")
                  for i in sorted(hidden)]
        return lines

    async def operation(self, op_id: int, scope: str | None = None) -> OperationDetail | None:
        """Everything about one operation (Enter on its queue row); None when
        it is not there, or not the scope's tenant's."""
        scope = self.scope or scope
        op = await self.queue.get(op_id)
        if op is None or (scope is not None and op.tenant != scope):
            return None
        engine = self.queue.queue.engine
        numbers = await own_numbers_of(self.queue, scope)
        line = next((line for line in await self.lines(scope) if line.id == op_id), None)
        if line is None:
            line = QueueLine(op.id, ", ".join(op.host_names) or "-", op.tenant, op.node, OP_LABEL[op.op],
                             op.state.value, None, op.priority, op.outcome or "", " ".join(op.argv),
                             ref=shown_ref(op.id, numbers) if numbers is not None else "")
        output = await asyncio.to_thread(output_lines, engine, op_id)
        records = await asyncio.to_thread(audit_of_operation, engine, op_id)
        return OperationDetail(
            line=line, argv=op.argv, site=op.site, to_site=op.to_site, host_names=op.host_names,
            submitted_by=op.submitted_by, submitted_at=when(op.submitted_at), admitted_at=when(op.admitted_at),
            started_at=when(op.started_at), finished_at=when(op.finished_at), rc=op.rc, outcome=op.outcome or "",
            raise_reason=op.raise_reason or "", output=tuple(output),
            audit=tuple(record_view(r, numbers) for r in records))

    def _drill_reader(self) -> DrillReader:
        if self._drills is None:
            self._drills = DrillReader(self.queue.queue.engine)
        return self._drills

    async def drill(self, ref: str = "", scope: str | None = None, *, op_id: int | None = None) -> DrillLive | None:
        """One drill as it runs (``arbiter.drills.live_drill``); None when
        there is none in this console's scope."""
        scope = self.scope or scope
        numbers = await own_numbers_of(self.queue, scope)
        wanted = named_operation(ref, numbers, op_id)
        ops: list[QueuedOp] | None = None  # the scope's newest drills, when read to pick one
        if wanted is None:  # the drill to watch: the newest that runs or waits, else the newest that ran
            ops = await self._drills_of(scope)
            target = pick(ops, "", None)
        else:  # named: any kind (a verify watched live), however old
            target = await self.queue.get(wanted) if wanted > 0 else None
            if target is not None and scope is not None and target.tenant != scope:
                target = None
        if target is None:
            return None
        if ops is None or scope != target.tenant:  # its tenant's past runs, however many others ran since
            ops = await self._drills_of(target.tenant)
        if all(o.id != target.id for o in ops):
            ops = sorted([*ops, target], key=lambda o: o.id)
        return await live_drill(self._drill_reader(), ops, numbers, "", target.id, lambda: self.lines(scope))

    async def _drills_of(self, tenant: str | None) -> list[QueuedOp]:
        """The newest drills (and their cleanups) of ``tenant`` (None: of all)."""
        return await self.queue.operations(tenant=tenant, kinds=DRILL_KINDS, limit=DRILL_READ)

    async def drills(self, scope: str | None = None) -> list[DrillRun]:
        """The drills in scope (DR tests and moves; the newest
        ``drills.HISTORY``), oldest first, each with when its last VM came up
        and, for a DR test, whether it was cleaned up."""
        scope = self.scope or scope
        return await self._drill_reader().runs(await self._drills_of(scope), await own_numbers_of(self.queue, scope))

    async def audit_record(self, seq: int, scope: str | None = None) -> AuditRecordView | None:
        """One audit record whole (Enter on its audit row); a scoped console
        only its tenant's, without global places."""
        scope = self.scope or scope
        row = await asyncio.to_thread(audit_record, self.queue.queue.engine, seq, scope)
        if row is None:
            return None
        return record_view(row, await own_numbers_of(self.queue, scope))

    async def audit_status(self, scope: str | None = None) -> str:
        return chain_status(await self.queue.verify_audit(), scoped=(self.scope or scope) is not None)

    async def cancel(self, op_id: int, reason: str) -> bool:
        self._writable()
        return await self.queue.cancel(op_id, self.actor, reason)

    async def raise_priority(self, op_id: int, reason: str) -> bool:
        self._writable()
        return await self.queue.raise_priority(op_id, self.actor, reason)

    async def acknowledge(self, alert_id: int, reason: str, *, scope: str | None = None) -> bool:
        """Acknowledge a shared alert with a written reason (audited; every
        console shows who); a scoped console only its tenant's alerts."""
        self._writable()
        if self.feed is None:
            raise SubmitError("this console has no alert records to acknowledge")
        if not reason.strip():
            raise SubmitError("a written reason is required")
        return await self.feed.acknowledge(alert_id, self.actor, reason.strip(), tenant=self.scope or scope)

    # --- the disaster planner (`:plan`) ---------------------------------------------------------
    async def plan(self, fail: Sequence[str] = (), scope: str | None = None) -> DisasterReport:
        """If ``fail`` failed now (production hosts, sites, ``KEY=VALUE``
        failure-domain tags; none: every production host in scope): the
        disaster report, planned over every tenant (they compete for the
        same recovery hosts) and told as the scope may see it, as ``ksystui
        plan disaster`` makes it. Raises ``UnknownFailureDomain`` (a
        ValueError) for a name that takes nothing down."""
        context = self.plan_context
        if context is None:
            context = PlanContext(tuple(TenantInfo(t, p, "") for t, p in sorted(self.priorities.items())))
        return await disaster_report(await self._plan_history.fresh(), self.fleet.snapshots, list(fail),
                                     context=context, scope=self.scope or scope)
