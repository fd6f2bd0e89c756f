"""The disaster planner (pure): if these production hosts fail now, in what
order does every tenant recover, when does each start and finish against its
RTO, and can the shared recovery hosts hold everyone?

It plays the arbitration rules forward (``core.queue_forecast``, the
closed form of ``core.arbitration``'s admissions): every failed node's
unplanned move is queued at the same moment, in the arbiter's order (class,
agreement priority, arrival), with the claims and the duration observed for
it (``estimate_recovery``); operations already running hold their claims
until they are done.

Capacity follows the same order: a recovery that does not fit a recovery
host, after everyone ahead of it took their share, would be refused by
ksystui (``capacity.check``): it does not run, holds nothing and delays no
one, and its outcome says by how much it is short.

A host the disaster takes may be another tenant's recovery host (a tenant
that moved onto a shared host runs its production there): a recovery that
needs it cannot run ("NO RECOVERY HOST"), and no what-if enlarges it.

What-ifs: the same disaster with another agreement order (earliest RTO
deadline first) and with each short host made big enough for everyone.

A view scoped to one tenant (``DisasterPlan.for_tenant``) keeps every other
tenant's place in the order and when it holds the hosts, under no name, and
without its RTO, its numbers or how its duration was estimated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from ksystui.core.age import format_age
from ksystui.core.arbitration import Claim, Request, ordered
from ksystui.core.capacity import (
    DOES_NOT_FIT,
    ZERO,
    Demand,
    HostLoad,
    Shortfall,
    Size,
    figure,
    total,
)
from ksystui.core.lifecycle import Op
from ksystui.core.planning import estimate_seconds
from ksystui.core.queue_forecast import NEVER, Busy, play, predicted_starts, release_times

__all__ = ["ANOTHER_TENANT", "ASSUMED_RECOVERY_S", "NO_RECOVERY_HOST", "Busy", "DisasterPlan", "HostNeed", "Outcome",
           "Recovery", "WhatIf", "estimate_recovery", "plan_disaster", "predicted_starts"]

ANOTHER_TENANT = "another tenant"  # every other tenant, in a plan scoped to one
MEETS = "meets"  # a recovery back within its RTO
NO_RECOVERY_HOST = "NO RECOVERY HOST"  # a recovery whose recovery host fails in the same disaster
# a node never seen moving, with no DR average from the service: a guess, said so
ASSUMED_RECOVERY_S = 900.0


def estimate_recovery(unplanned: Sequence[float], planned: Sequence[float], dr_time_s: float | None,
                      vm_count: int) -> tuple[float, str]:
    """How long a node's unplanned move will take, and why we think so:
    the median of its last unplanned moves; else of its planned moves (the
    same VMs booted on the same hosts); else the node's DR time by the
    service's per-VM ``dr_average_time`` figures (``core.rpo.dr_recovery_time``:
    one VM after another, INFERRED), said as the mean per VM times its VMs;
    else ``ASSUMED_RECOVERY_S``."""
    for runs, what in ((unplanned, "unplanned"), (planned, "planned")):
        seconds = estimate_seconds(runs)
        if seconds is not None:
            used = len([d for d in runs[-10:] if d > 0])
            return seconds, f"median of {used} past {what} move{'s' if used != 1 else ''}"
    if dr_time_s is not None and dr_time_s > 0:
        vms = max(1, vm_count)
        return dr_time_s, f"DR average {format_age(dr_time_s / vms)} x {vms} VM{'s' if vms != 1 else ''}"
    return ASSUMED_RECOVERY_S, f"no past run: {format_age(ASSUMED_RECOVERY_S)} assumed"


@dataclass(frozen=True)
class Recovery:
    """One node's recovery after the disaster (an unplanned move)."""

    tenant: str
    node: str
    priority: int  # the tenant's agreement priority: 1 is served first
    rto: timedelta | None
    demands: tuple[Demand, ...]  # capacity.demand(Op.MOVE_UNPLANNED, snap)
    claims: frozenset[str]  # recovery resources it claims (CEC UUIDs / workspace:...)
    seconds: float  # estimated duration
    basis: str  # how ``seconds`` was estimated


