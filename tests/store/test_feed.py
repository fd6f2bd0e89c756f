"""The change feed on SQLite and PostgreSQL: what a console following it
notices, once, in order, and what a fenced former leader cannot change."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ksystui.core.actor import Actor
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, KsysEvent, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.store import AsyncFeed, Feed, Fenced, LeaseStore, Queue, Store
from ksystui.store.engine import read_connection
from tests.store.threads import race

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = Actor("alice", "noc1", "console-1")
BOB = Actor("bob", "noc2", "console-2")
SERVICE = "svc1:100:ab12"


def failure(event_id: str = "17", at: str = "2026-11-30T08:59:00Z", **kw) -> KsysEvent:
    return KsysEvent("HOST_FAILURE", "error", "Host failure has been detected.", at, "hostA", event_id, **kw)


def info(event_id: str, at: str = "2026-11-30T08:58:00Z") -> KsysEvent:
    return KsysEvent("VERIFY_SUCCESS", "info", "Verification has succeeded.", at, None, event_id)


# hostA runs the tenant's VM; its recovery host hostB operates: a failure of hostA calls for an unplanned move
HOSTS = (Host("hostA", "uuid-a", "home", "hostB", "Error"), Host("hostB", "uuid-b", "backup", "hostA", "Operating"))
VMS = (Vm("vm1", state="READY_TO_MOVE", host="hostA"),)


def snap(node: str = "n1", tenant: str = "customerA", events: tuple[KsysEvent, ...] = (), *, poll: int = 1,
         at: datetime | None = None) -> NodeSnapshot:
    when = at or T0 + timedelta(seconds=poll)
    sections = {"event": Section("event", events, when), "host": Section("host", HOSTS, when),
                "vm": Section("vm", VMS, when)}
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 10.0, sections=sections,
                        health=NodeHealth(last_attempt=when, last_success=when), sequence=poll)


@pytest.fixture
def feeds(engines):
    first, second = engines
    return Feed(first), Feed(second)


def kinds(feed: Feed, since: int = 0) -> list[tuple[str, str | None, int | None]]:
    return [(c.kind, c.node, c.ref) for c in feed.changes_since(since)]


# --- publishing ------------------------------------------------------------------------------------
def test_a_publish_stores_the_snapshot_new_events_and_one_alert_and_says_so_in_the_feed(feeds):
    feed, reader = feeds
    assert reader.last_seq() == 0
    published = feed.publish(snap(events=(info("16"), failure())))
    assert [e.event_id for e in published.new_events] == ["16", "17"]
    (alert,) = published.new_alerts
    assert (alert.node, alert.tenant, alert.event, alert.event_id, alert.proposal) == \
        ("n1", "customerA", "HOST_FAILURE", "17", Op.MOVE_UNPLANNED)
    assert not alert.acknowledged
    assert kinds(reader) == [("snapshot", "n1", None), ("alert", "n1", alert.id)]
    assert published.seq == reader.last_seq() == reader.changes_since(0)[-1].seq
    stored = reader.snapshots()["n1"]
    assert stored.sequence == 1 and stored.events == (info("16"), failure())
    assert reader.alerts() == [alert]
    with read_connection(reader.engine) as conn:
        assert conn.exec_driver_sql("SELECT sequence, seq FROM snapshots").one() == (1, reader.changes_since(0)[0].seq)


def test_the_next_poll_stores_only_what_is_new_and_an_older_poll_never_replaces_a_newer(feeds):
    feed, reader = feeds
    feed.publish(snap(events=(failure(),), poll=2))
    again = feed.publish(snap(events=(failure(), info("18")), poll=3))
    assert [e.event_id for e in again.new_events] == ["18"] and again.new_alerts == ()
    late = feed.publish(snap(events=(failure(),), poll=1))  # a late write of an older poll
    assert late.new_events == () and late.new_alerts == ()
    assert reader.snapshots()["n1"].sequence == 3
    assert [k for k, *_ in kinds(reader)] == ["snapshot", "alert", "snapshot"]  # the older poll: no change
    assert len(reader.alerts()) == 1


def test_two_publishers_at_once_store_each_event_and_alert_once(feeds):
    one, two = feeds
    events = tuple(failure(str(i), f"2026-11-30T08:{i:02d}:00Z") for i in range(20))
    results = race(lambda: one.publish(snap(events=events, poll=1)), lambda: two.publish(snap(events=events, poll=2)))
    assert sorted(e.event_id for r in results for e in r.new_events) == sorted(e.event_id for e in events)
    assert sorted(a.event_id for r in results for a in r.new_alerts) == sorted(e.event_id for e in events)
    assert len(one.alerts()) == 20
    assert len([c for c in one.changes_since(0) if c.kind == "alert"]) == 20


def test_a_restarted_node_re_using_an_event_id_at_a_new_time_raises_a_new_alert(feeds):
    feed, reader = feeds
    first = feed.publish(snap(events=(failure("1", "2026-11-30T08:00:00Z"),), poll=1)).new_alerts
    # the node restarted: it numbers its events from 1 again
    second = feed.publish(snap(events=(failure("1", "2026-11-30T09:30:00Z"),), poll=2)).new_alerts
    assert len(first) == len(second) == 1 and first[0].id != second[0].id
    assert [a.event_time for a in reader.alerts()] == ["2026-11-30T09:30:00Z", "2026-11-30T08:00:00Z"]


def test_an_event_stored_by_a_console_before_the_service_still_raises_its_alert(feeds):
    feed, _ = feeds
    Store(feed.engine).add_events("n1", "customerA", [failure()])
    published = feed.publish(snap(events=(failure(),)))
    assert published.new_events == () and len(published.new_alerts) == 1


def test_seq_only_grows_and_is_never_reused_after_a_prune(feeds):
    feed, reader = feeds
    seqs = [feed.publish(snap(poll=i)).seq for i in range(1, 6)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert feed.prune(datetime.now(UTC) + timedelta(days=1)) == 4  # the newest is kept
    assert reader.last_seq() == seqs[-1]
    assert feed.prune(datetime.now(UTC) + timedelta(days=1)) == 0
    assert feed.publish(snap(poll=9)).seq > seqs[-1]
    assert [c.seq for c in reader.changes_since(0)] == [seqs[-1], reader.last_seq()]


def test_changes_since_pages_and_scopes_by_tenant(feeds):
    feed, reader = feeds
    for i in range(1, 6):
        feed.publish(snap("a1", "customerA", poll=i))
        feed.publish(snap("b1", "customerB", poll=i))
    page = reader.changes_since(0, limit=3)
    assert len(page) == 3 and [c.seq for c in page] == sorted(c.seq for c in page)
    assert reader.changes_since(page[-1].seq, limit=100)[0].seq > page[-1].seq
    assert {c.node for c in reader.changes_since(0, tenant="customerB")} == {"b1"}
    assert set(reader.snapshots(tenant="customerA")) == {"a1"}
    assert set(reader.snapshots(nodes=["b1", "zz"])) == {"b1"}


def test_events_since_reads_stored_events_by_their_id(feeds):
    feed, reader = feeds
    feed.publish(snap("a1", "customerA", (info("1"), info("2"))))
    feed.publish(snap("b1", "customerB", (info("3"),)))
    assert [e.event_id for _, _, e, _ in reader.events_since(0)] == ["1", "2", "3"]
    assert [e.event_id for _, _, e, _ in reader.events_since(0, tenant="customerB")] == ["3"]
    assert [e.event_id for _, _, e, _ in reader.events_since(2)] == ["3"]


def test_a_refresh_request_is_a_change_the_service_reads(feeds):
    console, service = feeds
    before = service.last_seq()
    console.request_refresh("n1", "customerA")
    assert [(c.kind, c.node, c.tenant) for c in service.changes_since(before)] == [("refresh", "n1", "customerA")]


# --- acknowledging ---------------------------------------------------------------------------------
def test_an_acknowledgement_is_shared_audited_and_happens_once(feeds):
    service, console = feeds
    (alert,) = service.publish(snap(events=(failure(),))).new_alerts
    assert console.acknowledge(alert.id, ALICE, "  paging the customer  ")
    assert not console.acknowledge(alert.id, BOB, "me too")  # already acknowledged: nothing changes
    (seen,) = service.alerts()
    assert seen.acknowledged and seen.acked_by == str(ALICE) and seen.ack_reason == "paging the customer"
    assert service.alerts(open_only=True) == []
    assert kinds(service)[-1] == ("ack", "n1", alert.id)
    queue = Queue(service.engine)
    (record,) = [r for r in queue.export_audit("customerA") if r["action"] == "acknowledge"]
    assert record["actor"] == str(ALICE) and record["node"] == "n1"
    assert record["detail"] == {"alert": alert.id, "event": "HOST_FAILURE", "event_id": "17",
                                "event_time": "2026-11-30T08:59:00Z", "reason": "paging the customer"}
    assert queue.verify_audit() == []


def test_a_scoped_console_cannot_acknowledge_another_tenants_alert(feeds):
    service, console = feeds
    (alert,) = service.publish(snap("b1", "customerB", (failure(),))).new_alerts
    assert not console.acknowledge(alert.id, ALICE, "not mine", tenant="customerA")
    assert not service.alerts()[0].acknowledged
    assert console.acknowledge(alert.id, BOB, "mine", tenant="customerB")
    assert service.alerts(tenant="customerA") == [] and len(service.alerts(tenant="customerB")) == 1


def test_an_acknowledgement_needs_a_reason_and_an_existing_alert(feeds):
    _, console = feeds
    with pytest.raises(ValueError, match="reason"):
        console.acknowledge(1, ALICE, "  ")
    assert not console.acknowledge(424242, ALICE, "no such alert")
    assert console.last_seq() == 0


# --- fencing ---------------------------------------------------------------------------------------
def test_a_fenced_former_leader_publishes_nothing_and_its_refusal_is_audited(feeds):
    feed, reader = feeds
    lease = LeaseStore(feed.engine)
    old = lease.take(SERVICE)
    assert old is not None
    leading = feed.fenced(lease.guard(SERVICE, old))
    leading.publish(snap(events=(info("1"),), poll=1))
    assert lease.take("svc2:200:cd34", holds_lock=True) == old + 1  # a standby took over
    before = reader.last_seq()
    with pytest.raises(Fenced):
        leading.publish(snap(events=(failure(),), poll=2))
    assert reader.last_seq() == before and reader.alerts() == []
    assert reader.snapshots()["n1"].sequence == 1
    queue = Queue(feed.engine)
    (refusal,) = queue.recent_audit(1)
    assert refusal["action"] == "fenced" and refusal["actor"] == SERVICE and refusal["node"] == "n1"
    assert refusal["detail"]["refused"] == "publish" and refusal["detail"]["epoch"] == old
    assert refusal["detail"]["holder"] == "svc2:200:cd34" and refusal["detail"]["current_epoch"] == old + 1
    assert queue.verify_audit() == []


# --- the queue's changes ----------------------------------------------------------------------------
def test_every_queue_transition_appends_a_queue_change_but_progress_and_heartbeats_do_not(feeds):
    from ksystui.store import NewOp

    feed, reader = feeds
    queue = Queue(feed.engine)
    new = NewOp("customerA", "n1", Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"], recovery_hosts=["u-1"])
    op = queue.submit(new, ALICE)
    fence = queue.admit(op.id, "svc", ALICE)
    assert fence is not None
    assert queue.mark_running(op.id, fence, ALICE)
    assert queue.add_progress(op.id, fence, "Verification has started", ALICE, milestone=True)
    queue.heartbeat("svc", ALICE)
    assert queue.finish(op.id, fence, "succeeded", 0, "ok", "", ALICE)
    other = queue.submit(new, BOB)
    assert queue.raise_priority(other.id, BOB, "the customer asked")
    assert queue.cancel(other.id, BOB, "not needed")
    assert kinds(reader) == [("queue", "n1", op.id)] * 4 + [("queue", "n1", other.id)] * 3
    assert {c.tenant for c in reader.changes_since(0)} == {"customerA"}


async def test_the_async_feed_runs_the_same_calls_off_the_loop(db_url):
    feed = await AsyncFeed.open(db_url)
    try:
        published = await feed.publish(snap(events=(failure(),)))
        assert await feed.last_seq() == published.seq
        assert [c.kind for c in await feed.changes_since(0)] == ["snapshot", "alert"]
        assert set(await feed.snapshots(nodes=["n1"])) == {"n1"}
        (alert,) = await feed.alerts(open_only=True)
        assert await feed.acknowledge(alert.id, ALICE, "seen")
        assert (await feed.alert(alert.id)).acked_by == str(ALICE)
        await feed.request_refresh("n1", "customerA")
        assert [e.event_id for *_, e, _ in await feed.events_since(0)] == ["17"]
        assert await feed.prune(T0 - timedelta(days=1)) == 0
    finally:
        await feed.close()


def test_a_snapshot_row_from_before_0004_reads_with_no_sequence(feeds):
    feed, reader = feeds
    Store(feed.engine).save_snapshot(snap(poll=4))
    with read_connection(reader.engine) as conn:
        assert conn.execute(sa.text("SELECT sequence, seq FROM snapshots")).one() == (4, None)
    assert reader.snapshots()["n1"].sequence == 4


def test_a_reader_following_the_feed_while_writers_race_misses_no_change(engines):
    """seq order is commit order: a reader that has seen seq N never sees a
    smaller seq appear later (PostgreSQL hands out sequence numbers before
    commit; the feed's append lock keeps them in commit order)."""
    first, second = engines
    writers = [Feed(first), Feed(second), Feed(first)]
    reader = Feed(second)
    done = threading.Event()
    seen: list[int] = []

    def follow() -> None:
        while True:
            finished = done.is_set()  # read once more after the writers finished
            for change in reader.changes_since(seen[-1] if seen else 0):
                seen.append(change.seq)
            if finished:
                return

    def write(i: int) -> None:
        for poll in range(1, 16):
            writers[i].publish(snap(f"n{i}", "customerA", (failure(f"{i}-{poll}", f"T{poll}"),), poll=poll))
            writers[i].request_refresh(f"n{i}", "customerA")

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        race(*(lambda i=i: write(i) for i in range(len(writers))))
    finally:
        done.set()
        follower.join()
    everything = [c.seq for c in reader.changes_since(0, limit=10_000)]
    assert len(everything) == 3 * 15 * 3  # snapshot + alert + refresh per poll
    assert seen == everything


def test_a_batch_of_polls_is_published_in_one_transaction_each_with_its_own_result(feeds):
    feed, reader = feeds
    feed.publish(snap("a1", "customerA", (failure("1"),), poll=5))
    batch = [snap("a1", "customerA", (failure("1"), info("2")), poll=6),
             snap("b1", "customerB", (failure("3"),), poll=1),
             snap("a1", "customerA", (failure("1"),), poll=4),  # older than what is stored: no change
             snap("c1", "customerC", poll=1)]
    results = feed.publish_many(batch)
    assert [[e.event_id for e in r.new_events] for r in results] == [["2"], ["3"], [], []]
    assert [[a.event_id for a in r.new_alerts] for r in results] == [[], ["3"], [], []]
    changes = reader.changes_since(results[0].seq - 1)
    assert [(c.kind, c.node) for c in changes] == [("snapshot", "a1"), ("snapshot", "b1"), ("alert", "b1"),
                                                   ("snapshot", "c1")]
    assert [r.seq for r in results] == [changes[0].seq, changes[2].seq, reader.last_seq(), changes[3].seq]
    with read_connection(reader.engine) as conn:
        stamped = dict(conn.exec_driver_sql("SELECT node, seq FROM snapshots").all())
    assert stamped == {"a1": changes[0].seq, "b1": changes[1].seq, "c1": changes[3].seq}
    assert reader.snapshots()["a1"].sequence == 6
    assert feed.publish_many([]) == []


def test_a_fenced_batch_changes_nothing_and_is_audited_once(feeds):
    feed, reader = feeds
    lease = LeaseStore(feed.engine)
    epoch = lease.take(SERVICE)
    stale = feed.fenced(lease.guard(SERVICE, epoch))
    lease.release(SERVICE, epoch)
    with pytest.raises(Fenced):
        stale.publish_many([snap("a1", "customerA", (failure(),)), snap("b1", "customerB")])
    assert reader.last_seq() == 0 and reader.snapshots() == {} and reader.alerts() == []
    (refusal,) = Queue(feed.engine).recent_audit(5)
    assert refusal["action"] == "fenced" and refusal["tenant"] is None
    assert refusal["detail"]["refused"] == "publish" and refusal["detail"]["nodes"] == ["a1", "b1"]


async def test_the_async_feed_publishes_a_batch(db_url):
    feed = await AsyncFeed.open(db_url)
    try:
        results = await feed.publish_many(snap(f"n{i}", "customerA", poll=1) for i in range(3))
        assert [r.seq for r in results] == [1, 2, 3]
    finally:
        await feed.close()


def test_the_stored_alert_never_proposes_a_move_onto_a_failed_recovery_host(feeds):
    """Issue 11: when the shared recovery host itself failed, the alert proposed an unplanned move onto it."""
    feed, _ = feeds
    failed_recovery = KsysEvent("HOST_FAILURE", "error", "Host failure has been detected.", "2026-11-30T08:59:00Z",
                                "hostB", "18")
    base = snap(events=(failed_recovery,))
    down = Section("host", (HOSTS[0], replace(HOSTS[1], state="Error")), base.sections["host"].read_at)
    (alert,) = feed.publish(replace(base, sections={**base.sections, "host": down})).new_alerts
    assert alert.event == "HOST_FAILURE" and alert.proposal is None
