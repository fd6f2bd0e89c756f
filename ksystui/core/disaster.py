"""The disaster planner (pure): if these production hosts fail now, in what
order does every tenant recover, when does each start and finish against its
RTO, and can the shared recovery hosts hold everyone?

It plays the arbitration rules (``core.arbitration``) forward. Every failed
node's unplanned move is queued at once; the arbiter admits a request when
no running operation holds any of its claims and no request ahead of it in
the order shares one. Nothing new arrives and nothing is pre-empted, so that
play has a closed form, which is what makes a plan over hundreds of tenants
cheap: a request starts when the last request ahead of it on each of its
claims has finished (they finish in order, each starting after the one before
it ended) and when every operation already running on them is done. The
tests hold it to an event-by-event replay through ``arbitration.decide``.

Capacity follows the same order: a recovery that does not fit a recovery
host, after everyone ahead of it took their share, would be refused by
ksystui (``capacity.check``): it does not run, holds nothing and delays no
one, and its outcome says by how much it is short.

What-ifs: the same disaster with another agreement order (earliest RTO
deadline first) and with each short host made big enough for everyone.

A view scoped to one tenant (``DisasterPlan.for_tenant``) keeps every other
tenant's place in the order and when it holds the hosts, under no name, and
without its RTO, its numbers or how its duration was estimated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from ksystui.core.age import format_age
from ksystui.core.arbitration import Claim, Request, ordered
from ksystui.core.capacity import ZERO, Demand, HostLoad, Shortfall, Size, total
from ksystui.core.lifecycle import Op
from ksystui.core.planning import estimate_seconds

ANOTHER_TENANT = "another tenant"  # every other tenant, in a plan scoped to one
# a node never seen moving, with no DR average from the service: a guess, said so
ASSUMED_RECOVERY_S = 900.0
_LATER = float("inf")


def _figure(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def estimate_recovery(unplanned: Sequence[float], planned: Sequence[float], dr_average_s: float | None,
                      vm_count: int) -> tuple[float, str]:
    """How long a node's unplanned move will take, and why we think so:
    the median of its last unplanned moves; else of its planned moves (the
    same VMs booted on the same hosts); else the service's ``dr_average_time``
    (per VM, INFERRED) times its VMs; else ``ASSUMED_RECOVERY_S``."""
    for runs, what in ((unplanned, "unplanned"), (planned, "planned")):
        seconds = estimate_seconds(runs)
        if seconds is not None:
            used = len([d for d in runs[-10:] if d > 0])
            return seconds, f"median of {used} past {what} move{'s' if used != 1 else ''}"
    if dr_average_s is not None and dr_average_s > 0:
        vms = max(1, vm_count)
        return dr_average_s * vms, f"DR average {format_age(dr_average_s)} x {vms} VM{'s' if vms != 1 else ''}"
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
class Busy:
    """What already holds resources when the disaster starts."""

    id: int
    tenant: str
    node: str
    claims: frozenset[str]
    remaining_s: float


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

    @property
    def verdict(self) -> str:
        """``meets`` / ``BREACH by 12m00s`` / ``DOES NOT FIT short 180 GB on snorlax``."""
        if not self.fits:
            if not self.shortfalls:
                return "DOES NOT FIT"
            return "DOES NOT FIT short " + "; ".join(f"{s.short.short_text()} on {s.name}" for s in self.shortfalls)
        if self.tenant == ANOTHER_TENANT:
            return "recovers"
        if self.finish_s is None:
            return "finish unknown"
        if self.rto is None:
            return "no RTO agreed"
        if self.breach_s is not None:
            return f"BREACH by {format_age(self.breach_s)}"
        return "meets"


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
        many others' do."""
        def scoped(outcomes: tuple[Outcome, ...]) -> tuple[Outcome, ...]:
            return tuple(o if o.tenant == tenant else _anonymous(o) for o in outcomes)

        what_ifs = tuple(WhatIf(w.title, scoped(w.outcomes), _changes(self.outcomes, w.outcomes, tenant))
                         for w in self.what_ifs)
        return DisasterPlan(scoped(self.outcomes), self.hosts, what_ifs)


def _anonymous(o: Outcome) -> Outcome:
    return Outcome(ANOTHER_TENANT, "", o.position, o.start_s, o.finish_s, None, None, o.fits, (), "")


