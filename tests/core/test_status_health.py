"""The status report tells the truth about each node (pure: from snapshots).

Issue 11 (Headless) and issue 16 (Health that lies): a slow node made the
healthy ones "stale 45s" and itself "fresh 0s"; unreadable output read
"unknown" and a REST service answering 401 read "fresh", both with exit 0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ksystui.core.model import Flavour, Host, Site
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.core.status import NodeState, build_status, judge_node, render_text, to_json
from ksystui.core.tenants import TenantInfo

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
TENANTS = [TenantInfo("customerA", 1, "gold", ("nodeA",)), TenantInfo("customerB", 2, "gold", ("nodeB",)),
           TenantInfo("customerC", 3, "gold", ("nodeC",))]
TENANT_OF = {"nodeA": "customerA", "nodeB": "customerB", "nodeC": "customerC"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def read(node: str, when: datetime | None, *, interval: float = 10.0, hosts: tuple[Host, ...] = (),
         errors: dict[str, str] | None = None, health: NodeHealth | None = None) -> NodeSnapshot:
    """A node whose last successful read was ``when`` (None: never)."""
    sections = {"vm": Section("vm", (), when)}
    if hosts:
        sections["host"] = Section("host", hosts, when)
        sections["site"] = Section("site", (Site("home", "ACTIVE"), Site("backup", "BACKUP")), when)
    for kind, error in (errors or {}).items():
        sections[kind] = Section(kind, (), None, error)
    return NodeSnapshot(node, TENANT_OF[node], Flavour.ONPREM, interval, sections,
                        health or NodeHealth(last_attempt=when, last_success=when,
                                             next_attempt=None if when is None else when + timedelta(seconds=interval)))


def states(report) -> dict[str, str]:
    return {n.node: n.state.value for n in report.nodes}


def test_a_slow_node_never_makes_the_others_stale():
    """Headless: "one node answering slowly took 46 s, reported the two
    healthy nodes 'stale 45s' and the slow one 'fresh 0s'". Read during this
    run, every node is as fresh as the run; the ages stay true."""
    snaps = {"nodeA": read("nodeA", at(0.4)), "nodeB": read("nodeB", at(45.5)), "nodeC": read("nodeC", at(0.6))}
    report = build_status(snaps, TENANTS, at(46), asked_at=at(0))
    assert states(report) == {"nodeA": "fresh", "nodeB": "fresh", "nodeC": "fresh"}
    assert {n.node: n.age_seconds for n in report.nodes} == {"nodeA": 45.6, "nodeB": 0.5, "nodeC": 45.4}
    assert report.problems == ()


def test_a_node_silent_at_the_deadline_is_slow_with_its_last_good_data():
    """Headless: "with a 45 s node it had not returned after 120 s"; by the
    deadline it is reported slow, with the true age of its last good read,
    and the host it pairs still counts as shared."""
    snorlax = Host("snorlax", "uuid-snorlax", "backup")
    a = read("nodeA", at(1), hosts=(Host("raichu", "uuid-raichu", "home", "snorlax"), snorlax))
    b_last_good = read("nodeB", at(-300), hosts=(Host("pikachu", "uuid-pikachu", "home", "snorlax"), snorlax))
    report = build_status({"nodeA": a, "nodeB": b_last_good, "nodeC": read("nodeC", at(1))}, TENANTS, at(20),
                          asked_at=at(0), late={"nodeB"}, deadline=20)
    assert states(report) == {"nodeA": "fresh", "nodeB": "slow", "nodeC": "fresh"}
    b = next(n for n in report.nodes if n.node == "nodeB")
    assert b.age_seconds == 320 and b.reason == "no answer within the 20 s deadline (--timeout); last good read 5m20s ago"
    assert [(h.name, h.tenants) for h in report.shared_hosts] == [("snorlax", ("customerA", "customerB"))]
    assert "! nodeB: slow: no answer within the 20 s deadline" in render_text(report)
    assert [p["node"] for p in to_json(report)["problems"]] == ["nodeB"]


def test_a_node_never_read_and_silent_says_so():
    state, reasons = judge_node(read("nodeB", None), at(20), asked_at=at(0), late=True, deadline=20)
    assert state is NodeState.SLOW and reasons == ["no answer within the 20 s deadline (--timeout); "
                                                   "never read successfully"]


def test_stale_data_is_a_problem_with_its_age():
    """Health that lies: stale data must fail the report, with the reason."""
    snap = read("nodeA", at(0), health=NodeHealth(last_attempt=at(0), last_success=at(0), next_attempt=at(200)))
    report = build_status({"nodeA": snap}, TENANTS, at(95))
    assert states(report) == {"nodeA": "stale"}
    assert report.problems[0].reason == "last good read 1m35s ago (expected every 10 s)"


def test_a_read_the_service_has_waited_for_too_long_is_slow():
    """On the service's data a slow node shows as a read that is overdue."""
    snap = read("nodeB", at(0))  # next attempt due at 10 s; nothing published since
    state, reasons = judge_node(snap, at(45))
    assert state is NodeState.SLOW
    assert reasons == ["the provider service's read of it is 35s overdue; last good read 45s ago"]


