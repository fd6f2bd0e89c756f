"""The notification outbox and alert resolution in the store, on SQLite and
PostgreSQL: one row per (hook, delivery key) whoever enqueues it, the cursor
moved in the same transaction, each attempt recorded; a resolution seen by
every reader once; a fenced former leader changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from ksystui.core.alert_resolution import Resolution
from ksystui.store import Feed, Fenced, LeaseStore
from ksystui.store.deliveries import (
    DELIVERED,
    GAVE_UP,
    PENDING,
    Deliveries,
    NewDelivery,
    StaleCursor,
)
from ksystui.store.engine import read_connection
from tests.store.test_feed import SERVICE, failure, kinds, snap


def new(hook: str, key: str = "ksystui:alert:n1:17@:alert.raised", ref: int = 1) -> NewDelivery:
    incident, kind = key.rsplit(":", 1)
    return NewDelivery(hook, key, incident, kind, "customerA", "n1", ref, "critical",
                       "HOST_FAILURE on n1", '{"kind": "alert.raised"}')


@pytest.fixture
def outboxes(engines):
    first, second = engines
    return Deliveries(first), Deliveries(second)


def test_enqueueing_moves_the_cursor_and_stores_each_hook_s_notification_once(outboxes):
    one, two = outboxes
    assert one.cursor() is None
    assert one.start_cursor(7) == 7 and two.start_cursor(3) == 7  # the first notifier's start stays
    assert one.enqueue(7, 9, [new("pager"), new("slack")]) == 2
    assert two.cursor() == 9
    with pytest.raises(StaleCursor):  # a notifier that read the cursor before it moved writes nothing
        two.enqueue(7, 9, [new("chat")])
    # a successor handling the same changes again: the same notifications are not stored twice
    assert two.enqueue(9, 10, [new("pager"), new("slack", "ksystui:alert:n1:17@:alert.acknowledged")]) == 1
    log = one.log()
    assert [(d.hook, d.kind, d.state, d.attempts) for d in log] == [
        ("slack", "alert.acknowledged", PENDING, 0), ("slack", "alert.raised", PENDING, 0),
        ("pager", "alert.raised", PENDING, 0)]
    assert one.log(hook="pager")[0].delivery_key == "ksystui:alert:n1:17@:alert.raised"


def test_each_attempt_is_recorded_until_delivered_or_given_up(outboxes):
    one, two = outboxes
    one.start_cursor(0)
    one.enqueue(0, 1, [new("pager"), new("slack")])
    pager, slack = sorted(one.due(), key=lambda d: d.hook)
    assert one.record_attempt(pager.id, 0, ok=False, status="HTTP 500", error="server error",
                              retry_in=timedelta(minutes=1))
    assert not two.record_attempt(pager.id, 0, ok=True, status="HTTP 200", error=None, retry_in=None)  # stale
    retry = one.log(hook="pager")[0].next_at
    assert retry - pager.created_at >= timedelta(minutes=1)
    assert [d.hook for d in one.due()] == ["slack"]
    assert [d.hook for d in one.due(retry)] == ["slack", "pager"]  # the soonest due first
    assert one.record_attempt(pager.id, 1, ok=True, status="HTTP 202", error=None, retry_in=None)
    assert one.record_attempt(slack.id, 0, ok=False, status="HTTP 404", error="x" * 2000, retry_in=None)
    by_hook = {d.hook: d for d in one.log()}
    assert (by_hook["pager"].state, by_hook["pager"].attempts, by_hook["pager"].last_status,
            by_hook["pager"].last_error) == (DELIVERED, 2, "HTTP 202", None)
    assert by_hook["pager"].delivered_at is not None
    assert (by_hook["slack"].state, by_hook["slack"].attempts, len(by_hook["slack"].last_error)) == (GAVE_UP, 1, 500)
    assert one.due(retry + timedelta(days=1)) == []
    assert one.notified([1]) == {1: ("pager ✓", "slack ✗ 1 try: HTTP 404")}


def test_an_alert_resolves_once_with_its_reason_and_a_resolve_change_every_reader_sees(engines):
    feed, reader = Feed(engines[0]), Feed(engines[1])
    (alert,) = feed.publish(snap(events=(failure(),))).new_alerts
    seq = reader.last_seq()
    (done,) = feed.resolve_alerts([Resolution(alert.id, "host hostA is Operating again")])
    assert done.resolved and done.resolved_why == "host hostA is Operating again"
    assert feed.resolve_alerts([Resolution(alert.id, "again")]) == []
    assert kinds(reader, seq) == [("resolve", "n1", alert.id)]
    seen = reader.alert(alert.id)
    assert seen.resolved_at is not None and seen.resolved_why == "host hostA is Operating again"
    assert not seen.needs_attention
    assert reader.alerts(open_only=True) == [] and reader.alerts(unresolved=True) == []
    assert [a.id for a in reader.alerts()] == [alert.id]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the same statements run on both above
def test_alerts_are_read_with_how_their_notifications_went(engines):
    feed, outbox = Feed(engines[0]), Deliveries(engines[1])
    (alert,) = feed.publish(snap(events=(failure(),))).new_alerts
    outbox.start_cursor(0)
    outbox.enqueue(0, 1, [new("pager", ref=alert.id)])
    (pending,) = outbox.log()
    outbox.record_attempt(pending.id, 0, ok=False, status="HTTP 500", error="boom", retry_in=timedelta(seconds=5))
    assert feed.alert(alert.id).notified == ("pager … 1 try: HTTP 500",)
    assert feed.alerts()[0].notified == ("pager … 1 try: HTTP 500",)
    assert kinds(feed)[-1] == ("notified", "n1", alert.id)  # consoles redraw its NOTIFIED cell


def test_a_fenced_former_leader_neither_enqueues_nor_records_nor_resolves(engines):
    engine = engines[0]
    lease = LeaseStore(engine)
    old = lease.take(SERVICE)
    feed = Feed(engine)
    (alert,) = feed.publish(snap(events=(failure(),))).new_alerts
    stale = Deliveries(engine, guard=lease.guard(SERVICE, old))
    stale.start_cursor(0)
    stale.enqueue(0, 1, [new("pager")])
    lease.release(SERVICE, old)
    assert lease.take("svc2:200:cd34", holds_lock=True) == old + 1  # another leader, a newer epoch
    with pytest.raises(Fenced):
        stale.enqueue(1, 2, [new("slack")])
    with pytest.raises(Fenced):
        stale.record_attempt(stale.log()[0].id, 0, ok=True, status="HTTP 200", error=None, retry_in=None)
    with pytest.raises(Fenced):
        feed.fenced(lease.guard(SERVICE, old)).resolve_alerts([Resolution(alert.id, "x")])
    assert Deliveries(engine).cursor() == 1
    assert [(d.hook, d.attempts) for d in Deliveries(engine).log()] == [("pager", 0)]
    with read_connection(engine) as conn:
        assert conn.execute(sa.text("SELECT resolved_at FROM alerts")).scalar() is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the same statements run on both above
def test_a_notification_waits_while_an_older_one_of_its_incident_is_pending_on_its_hook(outboxes):
    one, _ = outboxes
    one.start_cursor(0)
    one.enqueue(0, 1, [new("pager"), new("pager", "ksystui:alert:n1:17@:alert.resolved"),
                       new("slack", "ksystui:alert:n1:17@:alert.resolved")])
    # slack was not told of the raise (its filters): its resolution goes at once
    assert [(d.hook, d.kind) for d in one.due()] == [("pager", "alert.raised"), ("slack", "alert.resolved")]
    raised = one.due()[0]
    one.record_attempt(raised.id, 0, ok=False, status="HTTP 500", error=None, retry_in=None)  # given up
    assert [(d.hook, d.kind) for d in one.due()] == [("pager", "alert.resolved"), ("slack", "alert.resolved")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the same statements run on both above
def test_the_log_forgets_deliveries_that_ended_long_ago_never_pending_ones(outboxes):
    one, _ = outboxes
    one.start_cursor(0)
    one.enqueue(0, 1, [new("pager"), new("slack"), new("chat")])
    by_hook = {d.hook: d for d in one.log()}
    one.record_attempt(by_hook["pager"].id, 0, ok=True, status="HTTP 200", error=None, retry_in=None)
    one.record_attempt(by_hook["slack"].id, 0, ok=False, status="HTTP 500", error=None, retry_in=None)
    created = by_hook["pager"].created_at
    assert one.prune(created) == 0  # not older than that
    assert one.prune(created + timedelta(seconds=1)) == 2
    assert [d.hook for d in one.log()] == ["chat"]