def _label(o: Outcome, tenants_with_several_nodes: set[str]) -> str:
    return f"{o.tenant} ({o.node})" if o.tenant in tenants_with_several_nodes else o.tenant


def _changes(base: Sequence[Outcome], other: Sequence[Outcome], scope: str | None = None) -> tuple[str, ...]:
    """One line per recovery whose verdict differs between the two plays.
    Scoped: the scope's own lines, and a count of everyone else's."""
    before = {(o.tenant, o.node): o for o in base}
    counts: dict[str, int] = {}
    for o in base:
        counts[o.tenant] = counts.get(o.tenant, 0) + 1
    several = {t for t, n in counts.items() if n > 1}
    lines: list[str] = []
    others = 0
    for o in sorted(other, key=lambda o: (o.tenant, o.node)):
        was = before.get((o.tenant, o.node))
        if was is None or was.verdict == o.verdict:
            continue
        if scope is not None and o.tenant != scope:
            others += 1
            continue
        lines.append(f"{_label(o, several)}: {was.verdict} -> {o.verdict}")
    if others:
        lines.append("1 other tenant's verdict changes" if others == 1
                     else f"{others} other tenants' verdicts change")
    return tuple(lines)


def _host_claims(node: str, resources: Iterable[str]) -> frozenset[Claim]:
    return frozenset({Claim("node", node), *(Claim("host", r) for r in resources)})


def _release_times(busy: Sequence[Busy]) -> dict[Claim, float]:
    """When each claim held by an already running operation is free (an
    operation past its estimate is taken to end now)."""
    out: dict[Claim, float] = {}
    for b in busy:
        at = max(0.0, b.remaining_s)
        for c in _host_claims(b.node, b.claims):
            out[c] = max(out.get(c, 0.0), at)
    return out


def _play(queue: Sequence[tuple[frozenset[Claim], float | None]],
          released: Mapping[Claim, float]) -> list[tuple[float | None, float | None]]:
    """(start, finish) of every request of ``queue`` (in the arbiter's order;
    each its claims and duration, None if unknown): a request starts when
    every claim is released by the running operations and by the last
    request ahead of it that shares it. An unknown duration never ends, as
    far as the prediction goes: what waits behind it has no start."""
    free_at: dict[Claim, float] = dict(released)
    out: list[tuple[float | None, float | None]] = []
    for claims, seconds in queue:
        start = max((free_at.get(c, 0.0) for c in claims), default=0.0)
        finish = _LATER if start == _LATER or seconds is None else start + max(0.0, seconds)
        for c in claims:
            free_at[c] = finish
        out.append((None if start == _LATER else start, None if finish == _LATER else finish))
    return out


def predicted_starts(busy: Sequence[Busy], waiting: Sequence[Request],
                     seconds: Mapping[int, float]) -> dict[int, float | None]:
    """Every waiting request's predicted start (seconds from now), playing
    the arbiter forward: ``busy`` holds its claims for its remaining time,
    and each request lasts ``seconds[id]`` (missing: unknown, so whatever
    waits behind it on a claim has no predicted start)."""
    queue = ordered(waiting)
    times = _play([(r.claims, seconds.get(r.id)) for r in queue], _release_times(busy))
    return {r.id: start for r, (start, _finish) in zip(queue, times, strict=True)}


def _requests(recoveries: Sequence[Recovery]) -> list[tuple[Request, Recovery]]:
    """The recoveries as the arbiter would queue them, in its order: all
    submitted at once, in the given order (arrival)."""
    reqs = [Request(i, r.tenant, r.node, Op.MOVE_UNPLANNED, r.priority, i, r.claims, on_recovery_hosts=True)
            for i, r in enumerate(recoveries)]
    return [(req, recoveries[req.id]) for req in ordered(reqs)]


def _free_now(loads: Mapping[str, HostLoad]) -> dict[str, Size]:
    return {uuid: load.total - load.used for uuid, load in loads.items() if load.total is not None}


