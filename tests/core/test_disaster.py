"""The disaster planner (core.disaster) on the seed: who recovers first, when
each tenant is back against its RTO, who does not fit on the shared host and
by how much, and what another order or more capacity would change."""

from __future__ import annotations

from datetime import timedelta

from ksystui.core import capacity
from ksystui.core.capacity import Size
from ksystui.core.disaster import (
    ASSUMED_RECOVERY_S,
    Busy,
    Recovery,
    estimate_recovery,
    plan_disaster,
)
from ksystui.core.lifecycle import Op
from ksystui.core.snapshot import NodeSnapshot
from tests.core.test_capacity import seed

MIN = 60.0


def recoveries(snaps: list[NodeSnapshot], *, minutes: tuple[float, ...] = (10, 12),
               rto: tuple[int | None, ...] = (30, 30), priority: tuple[int, ...] = (1, 2)) -> list[Recovery]:
    out = []
    for snap, m, r, p in zip(snaps, minutes, rto, priority, strict=True):
        demands = tuple(capacity.demand(Op.MOVE_UNPLANNED, snap))
        out.append(Recovery(snap.tenant, snap.node, p, None if r is None else timedelta(minutes=r), demands,
                            frozenset(d.uuid for d in demands), m * MIN, f"{m}m observed"))
    return out


def plan(snorlax_gb: float | None = 512, **kw):
    snaps = seed(snorlax_gb=snorlax_gb)
    return plan_disaster(recoveries(snaps, **kw), capacity.host_loads(snaps))


def test_both_tenants_fit_and_recover_one_after_the_other_on_the_shared_host():
    p = plan()
    a, b = p.outcomes
    assert (a.tenant, a.position, a.start_s, a.finish_s, a.verdict) == ("customerA", 1, 0, 10 * MIN, "meets")
    # snorlax is claimed by both moves: B waits for A's move to finish
    assert (b.tenant, b.position, b.start_s, b.finish_s, b.verdict) == ("customerB", 2, 10 * MIN, 22 * MIN, "meets")
    (snorlax,) = p.hosts
    assert (snorlax.name, snorlax.needed, snorlax.total, snorlax.fits) == ("snorlax", Size(480, 30), Size(512, 32), True)
    assert p.what_ifs == ()  # same order by RTO, no short host: nothing to suggest


def test_only_one_tenant_fits_the_planner_says_which_and_by_how_much():
    p = plan(snorlax_gb=300)
    a, b = p.outcomes
    assert a.fits and a.verdict == "meets"
    assert not b.fits and (b.start_s, b.finish_s) == (None, None)
    assert b.verdict == "DOES NOT FIT short 180 GB on snorlax"
    assert b.shortfalls[0].text() == "snorlax needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of 300 GB, 32 CPU: " \
                                     "short 180 GB"
    (snorlax,) = p.hosts
    assert not snorlax.fits and snorlax.short == Size(180, 0)
    (more,) = p.what_ifs
    assert more.title == "snorlax +180 GB, +0 CPU"
    assert more.better == ("customerB: DOES NOT FIT short 180 GB on snorlax -> meets",)
    assert more.outcomes[1].finish_s == 22 * MIN


def test_a_late_tenant_breaches_its_rto_and_earliest_deadline_first_would_save_it():
    p = plan(rto=(60, 15))
    assert [o.verdict for o in p.outcomes] == ["meets", "BREACH by 7m00s"]
    assert p.outcomes[1].breach_s == 7 * MIN
    (edf,) = p.what_ifs
    assert edf.title == "order by RTO (earliest deadline first)"
    assert [o.tenant for o in edf.outcomes] == ["customerB", "customerA"]
    assert edf.better == ("customerB: BREACH by 7m00s -> meets",)


def test_a_running_operation_on_the_shared_host_delays_everyone():
    snaps = seed()
    recs = recoveries(snaps)
    busy = [Busy(7, "customerC", "c-node", frozenset({capacity_uuid(recs)}), 5 * MIN)]
    p = plan_disaster(recs, capacity.host_loads(snaps), busy)
    assert [(o.start_s, o.finish_s) for o in p.outcomes] == [(5 * MIN, 15 * MIN), (15 * MIN, 27 * MIN)]


def capacity_uuid(recs: list[Recovery]) -> str:
    (uuid,) = recs[0].claims
    return uuid


def test_a_scoped_plan_names_no_other_tenant():
    p = plan(snorlax_gb=300, rto=(60, 15)).for_tenant("customerB")
    text = repr(p)
    assert "customerA" not in text and "r7r3m116" not in text and "pbrazos" not in text
    other, own = p.outcomes
    assert (other.tenant, other.position, other.finish_s, other.verdict) == ("another tenant", 1, 10 * MIN,
                                                                              "recovers")
    assert own.verdict == "DOES NOT FIT short 180 GB on snorlax"


def test_estimates_say_what_they_rest_on():
    assert estimate_recovery([600, 900, 700], [100], 60, 3) == (700, "median of 3 past unplanned moves")
    assert estimate_recovery([], [500], 60, 3) == (500, "median of 1 past planned move")
    assert estimate_recovery([], [], 420, 3) == (1260, "DR average 7m00s x 3 VMs")
    assert estimate_recovery([], [], None, 3) == (ASSUMED_RECOVERY_S, "no past run: 15m00s assumed")