@dataclass(frozen=True)
class Outcome:
    tenant: str
    node: str
    position: int  # 1-based place in the arbiter's order
    start_s: float | None  # seconds after the disaster; None: it does not run
    finish_s: float | None
    rto: timedelta | None
    breach_s: float | None  # finish - rto when late
    fits: bool
    shortfalls: tuple[Shortfall, ...]
    basis: str
    lost_hosts: tuple[str, ...] = ()  # its recovery hosts that fail too (by name): it cannot run

    @property
    def verdict(self) -> str:
        """``meets`` / ``BREACH by 12m00s`` / ``DOES NOT FIT short 180 GB on snorlax``
        / ``NO RECOVERY HOST: snorlax fails too``."""
        if self.lost_hosts:
            return f"{NO_RECOVERY_HOST}: {', '.join(self.lost_hosts)} fail{'s' if len(self.lost_hosts) == 1 else ''} too"
        if not self.fits:
            if not self.shortfalls:
                return DOES_NOT_FIT
            return f"{DOES_NOT_FIT} short " + "; ".join(f"{s.short.short_text()} on {s.name}" for s in self.shortfalls)
        if self.tenant == ANOTHER_TENANT:
            return "recovers"
        if self.finish_s is None:
            return "finish unknown"
        if self.rto is None:
            return "no RTO agreed"
        if self.breach_s is not None:
            return f"BREACH by {format_age(self.breach_s)}"
        return MEETS


@dataclass(frozen=True)
class HostNeed:
    """A recovery host against everyone who would move onto it."""

    uuid: str
    name: str
    total: Size | None  # None: its size is not reported (not checked)
    before: Size  # what runs on it when the disaster starts
    needed: Size  # what every recovery would add
    fits: bool
    short: Size  # what it lacks for everyone to fit (ZERO when they do)
    down: bool = False  # it fails in this disaster: no recovery goes there


@dataclass(frozen=True)
class WhatIf:
    title: str  # "order by RTO (earliest deadline first)", "snorlax +180 GB, +0 CPU"
    outcomes: tuple[Outcome, ...]
    better: tuple[str, ...]  # one line per tenant whose verdict changes


@dataclass(frozen=True)
class DisasterPlan:
    outcomes: tuple[Outcome, ...]  # in the arbiter's order
    hosts: tuple[HostNeed, ...]  # by name
    what_ifs: tuple[WhatIf, ...]

    def for_tenant(self, tenant: str) -> DisasterPlan:
        """The plan as ``tenant`` may see it: every other tenant is "another
        tenant", with its place and its times only (no node, RTO, numbers or
        basis); what-ifs say how this tenant's verdict changes, and only how
        many others' do. Scoping a scoped plan again to the same tenant
        changes nothing."""
        named = {o.tenant for o in self.outcomes} - {ANOTHER_TENANT}
        if len(named) < len({o.tenant for o in self.outcomes}) and named <= {tenant}:
            return self
        seen: dict[int, Outcome] = {}  # what-ifs share the plan's unchanged outcomes: anonymise each once

        def hidden(o: Outcome) -> Outcome:
            if id(o) not in seen:
                seen[id(o)] = _anonymous(o)
            return seen[id(o)]

        def scoped(outcomes: tuple[Outcome, ...]) -> tuple[Outcome, ...]:
            return tuple(o if o.tenant == tenant else hidden(o) for o in outcomes)

        if ANOTHER_TENANT in {o.tenant for o in self.outcomes}:
            # scoped already, to someone else: the outcomes no longer tell who
            # changed, so only this tenant's lines stay
            what_ifs = tuple(WhatIf(w.title, scoped(w.outcomes), _own_lines(w.better, tenant)) for w in self.what_ifs)
        else:
            several = _several_nodes(self.outcomes)
            what_ifs = tuple(WhatIf(w.title, scoped(w.outcomes), _changes(self.outcomes, w.outcomes, tenant, several))
                             for w in self.what_ifs)
        return DisasterPlan(scoped(self.outcomes), self.hosts, what_ifs)


