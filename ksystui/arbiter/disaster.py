"""The disaster planner's inputs, gathered (``ksystui plan disaster`` and
the console's ``:plan``): every node's latest snapshot, the tenants'
agreements (priority, RTO), the configuration's failure-domain tags, how
long past moves took per operation and node (the queue's history), the
``dr_average_time`` the DR Automation service gives, what each recovery
host holds now, and the operations that hold resources when the disaster
strikes. The pure planner (``core.disaster``) does the rest.

A scoped report (one tenant) is planned over the whole fleet — the other
tenants compete for the same recovery hosts — and then told as that tenant
may see it: its own recoveries, the others anonymous.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ksystui.core import capacity
from ksystui.core.age import format_age
from ksystui.core.disaster import Busy, Recovery, estimate_recovery, plan_disaster
from ksystui.core.disaster_report import DisasterReport
from ksystui.core.failure_domains import FailedNode, resolve_failure
from ksystui.core.lifecycle import UNMANAGED, Op
from ksystui.core.operations import PlanRefused, plan
from ksystui.core.opstate import OpState
from ksystui.core.planning import estimate_seconds
from ksystui.core.rpo import dr_recovery_time
from ksystui.core.snapshot import Freshness, NodeSnapshot
from ksystui.core.tenants import UNKNOWN_PRIORITY, TenantInfo
from ksystui.store.queue_types import QueuedOp

__all__ = ["DisasterReport", "PlanContext", "PlanHistory", "busy_now", "disaster_report", "recovery_of"]

# what a running operation with no past run of its kind is assumed to take in all
UNKNOWN_RUN_SECONDS = 900.0


class PlanHistory(Protocol):
    """What the planner reads of the queue (an ``AsyncQueue`` fits)."""

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]: ...

    async def holding(self) -> list[QueuedOp]: ...


class RecentHistory:
    """The queue's history for a view that plans again every few seconds
    (``:plan``): each node's past durations are read once, and again only
    once the operations holding resources change (a duration is added only
    when an operation ends, which it can do only after it held them); what
    holds resources is read at every plan. At 500 nodes a plan reads
    500–1,000 histories: this is what keeps a re-plan from reading them all
    every time."""

    def __init__(self, queue: PlanHistory):
        self.queue = queue
        self._durations: dict[tuple[str, str, int], list[float]] = {}
        self._holders: frozenset[tuple[int, str]] | None = None

    async def fresh(self) -> RecentHistory:
        """Ready for a plan: what it remembers is dropped first if the
        holders changed since (call it before each plan)."""
        await self.holding()
        return self

    async def holding(self) -> list[QueuedOp]:
        held = await self.queue.holding()
        holders = frozenset((o.id, o.state.value) for o in held)
        if holders != self._holders:
            self._durations.clear()
            self._holders = holders
        return held

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        key = (str(op), node, limit)
        if key not in self._durations:
            self._durations[key] = await self.queue.durations(op, node, limit)
        return list(self._durations[key])


@dataclass(frozen=True)
class PlanContext:
    """What the configuration tells the planner: each tenant's agreement
    (priority, RTO, nodes) and each node's failure-domain tags."""

    tenants: tuple[TenantInfo, ...] = ()
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def tenant(self, name: str) -> TenantInfo | None:
        return next((t for t in self.tenants if t.name == name), None)


def _read(snap: NodeSnapshot) -> bool:
    return bool(snap.sites)


def _claims(snap: NodeSnapshot, demands: Sequence[capacity.Demand]) -> frozenset[str]:
    """What the node's unplanned move would claim at the recovery site: as
    the arbiter plans it (``core.operations.plan``), else the hosts it boots on."""
    try:
        return frozenset(plan(Op.MOVE_UNPLANNED, snap, force=True).recovery_hosts)
    except (PlanRefused, ValueError):
        return frozenset(d.uuid for d in demands)


async def recovery_of(history: PlanHistory, snap: NodeSnapshot, info: TenantInfo | None) -> Recovery:
    """One failed node's recovery (its unplanned move): what it boots where,
    what it claims, and how long it is expected to take (past unplanned
    moves of the node, else planned ones, else the service's DR average)."""
    demands = tuple(capacity.demand(Op.MOVE_UNPLANNED, snap))
    unplanned = await history.durations(Op.MOVE_UNPLANNED, snap.node)
    # planned moves count only where no unplanned one is known: not read otherwise (one query a node less,
    # which a plan over hundreds of nodes feels)
    planned = await history.durations(Op.MOVE_PLANNED, snap.node) if estimate_seconds(unplanned) is None else []
    dr_time = dr_recovery_time(snap)
    vms = sum(1 for v in snap.vms if v.state != UNMANAGED)
    seconds, basis = estimate_recovery(unplanned, planned, None if dr_time is None else dr_time.total_seconds(), vms)
    return Recovery(snap.tenant, snap.node, info.priority if info is not None else UNKNOWN_PRIORITY,
                    info.rto if info is not None else None, demands, _claims(snap, demands), seconds, basis)


