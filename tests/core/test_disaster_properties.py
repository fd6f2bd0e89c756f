"""Properties of the disaster planner (core.disaster) over random fleets:
its closed-form play is the arbiter's own admission (``arbitration.decide``)
replayed event by event; what it runs fits the hosts; what it refuses does
not fit after those ahead of it; the what-ifs do what their titles say; a
scoped plan names no other tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ksystui.core.arbitration import CLASS_OF, Request, decide
from ksystui.core.capacity import ZERO, Demand, HostLoad, Share, ShareKind, Size
from ksystui.core.disaster import ANOTHER_TENANT, Busy, Recovery, plan_disaster, predicted_starts
from ksystui.core.lifecycle import Op

HOSTS = ("snorlax", "mewtwo", "ditto", "eevee")
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "wonka")
RESOURCES = (*HOSTS, "workspace:dal10")


def replay(busy: Sequence[Busy], waiting: Sequence[Request],
           seconds: Mapping[int, float | None]) -> dict[int, tuple[float | None, float | None]]:
    """The arbiter, event by event: ``decide`` at the start and at every
    finish, with what is still running."""
    running: dict[int, tuple[Request, float]] = {}
    for i, b in enumerate(busy):
        req = Request(-1 - i, b.tenant, b.node, Op.MOVE_UNPLANNED, 0, 0, b.claims, on_recovery_hosts=True)
        running[req.id] = (req, max(0.0, b.remaining_s))
    left = list(waiting)
    out: dict[int, tuple[float | None, float | None]] = {r.id: (None, None) for r in waiting}
    now = 0.0
    while left:
        running = {k: (r, end) for k, (r, end) in running.items() if end > now}
        for req in decide([r for r, _ in running.values()], left).admit:
            s = seconds.get(req.id)
            end = float("inf") if s is None else now + s
            out[req.id] = (now, None if s is None else end)
            running[req.id] = (req, end)
            left.remove(req)
        ends = [end for _, end in running.values()]  # one that took no time ends now
        if not left or not ends or min(ends) == float("inf"):
            break
        now = min(ends)
    return out


claims_st = st.frozensets(st.sampled_from(RESOURCES), max_size=3)
busy_st = st.lists(st.builds(lambda i, t, c, r: Busy(i, t, f"busy-{i}", c, r), st.integers(0, 999),
                             st.sampled_from(TENANTS), claims_st, st.integers(-60, 3000).map(float)),
                   max_size=3, unique_by=lambda b: b.id)


@st.composite
def queues(draw):
    n = draw(st.integers(0, 10))
    reqs = []
    for i in range(n):
        reqs.append(Request(
            i, draw(st.sampled_from(TENANTS)), draw(st.sampled_from(("n1", "n2", "n3", "n4", "n5"))),
            draw(st.sampled_from(sorted(CLASS_OF))), draw(st.integers(1, 3)), draw(st.integers(0, 5)),
            draw(claims_st), raised=draw(st.sampled_from((0, 0, 0, 1))),
            on_recovery_hosts=draw(st.sampled_from((None, True, False)))))
    seconds = {r.id: draw(st.one_of(st.none(), st.integers(0, 3600).map(float))) for r in reqs}
    return reqs, seconds


@settings(max_examples=150, deadline=None)
@given(busy=busy_st, queue=queues())
def test_predicted_starts_are_the_arbiters_own_admissions_played_forward(busy, queue):
    waiting, seconds = queue
    predicted = predicted_starts(busy, waiting, {k: v for k, v in seconds.items() if v is not None})
    assert predicted == {k: start for k, (start, _) in replay(busy, waiting, seconds).items()}


@st.composite
def fleets(draw):
    sizes = {h: draw(st.one_of(st.none(), st.builds(Size, st.integers(0, 600).map(float),
                                                     st.integers(0, 40).map(float)))) for h in HOSTS}
    loads = {}
    for h in HOSTS:
        used = draw(st.builds(Size, st.integers(0, 200).map(float), st.integers(0, 10).map(float)))
        shares = (Share(draw(st.sampled_from(TENANTS)), "old-node", ShareKind.RUNNING, used, 1),) if used != ZERO else ()
        loads[f"u-{h}"] = HostLoad(f"u-{h}", h, sizes[h], shares)
    recs = []
    for i in range(draw(st.integers(0, 8))):
        tenant = draw(st.sampled_from(TENANTS))
        node = f"{tenant}-node{i}"
        demands = tuple(
            Demand(f"u-{h}", h, tenant, node, draw(st.builds(Size, st.integers(1, 300).map(float),
                                                          st.integers(0, 20).map(float))), ("vm",))
            for h in draw(st.lists(st.sampled_from(HOSTS), max_size=2, unique=True)))
        extra = draw(st.frozensets(st.just("workspace:dal10"), max_size=1))
        rto = draw(st.one_of(st.none(), st.integers(1, 120).map(lambda m: timedelta(minutes=m))))
        recs.append(Recovery(tenant, node, draw(st.integers(1, 3)), rto, demands,
                             frozenset(d.uuid for d in demands) | extra, float(draw(st.integers(0, 3600))),
                             "median of 3 past unplanned moves"))
    # running operations: on other nodes, or on a failed node itself (a discovery it was doing)
    busy = draw(st.lists(st.builds(lambda i, c, r, n: Busy(i, "acme", n or f"busy-{i}", c, r), st.integers(0, 99),
                                   st.frozensets(st.sampled_from([f"u-{h}" for h in HOSTS]), max_size=2),
                                   st.integers(0, 3000).map(float),
                                   st.sampled_from([None, *(r.node for r in recs)])),
                         max_size=2, unique_by=lambda b: b.id))
    return recs, loads, busy


def demand_on(rec: Recovery, uuid: str) -> Size:
    out = ZERO
    for d in rec.demands:
        if d.uuid == uuid:
            out = out + d.size
    return out


def by_key(recs):
    return {(r.tenant, r.node): r for r in recs}


@settings(max_examples=60, deadline=None)
@given(fleet=fleets())
def test_the_plan_is_the_arbiters_order_and_capacity_taken_in_that_order(fleet):
    recs, loads, busy = fleet
    plan = plan_disaster(recs, loads, busy)
    recs_by = by_key(recs)
    # the arbiter's order: agreement priority, then who was submitted first
    assert [o.position for o in plan.outcomes] == list(range(1, len(recs) + 1))
    assert [(recs_by[o.tenant, o.node].priority) for o in plan.outcomes] == sorted(r.priority for r in recs)
    used = {u: load.used for u, load in loads.items()}
    for o in plan.outcomes:
        rec = recs_by[o.tenant, o.node]
        room = {u: loads[u].total - used[u] for u in used if loads[u].total is not None}
        lacking = {u for u in room if any(d.uuid == u for d in rec.demands) and not demand_on(rec, u).fits_in(room[u])}
        assert o.fits == (not lacking)
        assert {s.uuid for s in o.shortfalls} == lacking
        if o.fits:
            for u in used:
                used[u] = used[u] + demand_on(rec, u)
            assert o.start_s is not None and o.finish_s == o.start_s + rec.seconds
            late = o.finish_s - rec.rto.total_seconds() if rec.rto is not None else 0.0
            assert o.breach_s == (late if late > 0 else None)
        else:
            assert (o.start_s, o.finish_s, o.breach_s) == (None, None, None)
            assert o.verdict.startswith("DOES NOT FIT short ")
    # what runs fits every host whose size is known
    for u, load in loads.items():
        if load.total is not None:
            assert (used[u] - load.used).fits_in(load.total - load.used) or not any(
                o.fits and demand_on(recs_by[o.tenant, o.node], u) != ZERO for o in plan.outcomes)
    # the times are the arbiter's, event by event, for those that run
    running = [o for o in plan.outcomes if o.fits]
    waiting = [Request(i, o.tenant, o.node, Op.MOVE_UNPLANNED, 1, i, recs_by[o.tenant, o.node].claims,
                       on_recovery_hosts=True) for i, o in enumerate(running)]
    seconds = {i: recs_by[o.tenant, o.node].seconds for i, o in enumerate(running)}
    assert [(o.start_s, o.finish_s) for o in running] == [replay(busy, waiting, seconds)[i]
                                                          for i in range(len(running))]


@settings(max_examples=60, deadline=None)
@given(fleet=fleets())
def test_host_needs_and_what_ifs_do_what_they_say(fleet):
    recs, loads, busy = fleet
    plan = plan_disaster(recs, loads, busy)
    for h in plan.hosts:
        everyone = sum((demand_on(r, h.uuid) for r in recs), ZERO)
        assert h.needed == everyone and h.before == loads[h.uuid].used
        if h.total is not None:
            assert h.fits == (h.before + h.needed).fits_in(h.total)
            assert (h.before + h.needed).fits_in(h.total + h.short)
    titles = [w.title for w in plan.what_ifs]
    short = [h for h in plan.hosts if not h.fits]
    for h in short:
        (enlarged,) = [w for w in plan.what_ifs if w.title.startswith(f"{h.name} +")]
        # with that much more, nobody is short on that host any more
        assert all(s.uuid != h.uuid for o in enlarged.outcomes for s in o.shortfalls)
        # and it is the plan of the same disaster on the bigger host, outcome for outcome
        bigger = {**loads, h.uuid: replace(loads[h.uuid], total=loads[h.uuid].total + h.short)}
        assert enlarged.outcomes == plan_disaster(recs, bigger, busy).outcomes
    if len(short) > 1:
        (everything,) = [w for w in plan.what_ifs if w.title.startswith("all ")]
        assert all(o.fits for o in everything.outcomes)
    for w in plan.what_ifs:
        base = {(o.tenant, o.node): o.verdict for o in plan.outcomes}
        changed = [o for o in w.outcomes if base[o.tenant, o.node] != o.verdict]
        assert len(w.better) == len(changed)
    if "order by RTO (earliest deadline first)" in titles:
        (edf,) = [w for w in plan.what_ifs if w.title.startswith("order by RTO")]
        deadlines = [by_key(recs)[o.tenant, o.node].rto for o in edf.outcomes]
        known = [d for d in deadlines if d is not None]
        assert known == sorted(known) and deadlines == known + [None] * (len(deadlines) - len(known))
        # and it is the plan with every agreement's priority its rank by deadline
        rank = {(o.tenant, o.node): o.position for o in edf.outcomes}
        reprioritised = [replace(r, priority=rank[r.tenant, r.node]) for r in recs]
        assert edf.outcomes == plan_disaster(reprioritised, loads, busy).outcomes


@settings(max_examples=60, deadline=None)
@given(fleet=fleets(), scope=st.sampled_from(TENANTS))
def test_a_scoped_plan_names_no_other_tenant_and_keeps_its_own_rows(fleet, scope):
    recs, loads, busy = fleet
    plan = plan_disaster(recs, loads, busy)
    scoped = plan.for_tenant(scope)
    text = repr(scoped)
    for other in TENANTS:
        if other != scope:
            assert other not in text
    for full, seen in zip(plan.outcomes, scoped.outcomes, strict=True):
        assert seen == full if full.tenant == scope else (
            seen.tenant == ANOTHER_TENANT and (seen.position, seen.start_s, seen.finish_s, seen.fits)
            == (full.position, full.start_s, full.finish_s, full.fits))
    assert scoped.hosts == plan.hosts
    assert scoped.for_tenant(scope) == scoped  # scoping twice is scoping once
    for other in TENANTS:
        if other != scope:
            assert scope not in repr(scoped.for_tenant(other))