def _outcomes(queue: Sequence[tuple[Request, Recovery]], loads: Mapping[str, HostLoad],
              released: Mapping[Claim, float]) -> tuple[Outcome, ...]:
    free = _free_now(loads)
    fitting: list[tuple[int, Request, Recovery]] = []
    refused: dict[int, tuple[Shortfall, ...]] = {}
    for position, (req, rec) in enumerate(queue, start=1):
        wanted: dict[str, Size] = {}
        for d in rec.demands:
            wanted[d.uuid] = wanted.get(d.uuid, ZERO) + d.size
        shortfalls = tuple(
            Shortfall(uuid, loads[uuid].name, size, free[uuid], loads[uuid].total or ZERO)
            for uuid, size in sorted(wanted.items(), key=lambda kv: loads[kv[0]].name if kv[0] in loads else kv[0])
            if uuid in free and not size.fits_in(free[uuid]))
        if shortfalls:
            refused[position] = shortfalls
            continue
        for uuid, size in wanted.items():
            if uuid in free:
                free[uuid] = free[uuid] - size
        fitting.append((position, req, rec))
    times = dict(zip((p for p, _, _ in fitting),
                     _play([(req.claims, rec.seconds) for _, req, rec in fitting], released), strict=True))
    out: list[Outcome] = []
    for position, (_req, rec) in enumerate(queue, start=1):
        start, finish = times.get(position, (None, None))
        breach = None
        if finish is not None and rec.rto is not None and finish > rec.rto.total_seconds():
            breach = finish - rec.rto.total_seconds()
        out.append(Outcome(rec.tenant, rec.node, position, start, finish, rec.rto, breach,
                           position not in refused, refused.get(position, ()), rec.basis))
    return tuple(out)


def _host_needs(recoveries: Sequence[Recovery], loads: Mapping[str, HostLoad]) -> tuple[HostNeed, ...]:
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
        short = ZERO if cap is None else (before + size).shortfall_against(cap)
        out.append(HostNeed(uuid, load.name if load is not None else names[uuid], cap, before, size,
                            short == ZERO, short))
    return tuple(sorted(out, key=lambda h: (h.name, h.uuid)))


def _by_deadline(recoveries: Sequence[Recovery]) -> list[Recovery]:
    """The recoveries re-prioritised by RTO, earliest first (no RTO: last),
    the agreement order breaking ties."""
    agreed = [rec for _, rec in _requests(recoveries)]
    edf = sorted(range(len(agreed)), key=lambda i: (agreed[i].rto is None, agreed[i].rto or timedelta(), i))
    return [replace(agreed[i], priority=rank) for rank, i in enumerate(edf, start=1)]


def _enlarged(loads: Mapping[str, HostLoad], hosts: Iterable[HostNeed]) -> dict[str, HostLoad]:
    out = dict(loads)
    for h in hosts:
        load = out[h.uuid]
        out[h.uuid] = replace(load, total=(load.total or ZERO) + h.short)
    return out


def _what_ifs(recoveries: Sequence[Recovery], loads: Mapping[str, HostLoad], released: Mapping[Claim, float],
              base: tuple[Outcome, ...], hosts: Sequence[HostNeed]) -> tuple[WhatIf, ...]:
    out: list[WhatIf] = []

    def what_if(title: str, outcomes: tuple[Outcome, ...]) -> None:
        out.append(WhatIf(title, outcomes, _changes(base, outcomes)))

    agreed_queue = _requests(recoveries)
    agreed = [rec for _, rec in agreed_queue]
    edf = _by_deadline(recoveries)
    if [(r.tenant, r.node) for r in edf] != [(r.tenant, r.node) for r in agreed]:
        what_if("order by RTO (earliest deadline first)", _outcomes(_requests(edf), loads, released))
    short = [h for h in hosts if not h.fits and h.uuid in loads]
    for h in short:
        what_if(f"{h.name} +{_figure(h.short.memory_gb)} GB, +{_figure(h.short.cpu)} CPU",
                _outcomes(agreed_queue, _enlarged(loads, [h]), released))
    if len(short) > 1:
        what_if(f"all {len(short)} short hosts enlarged ({total(h.short for h in short).text()} in all)",
                _outcomes(agreed_queue, _enlarged(loads, short), released))
    return tuple(out)


def plan_disaster(recoveries: Sequence[Recovery], loads: Mapping[str, HostLoad],
                  busy: Sequence[Busy] = ()) -> DisasterPlan:
    """Every recovery's place, start and finish (seconds after the disaster),
    verdict against its RTO and capacity; every recovery host it needs
    against its size; and the what-ifs."""
    released = _release_times(busy)
    outcomes = _outcomes(_requests(recoveries), loads, released)
    hosts = _host_needs(recoveries, loads)
    return DisasterPlan(outcomes, hosts, _what_ifs(recoveries, loads, released, outcomes, hosts))
