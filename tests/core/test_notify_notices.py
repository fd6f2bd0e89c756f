"""What the service tells a receiver about alerts and operations, which hook
takes which notice, and how long a failed delivery waits (core/notices.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ksystui.config_oncall import NOTIFY_EVENTS, NotifyConfig
from ksystui.core.lifecycle import Op
from ksystui.core.notices import (
    Notice,
    alert_acknowledged,
    alert_raised,
    alert_resolved,
    hook_test_notice,
    operation_finished,
    retry_delay,
    wanted,
)
from ksystui.core.opstate import OpState
from tests.notify.builders import RAISED, acked, alert, operation, resolved


def test_the_three_notices_of_one_alert_share_its_incident_and_differ_by_delivery_key():
    raised, ack, gone = alert_raised(alert()), alert_acknowledged(acked()), alert_resolved(resolved())
    assert {n.incident for n in (raised, ack, gone)} == {"ksystui:alert:nodeA:41@2026-11-30T08:00:00Z"}
    assert [n.kind for n in (raised, ack, gone)] == ["alert.raised", "alert.acknowledged", "alert.resolved"]
    assert len({n.delivery_key for n in (raised, ack, gone)}) == 3
    assert raised.delivery_key == "ksystui:alert:nodeA:41@2026-11-30T08:00:00Z:alert.raised"
    # the same alert read again (another service, a restart) gives the same keys: a receiver drops the repeat
    assert alert_raised(alert()).delivery_key == raised.delivery_key
    # a critical alert stays critical through its acknowledgement and resolution: a hook filtering
    # on critical hears the end of what it paged
    assert {n.severity for n in (raised, ack, gone)} == {"critical"}
    assert {(n.tenant, n.node, n.ref) for n in (raised, ack, gone)} == {("customerA", "nodeA", 7)}


def test_a_raised_alert_says_what_where_and_the_proposed_recovery_on_one_line():
    n = alert_raised(alert())
    assert n.summary == "HOST_FAILURE on r7r3m116 (customerA, node nodeA) — proposed: move-unplanned"
    assert n.at == RAISED
    assert n.details["event"] == "HOST_FAILURE" and n.details["event_id"] == "41"
    assert n.details["proposal"] == "move-unplanned" and n.details["resource"] == "r7r3m116"
    assert all(isinstance(v, str) for v in n.details.values())
    long = alert_raised(alert(resource="host " * 200, proposal=None))
    assert "\n" not in long.summary and len(long.summary) <= 200 and long.summary.endswith("…")
    assert "proposal" not in long.details  # nothing proposed: no key, not "None"


def test_acknowledgement_says_who_and_why_and_when():
    n = alert_acknowledged(acked())
    assert n.summary.startswith("acknowledged by ana@ops/tty1: HOST_FAILURE on r7r3m116")
    assert n.summary.endswith("— moving customerA now")
    assert n.at == RAISED + timedelta(minutes=3)
    assert (n.details["by"], n.details["reason"]) == ("ana@ops/tty1", "moving customerA now")
    with pytest.raises(ValueError, match="not acknowledged"):
        alert_acknowledged(alert())


def test_resolution_takes_its_time_and_reason_from_the_record_or_the_caller():
    n = alert_resolved(resolved("host r7r3m116 is back"))
    assert n.at == RAISED + timedelta(minutes=40)
    assert n.summary.startswith("resolved: HOST_FAILURE") and n.summary.endswith("— host r7r3m116 is back")
    assert n.details["reason"] == "host r7r3m116 is back"
    # a record that keeps no resolution (older rows): the caller says when
    later = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert alert_resolved(alert(), at=later).at == later
    with pytest.raises(ValueError, match="no time"):
        alert_resolved(alert())


@pytest.mark.parametrize(("op", "state", "outcome", "severity"), [
    (Op.VERIFY, OpState.SUCCEEDED, "exit 0", "info"),
    (Op.MOVE_UNPLANNED, OpState.SUCCEEDED, "exit 0", "info"),
    (Op.DR_TEST, OpState.CANCELLED, None, "info"),
    (Op.VERIFY, OpState.FAILED, "exit 1: VM vm3 not ready", "warning"),
    (Op.DR_TEST, OpState.IN_DOUBT, "connection lost mid-command", "warning"),
    (Op.DR_TEST, OpState.FAILED, "refused before sending: no snapshot of the node", "warning"),
    (Op.MOVE_PLANNED, OpState.FAILED, "exit 1", "critical"),
    (Op.MOVE_UNPLANNED, OpState.FAILED, "exit 1", "critical"),
    (Op.MOVE_UNPLANNED, OpState.IN_DOUBT, "connection lost mid-command", "critical"),
    (Op.RECOVER, OpState.FAILED, "exit 2", "critical"),
    # a move refused before sending changed nothing: worth a look, not a page
    (Op.MOVE_UNPLANNED, OpState.FAILED, "refused before sending: it no longer applies", "warning"),
])
def test_an_operations_severity_follows_what_its_end_leaves_behind(op, state, outcome, severity):
    n = operation_finished(operation(op, state, outcome), "customerA")
    assert n.severity == severity
    assert n.kind == "operation.finished" and n.incident == "ksystui:op:12" and n.ref == 12
    assert n.details["op"] == op.value and n.details["state"] == state.value


def test_a_finished_operation_reads_on_one_line_with_its_outcome_and_time():
    op = operation(Op.MOVE_UNPLANNED, OpState.FAILED, "exit 1: vm3 did not start")
    n = operation_finished(op, "customerA")
    assert n.summary == "operation #12 move-unplanned for customerA failed: exit 1: vm3 did not start"
    assert n.at == op.finished_at and n.tenant == "customerA" and n.node == "nodeA"
    assert n.details["by"] == "ana@ops/tty1" and n.details["rc"] == "1"
    # in doubt with no end time: when the caller says, else when it started
    doubt = operation(state=OpState.IN_DOUBT, finished_at=None)
    assert operation_finished(doubt).at == doubt.started_at
    when = datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert operation_finished(doubt, at=when).at == when
    assert "in doubt" in operation_finished(doubt).summary


def hook(**fields) -> NotifyConfig:
    return NotifyConfig(name="h", kind="webhook", url="http://127.0.0.1:9/x", **fields)


def test_a_hook_takes_the_event_kinds_tenants_and_severities_it_names():
    critical = alert_raised(alert())
    ok = operation_finished(operation())
    other = alert_raised(alert(tenant="customerB"))
    everything = hook()
    assert all(wanted(everything, n) for n in (critical, ok, other))
    assert wanted(hook(events=["operation.finished"]), ok) and not wanted(hook(events=["operation.finished"]),
                                                                        critical)
    pager = hook(severities=["critical"])
    assert wanted(pager, critical) and not wanted(pager, ok)
    mine = hook(tenants=["customerA"])
    assert wanted(mine, critical) and not wanted(mine, other)


def test_a_hook_limited_to_tenants_takes_nothing_without_a_tenant_but_every_hook_takes_a_test():
    no_tenant = Notice(kind="alert.raised", tenant=None, node=None, severity="critical", summary="s",
                       at=RAISED, incident="i")
    mine = hook(tenants=["customerA"], events=["alert.resolved"], severities=["info"])
    assert not wanted(mine, no_tenant)
    test = hook_test_notice("h", RAISED, "7c9e")
    assert wanted(mine, test)
    assert test.kind == "test" and test.incident == "ksystui:test:7c9e" and test.tenant is None
    assert hook_test_notice("h", RAISED, "other").delivery_key != test.delivery_key
    assert set(NOTIFY_EVENTS) == {"alert.raised", "alert.acknowledged", "alert.resolved", "operation.finished"}


def test_retries_back_off_doubling_from_5s_to_a_10_minute_cap():
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert max(delays) == timedelta(minutes=10) == retry_delay(10_000)
    assert retry_delay(0) == retry_delay(1) == timedelta(seconds=5)
    assert [retry_delay(n) for n in range(1, 12)] == delays  # deterministic: jitter is the caller's
