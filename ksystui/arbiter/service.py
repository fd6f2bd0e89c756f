"""Submitting operations and reading the queue: shared by the command line
and the console, so both go through the same arbiter and database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from ksystui.arbiter import capacity_gate
from ksystui.arbiter.forecast import predicted_starts
from ksystui.arbiter.killpoints import maybe_die
from ksystui.arbiter.ports import FleetReader
from ksystui.core.actor import Actor
from ksystui.core.age import format_age
from ksystui.core.arbitration import decide
from ksystui.core.capacity import CapacityVerdict
from ksystui.core.capacity import applies as capacity_applies
from ksystui.core.lifecycle import Op
from ksystui.core.operations import OP_LABEL, PlannedOp, PlanRefused, steps
from ksystui.core.opstate import FINISHED, HOLDING, OpState
from ksystui.core.planning import estimate_seconds
from ksystui.core.readouts import QueueLine
from ksystui.core.replan import rehearsal_blocks
from ksystui.core.snapshot import Freshness
from ksystui.core.tenant_numbers import own_numbers, shown_ref
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.queue_types import DuplicateRequest, NewOp, QueuedOp

RECENT_SECONDS = 3600  # the queue view also lists what finished in the last hour…
RECENT_LIMIT = 10  # …at most this many


DISPATCHER_ALIVE = 30.0  # seconds: a holder's dispatcher not seen for longer is gone


class SubmitError(ValueError):
    pass


class DuplicateSubmit(SubmitError):
    """An identical request is already queued, running or in doubt
    (``existing``); a written reason queues another anyway."""

    def __init__(self, existing: QueuedOp, message: str):
        super().__init__(message)
        self.existing = existing


class CapacityRefused(SubmitError):
    """A move or DR test that does not fit its recovery hosts (``verdict``
    has the numbers), with no written reason to queue it anyway."""

    def __init__(self, verdict: CapacityVerdict):
        super().__init__(capacity_gate.refusal_text(verdict))
        self.verdict = verdict


async def capacity_verdict(queue: AsyncQueue, fleet: FleetReader, planned: PlannedOp) -> CapacityVerdict | None:
    """Whether ``planned`` fits its recovery hosts, with what every node runs
    now and what every other queued, admitted, running or in-doubt operation
    will still add (None: not a move or DR test, or its node was never read)."""
    snap = fleet.snapshots.get(planned.node)
    if snap is None or not capacity_applies(planned.op):
        return None
    others = await queue.operations(states=(OpState.QUEUED, *HOLDING))
    snapshots = await capacity_gate.every_snapshot(queue, fleet)
    return capacity_gate.check(planned.op, snap, snapshots, others, to_site=planned.to_site)


async def plan_for(fleet: FleetReader, node: str, op: Op, *, confirmed: bool, site: str | None = None,
                   to_site: str | None = None, workgroup: str | None = None) -> PlannedOp:
    """Plan on the node's latest state (reading it first when we have none
    fresh): the console's confirmation and ``submit`` both call this, so a
    dialog never promises what submit then refuses. When the intent takes
    more than one operation (a move home needs a discover/verify first:
    ``core.operations.steps``), this is the first, its ``purpose`` saying so."""
    monitor = fleet.monitors.get(node)
    if monitor is None:
        raise SubmitError(f"node {node} is not in the configuration")
    # read the node now: the command names sites, and a move flips them
    snap = await monitor.poll_once()
    if snap.freshness(datetime.now(UTC), "vm") is Freshness.UNKNOWN:
        raise SubmitError(f"node {node} could not be read: {snap.health.last_error or 'no answer'}")
    try:
        return steps(op, snap, force=confirmed, site=site, to_site=to_site, workgroup=workgroup)[0]
    except (PlanRefused, ValueError) as exc:
        raise SubmitError(str(exc)) from None


async def submit(queue: AsyncQueue, fleet: FleetReader, planned: PlannedOp, *, priority: int, actor: Actor,
                 confirmed: bool, pair_id: int | None = None, duplicate_reason: str | None = None,
                 capacity_reason: str | None = None) -> QueuedOp:
    """Queue a planned operation durably, with what the core decided for it
    (its command, and whether it works on the recovery hosts: its claims);
    returns the queued row.

    One request per intent: an identical request already queued, running or
    in doubt refuses it (``DuplicateSubmit``, naming that one) unless
    ``duplicate_reason`` says why another is wanted (audited with it). A
    planned move of a tenant whose DR test is not cleaned up is refused
    (``core.replan.rehearsal_blocks``): it would strand the cleanup.

    A move or DR test must fit its recovery hosts (``capacity_verdict``):
    one that does not is refused with the numbers (``CapacityRefused``)
    unless ``capacity_reason`` says why it must run anyway; the reason is
    kept on the row (the dispatcher honours it) and audited with the verdict."""
    snap = fleet.snapshots.get(planned.node)
    held_back = rehearsal_blocks(planned.op, snap) if snap is not None else None
    if held_back is not None:
        raise SubmitError(f"not queued: {held_back}")
    over = (capacity_reason or "").strip() or None
    verdict = await capacity_verdict(queue, fleet, planned)
    if verdict is not None and not verdict.fits and over is None:
        raise CapacityRefused(verdict)
    if verdict is None or verdict.fits:
        over = None  # nothing to override: no reason is recorded for a request that fits
    if planned.op is Op.DR_TEST_CLEANUP and pair_id is None:
        # a DR test and its cleanup are tracked as a pair
        for prev in reversed(await queue.operations(tenant=planned.tenant, kinds=(Op.DR_TEST,))):
            if prev.node == planned.node and prev.op is Op.DR_TEST:
                pair_id = prev.id
                break
    new = NewOp.planned(planned, priority=priority, confirmed=confirmed, pair_id=pair_id,
                        duplicate_reason=duplicate_reason, capacity_override=over,
                        capacity_lines=verdict.lines if verdict is not None else ())
    try:
        row = await queue.submit(new, actor)
    except DuplicateRequest as exc:
        raise DuplicateSubmit(exc.existing, f"not queued: {exc}; to queue another anyway, give the written "
                                            "reason why (submit --force --reason ...; audited)") from None
    maybe_die("after_submit")
    return row


def _line(o: QueuedOp, state: OpState, position: int | None, detail: str, numbers: Mapping[int, int] | None,
          ) -> QueueLine:
    """One line of the queue for operation ``o`` (its state as plain text)."""
    return QueueLine(o.id, ", ".join(o.host_names) or "-", o.tenant, o.node, OP_LABEL[o.op], state.value,
                     position, o.priority, detail, " ".join(o.argv), ref=shown_ref(o.id, numbers))


async def own_numbers_of(queue: AsyncQueue, tenant: str | None) -> dict[int, int] | None:
    """A scoped reader's numbering of its tenant's operations (None: unscoped,
    global ids are shown)."""
    if tenant is None:
        return None
    return own_numbers(await queue.operation_ids(tenant))


def _fmt(seconds: float | None) -> str:
    return format_age(seconds, missing="?")


class _Explainer:
    """Why each waiting request waits, in words: which of its claims is held
    (by whom, in what state, since when) or reserved by a request ahead —
    another tenant's operation named only as one, to a scoped reader."""

    def __init__(self, active: list[QueuedOp], waiting: list[QueuedOp], *, tenant: str | None,
                 numbers: Mapping[int, int] | None, now: datetime, alive: set[str]):
        self.tenant, self.numbers, self.now, self.alive = tenant, numbers, now, alive
        decision = decide([o.to_request() for o in active], [o.to_request() for o in waiting])
        self.blocked = {b.request: b for b in decision.blocked}
        self.owners = {o.id: o for o in [*active, *waiting]}
        self.waiting_ids = {o.id for o in waiting}

    def who(self, op_id: int) -> str:
        o = self.owners.get(op_id)
        if o is None:
            return f"#{op_id}"
        if self.tenant is not None and o.tenant != self.tenant:
            return "another tenant's operation"
        return f"{shown_ref(o.id, self.numbers)} {o.tenant} {OP_LABEL[o.op]}"

    def holder(self, op_id: int) -> str:
        """Who holds it, in what state, since when (another tenant's: nothing more than that it is one)."""
        o = self.owners.get(op_id)
        if o is None or (self.tenant is not None and o.tenant != self.tenant):
            return self.who(op_id)
        return f"{self.who(op_id)} ({holder_state(o, self.now, self.alive)})"

    def reason(self, o: QueuedOp) -> str:
        b = self.blocked.get(o.id)
        if b is None:
            reason = "about to be admitted"
        else:
            # a claim "held" by a request that is itself still waiting is one this very
            # decision admits: say it is about to be taken, not that it is held
            parts = [f"{c.kind} held by {self.holder(i)}" if i not in self.waiting_ids else
                     f"{c.kind} about to be taken by {self.who(i)}" for c, i in b.held_by]
            parts += [f"{c.kind} reserved by {self.who(i)} ahead in the order" for c, i in b.reserved_by]
            reason = "waits: " + "; ".join(parts)
        if o.raised:
            reason += f" (raised: {o.raise_reason})"
        if o.capacity_override:
            reason += f" (queued over capacity: {o.capacity_override})"
        return reason


