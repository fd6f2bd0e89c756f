"""The disaster planner's inputs gathered (arbiter.disaster): from every
node's snapshot, the agreements, the queue's history and what runs now, a
plan that says who does not fit and by how much, when each tenant is back,
and — scoped — nothing of any other tenant's name."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ksystui.arbiter.disaster import PlanContext, busy_now, disaster_report
from ksystui.core.disaster_report import report_json, report_lines, verdict
from ksystui.core.failure_domains import UnknownFailureDomain
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.core.opstate import OpState
from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.tenants import TenantInfo
from ksystui.store.queue_types import QueuedOp
from tests.core.test_capacity import A_VMS, B_VMS, onprem, seed

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
CONTEXT = PlanContext(
    (TenantInfo("customerA", 1, "gold", ("r7r3m116",), rto=timedelta(minutes=30)),
     TenantInfo("customerB", 2, "silver", ("r7r3m108",), rto=timedelta(hours=1))),
    {"r7r3m116": {"city": "austin"}, "r7r3m108": {"city": "austin"}})


class History:
    """The queue's history as the planner reads it: past durations by
    (operation, node) and the operations holding resources now."""

    def __init__(self, durations: dict[tuple[str, str], list[float]] | None = None,
                 holding: list[QueuedOp] | None = None):
        self._durations = durations or {}
        self._holding = holding or []

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        return self._durations.get((str(op), node), [])[-limit:]

    async def holding(self) -> list[QueuedOp]:
        return self._holding


def running(op_id: int, tenant: str, node: str, op: Op, hosts: tuple[str, ...], started: datetime) -> QueuedOp:
    return QueuedOp(op_id, tenant, node, op, ("ksysmgr",), None, None, hosts, ("snorlax",), True, 1, 0, op_id, 0,
                    None, OpState.RUNNING, None, "svc", True, None, "op", started - timedelta(minutes=1),
                    started, started, None, None, None, None)


MOVES = {(Op.MOVE_UNPLANNED.value, "r7r3m116"): [600.0, 660.0, 720.0], (Op.MOVE_UNPLANNED.value, "r7r3m108"): [900.0]}


async def test_with_a_300_gb_snorlax_the_plan_says_customerB_does_not_fit_and_by_how_much():
    report = await disaster_report(History(MOVES), seed(snorlax_gb=300), "city=austin", context=CONTEXT, now=NOW)
    by_tenant = {o.tenant: o for o in report.plan.outcomes}
    a, b = by_tenant["customerA"], by_tenant["customerB"]
    assert a.fits and a.position < b.position and a.finish_s is not None
    assert not b.fits and b.start_s is None
    assert verdict(b) == "DOES NOT FIT short 180 GB on snorlax"
    (short,) = b.shortfalls
    assert short.short.memory_gb == pytest.approx(180)
    snorlax = next(h for h in report.plan.hosts if h.name == "snorlax")
    assert not snorlax.fits and snorlax.needed.memory_gb == pytest.approx(480)
    assert report.problems == (b,)


async def test_with_room_for_both_each_tenant_gets_a_start_and_finish_from_its_past_moves():
    report = await disaster_report(History(MOVES), seed(snorlax_gb=512), "", context=CONTEXT, now=NOW)
    by_tenant = {o.tenant: o for o in report.plan.outcomes}
    a, b = by_tenant["customerA"], by_tenant["customerB"]
    assert a.fits and b.fits
    assert a.finish_s - a.start_s == pytest.approx(660)  # the median of its three unplanned moves
    assert b.start_s >= a.finish_s  # both boot on snorlax: one after the other, customerA first
    assert report.when(a.finish_s) == NOW + timedelta(seconds=a.finish_s)
    assert "3 past unplanned moves" in a.basis


async def test_an_operation_holding_snorlax_when_the_disaster_strikes_delays_the_first_recovery():
    started = NOW - timedelta(minutes=4)
    dr_test = running(7, "customerB", "r7r3m108", Op.DR_TEST, ("u-snorlax",), started)
    history = History({**MOVES, (Op.DR_TEST.value, "r7r3m108"): [600.0]}, [dr_test])
    (busy,) = await busy_now(history, NOW)
    assert busy.remaining_s == pytest.approx(360) and busy.claims == frozenset({"u-snorlax"})
    report = await disaster_report(history, seed(), "pbrazos", context=CONTEXT, now=NOW)
    (a,) = report.plan.outcomes
    assert a.start_s >= 360


async def test_a_scoped_report_names_no_other_tenant():
    report = await disaster_report(History(MOVES), seed(snorlax_gb=300), "city=austin", context=CONTEXT,
                                   scope="customerB", now=NOW)
    text = "\n".join(report_lines(report)) + json.dumps(report_json(report))
    for word in ("customerA", "r7r3m116", "pbrazos"):
        assert word not in text, word
    assert "customerB" in text and "DOES NOT FIT" in text and "180 GB" in text
    assert [n.node for n in report.failure.nodes] == ["r7r3m108"]


async def test_a_node_never_read_is_said_not_planned():
    a, b = seed()
    unread = NodeSnapshot(b.node, b.tenant, Flavour.ONPREM, 10)
    report = await disaster_report(History(), [a, unread], "city=austin", context=CONTEXT, now=NOW)
    assert [o.tenant for o in report.plan.outcomes] == ["customerA"]
    assert report.notes == ("r7r3m108 (customerB) fails and was never read: its recovery is not in the plan",)
    scoped = await disaster_report(History(), [a, unread], "city=austin", context=CONTEXT, scope="customerA",
                                   now=NOW)
    assert scoped.notes == ("a node of another tenant fails and was never read: its recovery is not in the plan",)


async def test_a_name_that_takes_nothing_down_is_refused():
    with pytest.raises(UnknownFailureDomain, match="service_provider"):  # a backup site: nobody's production
        await disaster_report(History(), seed(), "service_provider", context=CONTEXT, now=NOW)


async def test_the_json_gives_seconds_and_iso_times():
    report = await disaster_report(History(MOVES), seed(), "pbrazos", context=CONTEXT, now=NOW)
    data = report_json(report)
    (a,) = data["tenants"]
    assert a["tenant"] == "customerA" and a["rto_s"] == 1800 and a["fits"] is True
    assert datetime.fromisoformat(a["finish"]) == NOW + timedelta(seconds=a["finish_s"])
    assert data["fail"] == ["pbrazos"] and data["failed_nodes"][0]["hosts"] == ["pbrazos"]
    assert json.loads(json.dumps(data)) == data


def test_a_verdict_reads_as_a_provider_says_it():
    from ksystui.core.disaster import Outcome

    ok = Outcome("t", "n", 1, 0.0, 600.0, timedelta(minutes=30), None, True, (), "x")
    assert verdict(ok) == "meets (20m00s to spare)"
    assert verdict(replace(ok, finish_s=2220.0, breach_s=420.0)) == "BREACH by 7m00s"
    assert verdict(replace(ok, rto=None)) == "no RTO agreed"


async def test_a_scoped_reader_is_alarmed_by_its_own_trouble_only():
    args = (History(MOVES), seed(snorlax_gb=300), "city=austin")
    everyone = await disaster_report(*args, context=CONTEXT, now=NOW)
    assert report_lines(everyone)[-1] == "At risk: customerB (r7r3m108): DOES NOT FIT short 180 GB on snorlax"
    a_only = await disaster_report(*args, context=CONTEXT, scope="customerA", now=NOW)
    assert a_only.problems == () and report_lines(a_only)[-1] == "Every recovery fits, and none breaches its RTO."


async def test_a_failed_node_read_long_ago_is_planned_and_said_to_be_stale():
    later = NOW + timedelta(hours=2)  # the snapshots were read at NOW, every 10 s
    report = await disaster_report(History(MOVES), seed(), "pbrazos", context=CONTEXT, now=later)
    assert report.notes == ("r7r3m116: its data is 2h00m old (stale): planned on it all the same",)
    assert [o.tenant for o in report.plan.outcomes] == ["customerA"]


async def test_without_a_past_unplanned_move_the_planned_ones_say_how_long_it_takes():
    history = History({(Op.MOVE_PLANNED.value, "r7r3m116"): [500.0, 700.0]})
    report = await disaster_report(history, seed(), "pbrazos", context=CONTEXT, now=NOW)
    (a,) = report.plan.outcomes
    assert (a.finish_s, a.basis) == (600.0, "median of 2 past planned moves")


class Counting(History):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.reads = 0

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        self.reads += 1
        return await super().durations(op, node, limit)


async def test_a_view_that_plans_again_reads_the_histories_again_only_once_an_operation_ended():
    """``:plan`` plans every 5 s: at 500 nodes each plan read 500–1,000
    histories. ``RecentHistory`` reads each once, and again only when what
    holds resources changed (a duration is added only when one ends)."""
    from ksystui.arbiter.disaster import RecentHistory

    queue = Counting(dict(MOVES), [running(7, "customerC", "ksysorch-dal12", Op.VERIFY, (), NOW)])
    recent = RecentHistory(queue)
    first = await disaster_report(await recent.fresh(), seed(), "city=austin", context=CONTEXT, now=NOW)
    reads = queue.reads
    again = await disaster_report(await recent.fresh(), seed(), "city=austin", context=CONTEXT, now=NOW)
    assert queue.reads == reads and again.plan == first.plan  # nothing read again, the same plan
    queue._holding = []  # the verify ended: its duration may be in the history now
    queue._durations[(Op.MOVE_UNPLANNED.value, "r7r3m116")] = [60.0]
    later = await disaster_report(await recent.fresh(), seed(), "city=austin", context=CONTEXT, now=NOW)
    assert queue.reads > reads
    assert {o.tenant: o.basis for o in later.plan.outcomes}["customerA"] == "median of 1 past unplanned move"


async def test_once_customerA_runs_on_snorlax_a_disaster_there_leaves_customerB_no_recovery_host():
    """Tried in the demo: after customerA's move to snorlax, ``:plan`` (every
    production host fails: snorlax is now customerA's) still sent customerB
    to snorlax, "fits", counting customerA's 280 GB as still running on the
    host that had just failed."""
    report = await disaster_report(History(MOVES), seed(a_moved=True), (), context=CONTEXT, now=NOW)
    by_tenant = {o.tenant: o for o in report.plan.outcomes}
    a, b = by_tenant["customerA"], by_tenant["customerB"]
    assert a.fits and a.finish_s is not None  # home to pbrazos, which stands
    assert not b.fits and b.start_s is None and b.finish_s is None
    assert verdict(b) == "NO RECOVERY HOST: snorlax fails too"
    snorlax = next(h for h in report.plan.hosts if h.name == "snorlax")
    assert snorlax.down and not snorlax.fits
    assert report.problems == (b,)
    lines = report_lines(report)
    assert lines[-1].startswith("At risk: customerB (r7r3m108): NO RECOVERY HOST: snorlax fails too"), lines
    assert any(line.split()[:1] == ["snorlax"] and line.endswith("FAILS in this disaster") for line in lines), lines
    data = report_json(report)
    assert [t["lost_hosts"] for t in data["tenants"]] == [[], ["snorlax"]]
    assert {h["host"]: h["down"] for h in data["hosts"]} == {"pbrazos": False, "snorlax": True}
    # no what-if offers to enlarge a host that is down
    assert not any("snorlax +" in w.title for w in report.plan.what_ifs)


async def test_a_tenant_that_does_not_fail_is_told_its_recovery_host_does():
    report = await disaster_report(History(MOVES), seed(a_moved=True), "snorlax", context=CONTEXT, now=NOW)
    assert [o.tenant for o in report.plan.outcomes] == ["customerA"]
    assert ("r7r3m108 (customerB) does not fail, but its recovery host snorlax does: it could not recover "
            "until snorlax is back") in report.notes
    scoped = await disaster_report(History(MOVES), seed(a_moved=True), "snorlax", context=CONTEXT, now=NOW,
                                   scope="customerA")
    assert [o.tenant for o in scoped.plan.outcomes] == ["customerA"]
    assert not any("customerB" in n or "r7r3m108" in n for n in scoped.notes)


async def test_a_tenant_caught_in_its_own_dr_test_recovers_into_the_room_of_its_clones():
    """Tried in the demo: during customerB's DR test (200 GB of clones on
    snorlax) ``:plan`` said customerB "DOES NOT FIT short 168 GB, 10.5 CPU
    on snorlax": its own rehearsal clones stood in the way of its recovery.
    A node that fails abandons its rehearsal; its clones go."""
    snaps = [onprem("r7r3m116", "customerA", "pbrazos", A_VMS),
             onprem("r7r3m108", "customerB", "raichu", B_VMS, dr_test="ACTIVE")]
    report = await disaster_report(History(MOVES), snaps, "city=austin", context=CONTEXT, now=NOW)
    assert [verdict(o).split(" (")[0] for o in report.plan.outcomes] == ["meets", "meets"]
    (snorlax,) = [h for h in report.plan.hosts if h.name == "snorlax"]
    assert snorlax.fits and snorlax.before.memory_gb == 0
    assert ("r7r3m108: its DR test clones (200 GB, 12.5 CPU on snorlax) are taken as cleaned up before it "
            "recovers") in report.notes
    # a tenant that does not fail keeps its rehearsal: its clones still hold the host
    only_a = await disaster_report(History(MOVES), snaps, "pbrazos", context=CONTEXT, now=NOW)
    (snorlax,) = [h for h in only_a.plan.hosts if h.name == "snorlax"]
    assert snorlax.before.memory_gb == 200
    assert not any("clones" in n for n in only_a.notes)


async def test_the_shared_recovery_host_failing_takes_no_one_down_but_every_tenant_on_it_is_told():
    """``--fail snorlax`` before anyone moved was refused ("not where any node
    runs production"): a provider could not ask what losing the shared
    recovery host itself means."""
    report = await disaster_report(History(MOVES), seed(), "snorlax", context=CONTEXT, now=NOW)
    assert report.plan.outcomes == () and report.problems == ()
    data = report_json(report)
    assert data["failed_nodes"] == [] and data["recovery_hosts_down"] == ["u-snorlax"]
    assert [n for n in report.notes if "does not fail" in n] == [
        "r7r3m116 (customerA) does not fail, but its recovery host snorlax does: it could not recover until "
        "snorlax is back",
        "r7r3m108 (customerB) does not fail, but its recovery host snorlax does: it could not recover until "
        "snorlax is back"]
    scoped = await disaster_report(History(MOVES), seed(), "snorlax", context=CONTEXT, now=NOW, scope="customerA")
    assert [n for n in scoped.notes if "does not fail" in n] == [
        "r7r3m116 (customerA) does not fail, but its recovery host snorlax does: it could not recover until "
        "snorlax is back"]
    # with customerA's production too: it has nowhere to go
    both = await disaster_report(History(MOVES), seed(), "pbrazos,snorlax", context=CONTEXT, now=NOW)
    (a,) = both.plan.outcomes
    assert verdict(a) == "NO RECOVERY HOST: snorlax fails too" and both.problems == (a,)