def test_unreadable_output_is_a_problem_not_unknown():
    """Health that lies / Headless: "A node whose output cannot be parsed
    reads 'unknown' with exit 0"."""
    errors = {k: f"cannot read ksysmgr query {k}: line 3: a record cut in half" for k in ("vm", "site")}
    snap = read("nodeB", None, errors=errors,
                health=NodeHealth(last_attempt=at(0), last_error=errors["site"], error_kind="parse",
                                  consecutive_failures=1))
    report = build_status({"nodeB": snap}, TENANTS, at(1), asked_at=at(0))
    assert states(report) == {"nodeB": "unreadable"}
    assert report.problems[0].reason == "output of ksysmgr query site, vm cannot be read (line 3: a record cut in half)"


def test_a_rest_service_rejecting_its_token_is_a_problem_not_fresh():
    """Health that lies: "says 'fresh' while the REST service answers 401"."""
    error = "DR Automation service: token rejected by the DR Automation service (HTTP 401)"
    snap = read("nodeC", at(0.5), errors={"service": error},
                health=NodeHealth(last_attempt=at(0), last_success=at(0.5), last_error=error,
                                  error_kind="service_auth_failed", next_attempt=at(10.5)))
    for asked_at in (at(0), None):  # read now, or the service's read
        report = build_status({"nodeC": snap}, TENANTS, at(1), asked_at=asked_at)
        assert states(report) == {"nodeC": "degraded"}
        assert report.problems[0].reason == error


def test_an_unreachable_node_keeps_the_age_of_its_last_good_read():
    snap = read("nodeB", at(-60), health=NodeHealth(last_attempt=at(0), last_success=at(-60),
                                                    last_error="nodeB: cannot connect: refused",
                                                    error_kind="unreachable", consecutive_failures=1))
    report = build_status({"nodeB": snap}, TENANTS, at(1), asked_at=at(0))
    assert states(report) == {"nodeB": "unreachable"}
    assert report.nodes[0].age_seconds == 61
    assert report.nodes[0].reason == "cannot connect: refused; last good read 1m01s ago"  # the line names nodeB
    assert to_json(report)["unreachable"] == ["nodeB"]


def test_a_reason_is_one_line_of_reasonable_length():
    garbage = "cannot read ksysmgr query vm: line 11: binary data: " + "x" * 500
    snap = read("nodeB", None, errors={"vm": garbage},
                health=NodeHealth(last_attempt=at(0), last_error=garbage, error_kind="parse", consecutive_failures=1))
    state, reasons = judge_node(snap, at(1), asked_at=at(0))
    assert state is NodeState.UNREADABLE and len(reasons) == 1 and len(reasons[0]) == 200
    assert reasons[0].startswith("output of ksysmgr query vm cannot be read (line 11: binary data: xxx")


def test_a_scoped_report_judges_only_its_tenant():
    down = read("nodeB", None, health=NodeHealth(last_attempt=at(0), last_error="nodeB: cannot connect",
                                                 error_kind="unreachable", consecutive_failures=1))
    report = build_status({"nodeA": read("nodeA", at(0.5)), "nodeB": down}, TENANTS, at(1), scope="customerA",
                          asked_at=at(0))
    assert states(report) == {"nodeA": "fresh"} and report.problems == ()
    assert "nodeB" not in render_text(report) and "nodeB" not in str(to_json(report))