async def _alive(queue: AsyncQueue, active: list[QueuedOp]) -> set[str]:
    return {d.console_id for d in await queue.dispatchers(alive_within=DISPATCHER_ALIVE)} if active else set()


async def waiting_reason(queue: AsyncQueue, op_id: int, *, tenant: str | None = None) -> str | None:
    """Why queued operation ``op_id`` waits (the queue view's words), or None
    when it is not queued: for ``submit --wait``, without the rest of the view."""
    active = await queue.holding()
    waiting = await queue.waiting()
    mine = next((o for o in waiting if o.id == op_id), None)
    if mine is None:
        return None
    explain = _Explainer(active, waiting, tenant=tenant, numbers=None, now=datetime.now(UTC),
                         alive=await _alive(queue, active))
    return explain.reason(mine)


async def queue_lines(queue: AsyncQueue, *, tenant: str | None = None, now: datetime | None = None,
                      own_numbering: bool = False) -> list[QueueLine]:
    """Running operations with elapsed time and ETA, waiting ones with their
    position and the reason they wait (who holds what they need, in what
    state, since when) — scoped to a tenant when asked (another tenant's
    operation then shows only as 'another tenant'). ``own_numbering`` (a
    scoped console): the tenant's operations are named by its own numbers,
    not by the global ids the provider's commands take."""
    now = now or datetime.now(UTC)
    numbers = await own_numbers_of(queue, tenant) if own_numbering else None
    active = await queue.holding()  # running, admitted, and in_doubt (they keep their hosts)
    waiting = await queue.waiting()
    explain = _Explainer(active, waiting, tenant=tenant, numbers=numbers, now=now, alive=await _alive(queue, active))
    lines: list[QueueLine] = []
    for o in active:
        if tenant is not None and o.tenant != tenant:
            continue
        started = o.started_at or o.admitted_at
        elapsed = (now - started).total_seconds() if started else None
        eta = estimate_seconds(await queue.durations(o.op, o.node))
        left = None if eta is None or elapsed is None else max(0.0, eta - elapsed)
        detail = f"running {_fmt(elapsed)}, ETA {_fmt(left) if left is not None else 'unknown (no past runs)'}"
        if o.state is OpState.ADMITTED:
            detail = "admitted, starting"
        elif o.state is OpState.IN_DOUBT:
            how = "the provider's operator decides" if numbers is not None else \
                f"an operator decides (ksystui resolve {o.id} succeeded|failed --reason …)"
            detail = f"IN DOUBT, keeps its hosts until {how}: {o.outcome or ''}"
        lines.append(_line(o, o.state, None, detail, numbers))
    starts = await predicted_starts(queue, now, holding=active, waiting=waiting) if waiting else {}
    for position, o in enumerate(waiting, start=1):
        if tenant is not None and o.tenant != tenant:
            continue
        lines.append(_line(o, OpState.QUEUED, position, explain.reason(o) + _predicted(starts.get(o.id), now),
                           numbers))
    # the last outcomes, so a finished drill does not just vanish from the screen
    since = now - timedelta(seconds=RECENT_SECONDS)
    recent = [(o, o.finished_at) for o in await queue.operations(states=FINISHED, tenant=tenant, finished_since=since)
              if o.finished_at and (now - o.finished_at).total_seconds() < RECENT_SECONDS]
    for o, finished_at in sorted(recent, key=lambda pair: pair[1], reverse=True)[:RECENT_LIMIT]:
        took = (finished_at - o.started_at).total_seconds() if o.started_at else None
        detail = f"{o.state} {_fmt((now - finished_at).total_seconds())} ago" + (
            f" after {_fmt(took)}" if took is not None else "") + (f": {o.outcome}" if o.outcome else "")
        lines.append(_line(o, o.state, None, detail, numbers))
    return lines


