"""The disaster planner (core.disaster) on the seed: who recovers first, when
each tenant is back against its RTO, who does not fit on the shared host and
by how much, and what another order or more capacity would change."""

from __future__ import annotations

from datetime import timedelta

from ksystui.core import capacity
from ksystui.core.arbitration import Request
from ksystui.core.capacity import Size
from ksystui.core.disaster import (
    ASSUMED_RECOVERY_S,
    Busy,
    Recovery,
    estimate_recovery,
    plan_disaster,
    predicted_starts,
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
    assert estimate_recovery([], [], 1260, 3) == (1260, "DR average 7m00s x 3 VMs")  # core.rpo.dr_recovery_time
    assert estimate_recovery([], [], None, 3) == (ASSUMED_RECOVERY_S, "no past run: 15m00s assumed")


def test_a_host_whose_size_nobody_reports_is_not_checked_and_refuses_no_one():
    p = plan(snorlax_gb=None)
    assert [o.fits for o in p.outcomes] == [True, True]
    (snorlax,) = p.hosts
    assert (snorlax.total, snorlax.fits, snorlax.needed) == (None, True, Size(480, 30))
    assert not any(w.title.startswith("snorlax +") for w in p.what_ifs)


def test_a_scoped_what_if_says_how_its_own_verdict_changes_and_only_how_many_others_do():
    p = plan(snorlax_gb=300, rto=(60, 15))
    edf = next(w for w in p.what_ifs if w.title.startswith("order by RTO"))
    assert edf.better == ("customerA: meets -> DOES NOT FIT short 180 GB on snorlax",
                          "customerB: DOES NOT FIT short 180 GB on snorlax -> meets")
    scoped = next(w for w in p.for_tenant("customerB").what_ifs if w.title.startswith("order by RTO"))
    assert scoped.better == ("customerB: DOES NOT FIT short 180 GB on snorlax -> meets",
                             "1 other tenant's verdict changes")


def test_powervs_recoveries_into_one_workspace_run_one_after_the_other():
    recs = [Recovery(t, f"{t}-ksys", 1, timedelta(hours=1), (), frozenset({"workspace:dal10-dr"}), 20 * MIN, "x")
            for t in ("customerC", "customerD")]
    recs.append(Recovery("customerE", "customerE-ksys", 1, timedelta(hours=1), (), frozenset({"workspace:wdc06"}),
                         20 * MIN, "x"))
    p = plan_disaster(recs, {})
    assert [(o.tenant, o.start_s) for o in p.outcomes] == [("customerC", 0), ("customerD", 20 * MIN),
                                                           ("customerE", 0)]


def test_a_tenant_with_two_nodes_is_told_apart_by_node():
    snaps = seed(snorlax_gb=300)
    a, b = recoveries(snaps, rto=(60, 15))
    b2 = Recovery("customerA", "r7r3m117", 3, timedelta(minutes=90), b.demands, b.claims, b.seconds, b.basis)
    p = plan_disaster([a, b2], capacity.host_loads(snaps))
    (more,) = p.what_ifs
    assert more.better == ("customerA (r7r3m117): DOES NOT FIT short 180 GB on snorlax -> meets",)


def test_waiting_requests_get_a_predicted_start_from_the_same_rules():
    # a move on snorlax runs for five more minutes; behind it, in the arbiter's order
    running = [Busy(1, "customerA", "r7r3m116", frozenset({"u-snorlax"}), 5 * MIN)]
    waiting = [
        Request(2, "customerB", "r7r3m108", Op.VERIFY, 2, 2, frozenset({"u-snorlax"})),
        Request(3, "customerB", "r7r3m108", Op.DISCOVER, 2, 3),  # its node is busy with the verify
        Request(4, "customerC", "ksys-c", Op.DISCOVER, 3, 4),  # shares nothing: now
        Request(5, "customerA", "r7r3m116", Op.CLEANUP, 1, 5, frozenset({"u-snorlax"})),  # cleanup ranks first
        Request(6, "customerD", "ksys-d", Op.DR_TEST, 4, 6, frozenset({"u-snorlax"})),
    ]
    starts = predicted_starts(running, waiting, {2: 10 * MIN, 4: 60, 5: 2 * MIN})
    assert starts == {5: 5 * MIN, 2: 7 * MIN, 3: 17 * MIN, 4: 0, 6: 17 * MIN}
    # a request of unknown length: what waits behind it cannot be told
    assert predicted_starts(running, waiting, {4: 60, 5: 2 * MIN})[3] is None


def test_a_recovery_host_the_disaster_takes_holds_no_one_and_no_what_if_enlarges_it():
    snaps = seed(snorlax_gb=300)
    p = plan_disaster(recoveries(snaps), capacity.host_loads(snaps), down={"u-snorlax"})
    a, b = p.outcomes
    for o in (a, b):  # both would boot on snorlax: neither runs, neither holds or delays anyone
        assert not o.fits and (o.start_s, o.finish_s) == (None, None) and o.shortfalls == ()
        assert o.lost_hosts == ("snorlax",) and o.verdict == "NO RECOVERY HOST: snorlax fails too"
    (snorlax,) = p.hosts
    assert snorlax.down and not snorlax.fits and snorlax.short == Size()
    assert not any("snorlax +" in w.title for w in p.what_ifs)
    # scoped, another tenant's lost recovery names no host of theirs
    hidden = p.for_tenant("customerB").outcomes[0]
    assert hidden.tenant == "another tenant" and hidden.lost_hosts == () and not hidden.fits