async def busy_now(history: PlanHistory, now: datetime, *, in_doubt_holds: bool = False,
                   holding: Sequence[QueuedOp] | None = None) -> list[Busy]:
    """The operations that hold resources when the disaster strikes (running,
    admitted, in doubt), each with the time it is expected to hold them yet
    (its kind's median on its node, less what it has run; none known:
    ``UNKNOWN_RUN_SECONDS`` in all). ``in_doubt_holds``: an operation in
    doubt holds its resources until an operator decides (``inf``), instead
    of as long as its run would have taken. ``holding``: those operations,
    when the caller has just read them (not read again)."""
    out = []
    for o in await history.holding() if holding is None else holding:
        started = o.started_at or o.admitted_at
        elapsed = max(0.0, (now - started).total_seconds()) if started is not None else 0.0
        eta = estimate_seconds(await history.durations(o.op, o.node), default=UNKNOWN_RUN_SECONDS)
        left = max(0.0, (eta or UNKNOWN_RUN_SECONDS) - elapsed)
        if in_doubt_holds and o.state is OpState.IN_DOUBT:
            left = math.inf
        claims = frozenset(o.recovery_hosts) if o.on_recovery_hosts else frozenset()
        out.append(Busy(o.id, o.tenant, o.node, claims, left))
    return out


def _unread_note(n: FailedNode, scope: str | None) -> str:
    if scope is not None and n.tenant != scope:
        return "a node of another tenant fails and was never read: its recovery is not in the plan"
    return f"{n.node} ({n.tenant}) fails and was never read: its recovery is not in the plan"


def _recovery_host_lost(snaps: Iterable[NodeSnapshot], failing: Sequence[str], down: frozenset[str],
                        scope: str | None) -> list[str]:
    """A node the disaster leaves standing whose recovery host it takes (a
    host another tenant moved onto): it is not in the plan, but it has lost
    its way out. Scoped: the reader's own nodes only."""
    out = []
    for snap in sorted(snaps, key=lambda s: (s.tenant, s.node)):
        if snap.node in failing or (scope is not None and snap.tenant != scope):
            continue
        lost = sorted({d.name for d in capacity.demand(Op.MOVE_UNPLANNED, snap) if d.uuid in down})
        if lost:
            names = ", ".join(lost)
            out.append(f"{snap.node} ({snap.tenant}) does not fail, but its recovery host {names} "
                       f"do{'es' if len(lost) == 1 else ''}: it could not recover until {names} "
                       f"{'is' if len(lost) == 1 else 'are'} back")
    return out


async def disaster_report(history: PlanHistory, snapshots: Mapping[str, NodeSnapshot] | Iterable[NodeSnapshot],
                          fail: str | Sequence[str] = (), *, context: PlanContext, scope: str | None = None,
                          now: datetime | None = None) -> DisasterReport:
    """Plan the disaster ``fail`` names (``--fail`` terms; none: every
    production host in scope fails) over every node's snapshot, and report
    it as ``scope`` may read it. Raises ``UnknownFailureDomain`` (a
    ``ValueError``) for a term that names nothing that could fail."""
    now = now or datetime.now(UTC)
    snaps = list(snapshots.values()) if isinstance(snapshots, Mapping) else list(snapshots)
    by_node = {s.node: s for s in snaps}
    failure = resolve_failure(fail, snaps, context.tags, scope=scope)
    notes: list[str] = []
    recoveries: list[Recovery] = []
    for n in failure.nodes:
        snap = by_node[n.node]
        if not _read(snap):
            notes.append(_unread_note(n, scope))
            continue
        recoveries.append(await recovery_of(history, snap, context.tenant(n.tenant)))
        if snap.freshness(now, "vm") is not Freshness.FRESH and (scope is None or n.tenant == scope):
            age = snap.age(now, "vm")
            notes.append(f"{n.node}: its data is {format_age(age.total_seconds()) if age else '?'} old "
                         f"({snap.freshness(now, 'vm')}): planned on it all the same")
    if any(not r.demands for r in recoveries if scope is None or r.tenant == scope):
        unsized = [r.node for r in recoveries if not r.demands and (scope is None or r.tenant == scope)]
        notes.append(f"{', '.join(unsized)}: no VM size is reported (memory_capacity): its capacity is not checked")
    down = failure.down_hosts
    notes += _recovery_host_lost(snaps, failure.node_names, down, scope)
    loads, freed = capacity.abandon_rehearsals(capacity.host_loads(snaps), failure.node_names)
    notes += [f"{node}: its DR test clones ({'; '.join(f'{size.text()} on {host}' for host, size in clones)}) are "
              "taken as cleaned up before it recovers"
              for node, clones in sorted(freed.items()) if scope is None or by_node[node].tenant == scope]
    busy = await busy_now(history, now)
    plan_ = plan_disaster(recoveries, loads, busy, down)
    if scope is not None:
        plan_ = plan_.for_tenant(scope)
        failure = failure.for_tenant(scope)
    return DisasterReport(failure, plan_, now, scope, tuple(dict.fromkeys(notes)))