def _own_lines(lines: Iterable[str], tenant: str) -> tuple[str, ...]:
    lines = tuple(lines)
    own = tuple(line for line in lines if line.startswith((f"{tenant}: ", f"{tenant} (")))
    return own + (("other tenants' verdicts change",) if len(own) < len(lines) else ())


def _anonymous(o: Outcome) -> Outcome:
    return Outcome(ANOTHER_TENANT, "", o.position, o.start_s, o.finish_s, None, None, o.fits, (), "")


def _several_nodes(outcomes: Iterable[Outcome]) -> frozenset[str]:
    seen: set[str] = set()
    several: set[str] = set()
    for o in outcomes:
        (several if o.tenant in seen else seen).add(o.tenant)
    return frozenset(several)


def _changes(base: Sequence[Outcome], other: Sequence[Outcome], scope: str | None = None,
             several: frozenset[str] | None = None) -> tuple[str, ...]:
    """One line per recovery whose verdict differs between the two plays of
    the same recoveries (``tenant``, or ``tenant (node)`` for a tenant with
    several nodes). Scoped: the scope's own lines, and how many others changed."""
    if several is None:
        several = _several_nodes(base)
    aligned = all(a.node == b.node and a.tenant == b.tenant for a, b in zip(base, other, strict=True))
    if aligned:
        pairs: Iterable[tuple[Outcome, Outcome]] = zip(base, other, strict=True)
    else:
        before = {(o.tenant, o.node): o for o in base}
        pairs = ((before[o.tenant, o.node], o) for o in other)
    lines: list[tuple[str, str, str]] = []
    others = 0
    for was, o in pairs:
        if was is o or was.verdict == o.verdict:
            continue
        if scope is not None and o.tenant != scope:
            others += 1
            continue
        label = f"{o.tenant} ({o.node})" if o.tenant in several else o.tenant
        lines.append((o.tenant, o.node, f"{label}: {was.verdict} -> {o.verdict}"))
    out = [line for _, _, line in sorted(lines)]
    if others:
        out.append("1 other tenant's verdict changes" if others == 1 else f"{others} other tenants' verdicts change")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Queued:
    """A recovery in its place in the arbiter's order, with what every play
    needs of it worked out once."""

    position: int
    rec: Recovery
    claims: frozenset[Claim]
    wanted: tuple[tuple[str, Size], ...]  # (CEC UUID, size) per recovery host, summed


def _queue(recoveries: Sequence[Recovery]) -> list[_Queued]:
    """The recoveries as the arbiter would order them: all submitted at the
    same moment, in the given order (their arrival)."""
    reqs = [Request(i, r.tenant, r.node, Op.MOVE_UNPLANNED, r.priority, i, r.claims, on_recovery_hosts=True)
            for i, r in enumerate(recoveries)]
    out = []
    for position, req in enumerate(ordered(reqs), start=1):
        rec = recoveries[req.id]
        wanted: dict[str, Size] = {}
        for d in rec.demands:
            wanted[d.uuid] = wanted.get(d.uuid, ZERO) + d.size
        out.append(_Queued(position, rec, req.claims, tuple(wanted.items())))
    return out


@dataclass(frozen=True)
class _Room:
    """The recovery hosts whose size is known: free now, size, name."""

    free: Mapping[str, Size]
    total: Mapping[str, Size]
    name: Mapping[str, str]
    down: frozenset[str] = frozenset()  # hosts that fail in the disaster, sized or not

    @classmethod
    def of(cls, loads: Mapping[str, HostLoad], down: Iterable[str] = ()) -> _Room:
        free: dict[str, Size] = {}
        size: dict[str, Size] = {}
        for uuid, load in loads.items():
            if load.total is not None:
                free[uuid], size[uuid] = load.total - load.used, load.total
        return cls(free, size, {uuid: loads[uuid].name for uuid in size}, frozenset(down))

    def enlarged(self, hosts: Iterable[HostNeed]) -> _Room:
        free, size = dict(self.free), dict(self.total)
        for h in hosts:
            free[h.uuid] = free[h.uuid] + h.short
            size[h.uuid] = size[h.uuid] + h.short
        return _Room(free, size, self.name, self.down)


