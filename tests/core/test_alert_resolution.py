"""When an alert resolves on its own: a newer poll or an operation that ended."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ksystui.core.alert_resolution import Resolution, resolved_by_operation, resolved_by_snapshot
from ksystui.core.alerts import HOLDER_UNREACHABLE, AlertRecord
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, KsysEvent
from ksystui.core.opstate import OpState
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

RAISED = datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC)


def alert(id: int = 1, event: str = "HOST_FAILURE", resource: str | None = "hostA", node: str = "n1",
          proposal: Op | None = Op.MOVE_UNPLANNED, identity: str | None = None) -> AlertRecord:
    return AlertRecord(id, identity or f"{node}:{id}@", "customerA", node, event, str(id), "2026-11-30T08:00:00Z",
                       None, resource, proposal, RAISED, None, None, None)


def snap(*, node: str = "n1", host_state: str = "Operating", hosts_read: datetime | None = None,
         events: tuple[KsysEvent, ...] = (), last_success: datetime | None = None) -> NodeSnapshot:
    read = hosts_read or RAISED + timedelta(seconds=10)
    return NodeSnapshot(node, "customerA", Flavour.ONPREM, 10.0, {
        "host": Section("host", (Host("hostA", state=host_state),), read),
        "event": Section("event", events, read),
    }, NodeHealth(last_success=last_success))


def test_a_host_failure_resolves_when_the_host_operates_again_in_a_list_read_after_the_alert():
    assert resolved_by_snapshot([alert()], snap(host_state="Error")) == []
    # the host list that showed the failure (read before the alert was raised) resolves nothing
    assert resolved_by_snapshot([alert()], snap(hosts_read=RAISED - timedelta(seconds=1))) == []
    assert resolved_by_snapshot([alert()], snap()) == [Resolution(1, "host hostA is Operating again")]


def test_the_event_that_clears_it_resolves_an_alert_when_it_is_newer_and_about_the_same_resource():
    back = KsysEvent("HMC_REACHABLE", "info", None, "2026-11-30T08:03:00Z", "hmc1", "9")
    hmc = alert(event="HMC_UNREACHABLE", resource="hmc1", proposal=None)
    assert resolved_by_snapshot([hmc], snap(events=(back,))) == [
        Resolution(1, "HMC_REACHABLE hmc1 at 2026-11-30T08:03:00Z")]
    assert resolved_by_snapshot([hmc], snap(events=(replace(back, resource="hmc2"),))) == []
    assert resolved_by_snapshot([hmc], snap(events=(replace(back, time="2026-11-30T07:59:00Z"),))) == []


def test_only_the_nodes_own_unresolved_alerts_are_resolved():
    other = alert(2, node="n2")
    done = replace(alert(3), resolved_at=RAISED, resolved_why="earlier")
    assert resolved_by_snapshot([other, done, alert(4)], snap()) == [Resolution(4, "host hostA is Operating again")]


def test_a_holder_unreachable_alert_resolves_when_the_node_answers_or_its_operation_ends():
    held = alert(5, event=HOLDER_UNREACHABLE, resource="hostB", proposal=None, identity=f"n1|{HOLDER_UNREACHABLE}|op42")
    assert resolved_by_snapshot([held], snap(last_success=RAISED - timedelta(seconds=5))) == []
    assert resolved_by_snapshot([held], snap(last_success=RAISED + timedelta(seconds=5))) == [
        Resolution(5, "node n1 answers again")]
    end = dict(node="n1", op=Op.MOVE_PLANNED, finished_at=RAISED + timedelta(minutes=1))
    assert resolved_by_operation([held], op_id=41, state=OpState.FAILED, **end) == []
    assert resolved_by_operation([held], op_id=42, state=OpState.IN_DOUBT, **end) == []
    assert resolved_by_operation([held], op_id=42, state=OpState.FAILED, **end) == [
        Resolution(5, "operation #42 (move) ended: failed")]


def test_the_proposed_recovery_or_a_repair_that_succeeded_after_the_alert_resolves_it():
    later = RAISED + timedelta(minutes=3)
    host = alert()
    assert resolved_by_operation([host], op_id=7, node="n1", op=Op.MOVE_UNPLANNED, state=OpState.SUCCEEDED,
                                 finished_at=later) == [Resolution(1, "operation #7 (move-unplanned) succeeded")]
    assert resolved_by_operation([host], op_id=7, node="n1", op=Op.MOVE_UNPLANNED, state=OpState.FAILED,
                                 finished_at=later) == []
    assert resolved_by_operation([host], op_id=7, node="n1", op=Op.MOVE_UNPLANNED, state=OpState.SUCCEEDED,
                                 finished_at=RAISED - timedelta(minutes=1)) == []
    assert resolved_by_operation([host], op_id=7, node="n2", op=Op.MOVE_UNPLANNED, state=OpState.SUCCEEDED,
                                 finished_at=later) == []
    verify = alert(2, event="VERIFY_FAILED", resource=None, proposal=None)
    assert resolved_by_operation([verify], op_id=8, node="n1", op=Op.DR_TEST, state=OpState.SUCCEEDED,
                                 finished_at=later) == []
    assert resolved_by_operation([verify], op_id=9, node="n1", op=Op.VERIFY, state=OpState.SUCCEEDED,
                                 finished_at=later) == [Resolution(2, "operation #9 (verify) succeeded")]
