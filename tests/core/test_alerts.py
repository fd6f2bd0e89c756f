"""Which events raise an alert, and with which proposal."""

from __future__ import annotations

from datetime import UTC, datetime

from ksystui.core.alerts import AlertRecord, alerts_for
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import event_identity


def test_critical_events_raise_one_alert_each_with_the_recovery_the_core_proposes():
    host = KsysEvent("HOST_FAILURE", "error", "Host failure", "2026-11-30T08:00:00Z", "hostA", "7")
    repl = KsysEvent("REPLICATION_FAILURE", None, "broken", "2026-11-30T08:01:00Z", None, "8")
    odd = KsysEvent("SOMETHING_NEW", "error", "a newer KSYS")  # printed as an error: critical
    quiet = KsysEvent("VERIFY_SUCCESS", "info", event_id="9")
    alerts = alerts_for("n1", "customerA", [host, quiet, repl, odd, host])
    assert [(a.event, a.proposal) for a in alerts] == [("HOST_FAILURE", Op.MOVE_UNPLANNED),
                                                        ("REPLICATION_FAILURE", None), ("SOMETHING_NEW", None)]
    first = alerts[0]
    assert (first.identity, first.tenant, first.node, first.event_id, first.event_time, first.resource,
            first.description) == (event_identity("n1", host), "customerA", "n1", "7", "2026-11-30T08:00:00Z",
                                   "hostA", "Host failure")


def test_the_same_id_at_another_time_is_another_alert():
    before = KsysEvent("HOST_FAILURE", "error", time="2026-11-30T08:00:00Z", event_id="1")
    after = KsysEvent("HOST_FAILURE", "error", time="2026-11-30T09:00:00Z", event_id="1")
    assert len({a.identity for a in alerts_for("n1", "t", [before, after])}) == 2


def test_an_alert_record_is_acknowledged_once_it_has_an_ack_time():
    at = datetime(2026, 11, 30, tzinfo=UTC)
    record = AlertRecord(1, "n1:1@", "t", "n1", "HOST_FAILURE", "1", None, None, None, Op.MOVE_UNPLANNED, at,
                         None, None, None)
    assert not record.acknowledged
    assert AlertRecord(**{**record.__dict__, "acked_by": "a@b/c", "acked_at": at, "ack_reason": "x"}).acknowledged