def _outcomes(queue: Sequence[_Queued], room: _Room, released: Mapping[Claim, float],
              base: Sequence[Outcome] | None = None, first: int = 0) -> tuple[Outcome, ...]:
    """One play: capacity taken in the order (a recovery that does not fit
    is refused and takes nothing), then the times of those that run.

    With ``base`` (a play of the same queue): an outcome that comes out the
    same is ``base``'s own object, so a what-if differs from the plan only
    where it changes something; and the first ``first`` outcomes, which the
    caller knows cannot change (nothing ahead of a recovery depends on it),
    are taken from ``base`` as they are, with the hosts' room and claims as
    they leave them."""
    free = dict(room.free)
    free_at = dict(released)
    out: list[Outcome] = []
    if base is not None and first:
        for q, was in zip(queue[:first], base[:first], strict=True):
            if was.fits:
                for uuid, size in q.wanted:
                    if uuid in free:
                        free[uuid] = free[uuid] - size
                for c in q.claims:
                    free_at[c] = NEVER if was.finish_s is None else was.finish_s
        out.extend(base[:first])
    rest = queue[first:]
    refused: dict[int, tuple[Shortfall, ...]] = {}
    lost: dict[int, tuple[str, ...]] = {}
    running: list[_Queued] = []
    for q in rest:
        gone = sorted({d.name for d in q.rec.demands if d.uuid in room.down})
        if gone:  # its recovery host is down too: nothing to boot on, so it holds nothing
            lost[q.position] = tuple(gone)
            continue
        lacking = None
        for uuid, size in q.wanted:
            room_there = free.get(uuid)
            if room_there is not None and not size.fits_in(room_there):
                lacking = [(u, sz) for u, sz in q.wanted if u in free and not sz.fits_in(free[u])]
                break
        if lacking:
            refused[q.position] = tuple(sorted(
                (Shortfall(uuid, room.name[uuid], size, free[uuid], room.total[uuid]) for uuid, size in lacking),
                key=lambda s: (s.name, s.uuid)))
            continue
        for uuid, size in q.wanted:
            if uuid in free:
                free[uuid] = free[uuid] - size
        running.append(q)
    times = dict(zip((q.position for q in running),
                     play(((q.claims, q.rec.seconds) for q in running), free_at), strict=True))
    for i, q in enumerate(rest, start=first):
        rec = q.rec
        start, finish = times.get(q.position, (None, None))
        shortfalls = refused.get(q.position, ())
        lost_hosts = lost.get(q.position, ())
        if base is not None:
            was = base[i]
            if (was.start_s == start and was.finish_s == finish and was.position == q.position
                    and was.node == rec.node and was.tenant == rec.tenant and was.shortfalls == shortfalls
                    and was.lost_hosts == lost_hosts):
                out.append(was)
                continue
        breach = None
        if finish is not None and rec.rto is not None and finish > rec.rto.total_seconds():
            breach = finish - rec.rto.total_seconds()
        out.append(Outcome(rec.tenant, rec.node, q.position, start, finish, rec.rto, breach,
                           not shortfalls and not lost_hosts, shortfalls, rec.basis, lost_hosts))
    return tuple(out)


