"""Each notice in each format validates against the shape its receiver
documents (tests/notify/vendor_shapes.py names the sources), and a receiver
can thread, deduplicate and close what it opened."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksystui.core.lifecycle import Op
from ksystui.core.notices import (
    alert_acknowledged,
    alert_raised,
    alert_resolved,
    hook_test_notice,
    operation_finished,
)
from ksystui.core.notify_payloads import payload
from ksystui.core.opstate import OpState
from tests.notify.builders import RAISED, acked, alert, operation, resolved
from tests.notify.vendor_shapes import (
    ALERTMANAGER_WEBHOOK,
    GENERIC_NOTICE,
    SLACK_MESSAGE,
    pagerduty_problems,
    problems,
)

KEY = "R0UT1NGKEY0123456789abcdef012345"  # 32 characters, like a real integration key

NOTICES = {
    "raised": alert_raised(alert()),
    "acknowledged": alert_acknowledged(acked()),
    "resolved": alert_resolved(resolved()),
    "op succeeded": operation_finished(operation(Op.VERIFY, OpState.SUCCEEDED)),
    "op failed": operation_finished(operation(Op.MOVE_UNPLANNED, OpState.FAILED, "exit 1: <vm3> & co")),
    "test": hook_test_notice("pager", RAISED, "0d4f"),
    "no proposal, no resource": alert_raised(alert(proposal=None, resource=None, event_id=None)),
}


@pytest.mark.parametrize("name", NOTICES)
def test_every_notice_validates_in_every_format(name):
    notice = NOTICES[name]
    assert problems(payload("generic", notice), GENERIC_NOTICE) == []
    assert problems(payload("alertmanager", notice), ALERTMANAGER_WEBHOOK) == []
    assert pagerduty_problems(payload("pagerduty", notice, routing_key=KEY)) == []
    assert problems(payload("slack", notice), SLACK_MESSAGE) == []
    for fmt in ("generic", "alertmanager", "pagerduty", "slack"):
        json.dumps(payload(fmt, notice, routing_key=KEY))  # JSON-ready as is


def test_the_validators_do_catch_a_broken_payload():
    """The shapes are not vacuous: each catches what its receiver would reject."""
    am = payload("alertmanager", NOTICES["raised"])
    assert problems({**am, "version": "3"}, ALERTMANAGER_WEBHOOK)
    bad_label = {**am, "alerts": [{**am["alerts"][0], "labels": {"tenant-name": "x", "alertname": "a"}}]}
    assert problems(bad_label, ALERTMANAGER_WEBHOOK)
    assert problems({**am, "alerts": [{**am["alerts"][0], "startsAt": "yesterday"}]}, ALERTMANAGER_WEBHOOK)
    pd = payload("pagerduty", NOTICES["raised"], routing_key=KEY)
    assert pagerduty_problems({**pd, "payload": {**pd["payload"], "severity": "fatal"}})
    assert pagerduty_problems({**pd, "dedup_key": "x" * 256})
    assert pagerduty_problems({k: v for k, v in pd.items() if k != "payload"})
    assert pagerduty_problems({**pd, "event_action": "resolve", "dedup_key": ""})
    assert problems({"text": "a <b>"}, SLACK_MESSAGE) and problems({}, SLACK_MESSAGE)


def test_pagerduty_opens_acknowledges_and_resolves_one_alert_by_its_dedup_key():
    events = [payload("pagerduty", NOTICES[n], routing_key=KEY) for n in ("raised", "acknowledged", "resolved")]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {NOTICES["raised"].incident}
    assert {e["routing_key"] for e in events} == {KEY}
    body = events[0]["payload"]
    assert body["severity"] == "critical" and body["source"] == "nodeA" and body["group"] == "customerA"
    assert body["class"] == "HOST_FAILURE" and body["component"] == "r7r3m116"
    assert body["timestamp"] == "2026-11-30T08:00:05Z"
    assert body["custom_details"]["delivery_key"] == NOTICES["raised"].delivery_key
    # a finished operation and a test trigger with their own severity and incident
    op = payload("pagerduty", NOTICES["op failed"], routing_key=KEY)
    assert (op["event_action"], op["dedup_key"], op["payload"]["severity"]) == ("trigger", "ksystui:op:12",
                                                                               "critical")


def test_pagerduty_keeps_a_long_incident_unique_within_255_characters():
    a, b = (alert_raised(alert(identity="n" * 300 + tail)) for tail in ("1", "2"))
    keys = [payload("pagerduty", n, routing_key=KEY)["dedup_key"] for n in (a, b)]
    assert all(len(k) <= 255 for k in keys) and keys[0] != keys[1]
    assert keys[0] == payload("pagerduty", a, routing_key=KEY)["dedup_key"]  # stable


def test_pagerduty_without_a_routing_key_is_refused_and_only_pagerduty_carries_it():
    with pytest.raises(ValueError, match="routing key"):
        payload("pagerduty", NOTICES["raised"])
    for fmt in ("generic", "alertmanager", "slack"):
        assert KEY not in json.dumps(payload(fmt, NOTICES["raised"], routing_key=KEY))
    with pytest.raises(ValueError, match="unknown"):
        payload("teams", NOTICES["raised"])


def test_alertmanager_fires_until_resolved_with_one_fingerprint_per_incident():
    raised, ack, gone = (payload("alertmanager", NOTICES[n]) for n in ("raised", "acknowledged", "resolved"))
    assert [p["status"] for p in (raised, ack, gone)] == ["firing", "firing", "resolved"]
    alerts = [p["alerts"][0] for p in (raised, ack, gone)]
    assert len({a["fingerprint"] for a in alerts}) == 1 and len(alerts[0]["fingerprint"]) == 16
    assert alerts[0]["endsAt"] == "0001-01-01T00:00:00Z" and alerts[2]["endsAt"] == "2026-11-30T08:40:05Z"
    assert {a["startsAt"] for a in alerts} == {"2026-11-30T08:00:05Z"}  # when the alert was raised
    labels = alerts[0]["labels"]
    assert labels["alertname"] == "HOST_FAILURE" and labels["severity"] == "critical"
    assert (labels["tenant"], labels["node"]) == ("customerA", "nodeA")
    assert alerts[0]["annotations"]["summary"] == NOTICES["raised"].summary
    assert alerts[1]["annotations"]["by"] == "ana@ops/tty1"
    # an operation that succeeded leaves nothing to act on; one that failed fires
    assert payload("alertmanager", NOTICES["op succeeded"])["status"] == "resolved"
    failed = payload("alertmanager", NOTICES["op failed"])
    assert failed["status"] == "firing" and failed["alerts"][0]["startsAt"] == "2026-11-30T08:05:05Z"


def test_slack_text_is_one_escaped_line_with_severity_first():
    text = payload("slack", NOTICES["op failed"])["text"]
    assert text.startswith("[CRITICAL] operation #12 move-unplanned for customerA failed")
    assert "&lt;vm3&gt; &amp; co" in text and "\n" not in text
    assert payload("slack", NOTICES["op succeeded"])["text"].startswith("[info] ")


def test_generic_carries_every_field_of_the_notice():
    n = NOTICES["acknowledged"]
    body = payload("generic", n)
    assert body["delivery_key"] == n.delivery_key and body["incident"] == n.incident
    assert body["details"] == dict(n.details) and body["at"] == "2026-11-30T08:03:05Z"
    assert (body["tenant"], body["node"], body["ref"], body["severity"]) == ("customerA", "nodeA", 7, "critical")


# whatever a node prints, in any field: control characters, markup, quotes, very long words
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
_NAME = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80)


@settings(max_examples=40, deadline=None)
@given(tenant=_NAME, node=_NAME, event=_NAME, resource=st.none() | _TEXT, description=st.none() | _TEXT,
       who=_TEXT, why=_TEXT)
def test_payloads_validate_whatever_text_a_node_or_an_operator_wrote(tenant, node, event, resource, description,
                                                                    who, why):
    base = dict(tenant=tenant, node=node, event=event, resource=resource, description=description,
                identity=f"{node}:{event}")
    for notice in (alert_raised(alert(**base)), alert_acknowledged(acked(**base)),
                   alert_resolved(resolved(why, **base)),
                   operation_finished(operation(Op.MOVE_UNPLANNED, OpState.FAILED, why, tenant=tenant, node=node,
                                                submitted_by=who or "x"))):
        assert "\n" not in notice.summary and len(notice.summary) <= 200
        assert problems(payload("generic", notice), GENERIC_NOTICE) == []
        assert problems(payload("alertmanager", notice), ALERTMANAGER_WEBHOOK) == []
        assert pagerduty_problems(payload("pagerduty", notice, routing_key=KEY)) == []
        assert problems(payload("slack", notice), SLACK_MESSAGE) == []