def _predicted(start: datetime | None, now: datetime) -> str:
    """A waiting request's predicted start, played forward by the planner's
    model (``arbiter.forecast``): every waiting request gets one."""
    if start is None:
        return "; start not predictable (behind an operation in doubt)"
    left = (start - now).total_seconds()
    return "; predicted start now" if left < 1 else f"; predicted start {start:%H:%M:%S} (in {_fmt(left)})"


def holder_state(o: QueuedOp, now: datetime, alive: set[str]) -> str:
    """``running since 12:01:05 (4m05s)``; ``in_doubt since …``; with a word
    when the console that holds it is gone (the node must answer, or an
    operator decide)."""
    since = {OpState.RUNNING: o.started_at, OpState.ADMITTED: o.admitted_at,
             OpState.IN_DOUBT: o.finished_at or o.started_at}.get(o.state) or o.admitted_at or o.submitted_at
    text = f"{o.state} since {since:%H:%M:%S} ({_fmt((now - since).total_seconds())})"
    if o.state is OpState.IN_DOUBT:
        return text + ": judged again when its node answers, or an operator decides"
    if o.holder is not None and o.holder not in alive:
        return text + f"; its dispatcher {o.holder} is gone: judged from node {o.node} when it answers"
    return text


def unpaired_rehearsals(ops: Sequence[QueuedOp]) -> list[QueuedOp]:
    """DR tests that succeeded and were never cleaned up: the rehearsal VMs
    are still using the recovery host."""
    cleaned = {o.pair_id for o in ops
               if o.op is Op.DR_TEST_CLEANUP and o.state not in (OpState.FAILED, OpState.CANCELLED)}
    return [o for o in ops if o.op is Op.DR_TEST and o.state is OpState.SUCCEEDED and o.id not in cleaned]