def _with_more_room(agreed: Sequence[_Queued], room: _Room, released: Mapping[Claim, float],
                    base: tuple[Outcome, ...], hosts: Sequence[HostNeed]) -> tuple[Outcome, ...]:
    """The plan again with ``hosts`` enlarged by what they lack. Nothing
    changes ahead of the first recovery refused for want of one of them:
    those ahead fit already (more room changes nothing for them), and a
    recovery's start depends only on those ahead of it."""
    enlarged = {h.uuid for h in hosts}
    first = next((i for i, o in enumerate(base) if any(s.uuid in enlarged for s in o.shortfalls)), None)
    if first is None:
        return base
    return _outcomes(agreed, room.enlarged(hosts), released, base, first)


def _host_needs(recoveries: Sequence[Recovery], loads: Mapping[str, HostLoad],
                down: frozenset[str]) -> tuple[HostNeed, ...]:
    needed: dict[str, Size] = {}
    names: dict[str, str] = {}
    for rec in recoveries:
        for d in rec.demands:
            needed[d.uuid] = needed.get(d.uuid, ZERO) + d.size
            names.setdefault(d.uuid, d.name)
    out = []
    for uuid, size in needed.items():
        load = loads.get(uuid)
        before = load.used if load is not None else ZERO
        cap = load.total if load is not None else None
        name = load.name if load is not None else names[uuid]
        if uuid in down:
            out.append(HostNeed(uuid, name, cap, before, size, False, ZERO, down=True))
            continue
        short = ZERO if cap is None else (before + size).shortfall_against(cap)
        out.append(HostNeed(uuid, name, cap, before, size, short == ZERO, short))
    return tuple(sorted(out, key=lambda h: (h.name, h.uuid)))


def _by_deadline(agreed: Sequence[_Queued]) -> list[_Queued]:
    """The same queue with the agreements re-prioritised by RTO, earliest
    first (no RTO: last), the agreement order breaking ties: the arbiter's
    order once every recovery's priority is its rank by deadline."""
    edf = sorted(agreed, key=lambda q: (q.rec.rto is None, q.rec.rto or timedelta(), q.position))
    return [_Queued(rank, q.rec, q.claims, q.wanted) for rank, q in enumerate(edf, start=1)]


def _what_ifs(agreed: Sequence[_Queued], room: _Room, released: Mapping[Claim, float],
              base: tuple[Outcome, ...], hosts: Sequence[HostNeed]) -> tuple[WhatIf, ...]:
    out: list[WhatIf] = []

    several = _several_nodes(base)

    def what_if(title: str, outcomes: tuple[Outcome, ...]) -> None:
        out.append(WhatIf(title, outcomes, _changes(base, outcomes, None, several)))

    edf = _by_deadline(agreed)
    if any(e.rec is not q.rec for e, q in zip(edf, agreed, strict=True)):
        what_if("order by RTO (earliest deadline first)", _outcomes(edf, room, released))
    short = [h for h in hosts if not h.fits and not h.down and h.uuid in room.total]
    for h in short:
        what_if(f"{h.name} +{figure(h.short.memory_gb)} GB, +{figure(h.short.cpu)} CPU",
                _with_more_room(agreed, room, released, base, [h]))
    if len(short) > 1:
        what_if(f"all {len(short)} short hosts enlarged ({total(h.short for h in short).text()} in all)",
                _with_more_room(agreed, room, released, base, short))
    return tuple(out)


def plan_disaster(recoveries: Sequence[Recovery], loads: Mapping[str, HostLoad],
                  busy: Sequence[Busy] = (), down: Iterable[str] = ()) -> DisasterPlan:
    """Every recovery's place, start and finish (seconds after the disaster)
    and verdict against its RTO and the hosts' capacity; every recovery host
    it needs against its size; and the what-ifs. ``down``: the hosts the
    disaster takes (CEC UUIDs): one may be another tenant's recovery host
    (a tenant that moved onto a shared host runs its production there), and
    a recovery that needs it cannot run."""
    released = release_times(busy)
    agreed = _queue(recoveries)
    room = _Room.of(loads, down)
    outcomes = _outcomes(agreed, room, released)
    hosts = _host_needs(recoveries, loads, room.down)
    return DisasterPlan(outcomes, hosts, _what_ifs(agreed, room, released, outcomes, hosts))
