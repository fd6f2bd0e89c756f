"""The record a replay reads: each published poll recorded in the publish's
transaction, cheaply (content only when it changed), and read back exactly
as it was published, at any instant; retention keeps each node's base."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ksystui.core.model import Flavour, Host, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.store import Feed, history
from ksystui.store.engine import read_connection
from ksystui.store.history import prune_history, read_window
from ksystui.store.history_tables import poll_history, snapshot_history

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HOSTS = (Host("hostA", "uuid-a", "home", "hostB", "Operating"), Host("hostB", "uuid-b", "backup", "hostA", "Operating"))


def poll(n: int, *, node: str = "n1", tenant: str = "customerA", vm_state: str = "READY_TO_MOVE",
         latency: float = 12.0) -> NodeSnapshot:
    """The node's n-th poll, taken at T0 + 10 n seconds."""
    when = T0 + timedelta(seconds=10 * n)
    # each query has its own read time (to the microsecond): a poll's record keeps every one
    sections = {"host": Section("host", HOSTS, when - timedelta(microseconds=1_234_567)),
                "vm": Section("vm", (Vm("vm1", state=vm_state, host="hostA"),), when),
                "site": Section("site", (), None, error="timed out")}
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 10.0, sections=sections, sequence=n,
                        health=NodeHealth(last_attempt=when, last_success=when, latency_ms=latency + n))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def rows(engine: sa.Engine, table: sa.Table) -> list[sa.Row]:
    with read_connection(engine) as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


def publish_all(engine: sa.Engine, polls: list[NodeSnapshot]) -> dict[datetime, NodeSnapshot]:
    clock = Clock()
    feed = Feed(engine, clock=clock)
    published = {}
    for p in polls:
        clock.now = p.health.last_attempt + timedelta(milliseconds=300)  # published a moment after its poll
        feed.publish(p)
        published[clock.now] = p
    return published


def test_a_poll_that_changes_only_its_times_records_its_times_not_the_snapshot(engines):
    engine, _ = engines
    polls = [poll(1), poll(2), poll(3), poll(4, vm_state="UNMANAGED"), poll(5, vm_state="UNMANAGED"),
             poll(6, node="n2", tenant="customerB")]
    publish_all(engine, polls)
    content = rows(engine, snapshot_history)
    assert [(r.node, r.at) for r in content] == [
        ("n1", T0 + timedelta(seconds=10, milliseconds=300)), ("n1", T0 + timedelta(seconds=40, milliseconds=300)),
        ("n2", T0 + timedelta(seconds=60, milliseconds=300))]
    assert b"READY_TO_MOVE" in zlib.decompress(content[0].data)  # compressed, and whole
    times = rows(engine, poll_history)
    assert [(r.node, r.snapshot_id) for r in times] == [("n1", content[0].id)] * 2 + [("n1", content[1].id)]
    assert all(len(r.times) < 150 for r in times), [r.times for r in times]


def test_the_window_gives_back_each_published_snapshot_exactly_at_its_instant(engines):
    engine, _ = engines
    polls = [poll(1), poll(2), poll(3, vm_state="UNMANAGED"), poll(4, vm_state="UNMANAGED"), poll(5)]
    published = publish_all(engine, polls)
    window = read_window(engine, T0, T0 + timedelta(minutes=5))
    for at, snap in published.items():
        assert window.snapshot_at("n1", at) == snap
        assert window.snapshot_at("n1", at + timedelta(seconds=9)) == snap  # until the next one
    assert window.snapshot_at("n1", T0) is None  # not read yet
    assert [f.at for f in window.content_changes()] == [t for t, p in published.items() if p.sequence in (1, 3, 5)]
    # a window starting later begins with each node's last poll before it
    later = read_window(engine, T0 + timedelta(seconds=45), T0 + timedelta(minutes=5))
    assert later.snapshot_at("n1", T0 + timedelta(seconds=45)) == polls[3]
    assert read_window(engine, T0, T0 + timedelta(minutes=5), scope="customerB").nodes == {}


def test_retention_forgets_the_old_record_but_keeps_each_node_s_last_state_before_the_cut(tmp_path):
    from ksystui.store.engine import migrate, open_engine

    engine = open_engine(f"sqlite:///{tmp_path / 'ks.db'}")
    migrate(engine)
    polls = [poll(1), poll(2, vm_state="UNMANAGED"), poll(3, vm_state="UNMANAGED"), poll(4, vm_state="UNMANAGED"),
             poll(9)]
    published = publish_all(engine, polls)
    cut = T0 + timedelta(seconds=35)
    assert prune_history(engine, cut) == (1, 1)  # the first snapshot, the poll at 30 s
    window = read_window(engine, cut, T0 + timedelta(minutes=5))
    # the poll at 30 s is gone: the window starts from the content it repeated, with its own times
    assert window.snapshot_at("n1", cut) == polls[1]
    at_40 = next(t for t, p in published.items() if p.sequence == 4)
    assert window.snapshot_at("n1", at_40) == polls[3]
    engine.dispose()


def test_content_another_process_recorded_meanwhile_is_never_taken_for_this_one(engines):
    """Two services in turn (a failover): the other's newer record of the node
    is not mistaken for what this process last recorded."""
    first, second = engines
    clock = Clock()
    mine, theirs = Feed(first, clock=clock), Feed(second, clock=clock)
    for n, feed, state in ((1, mine, "READY_TO_MOVE"), (2, theirs, "UNMANAGED"), (3, mine, "READY_TO_MOVE")):
        clock.now = T0 + timedelta(seconds=10 * n, milliseconds=300)
        if feed is theirs:  # another process: what this one remembers is not touched by its write
            saved = dict(history._LAST)
            feed.publish(poll(n, vm_state=state))
            history._LAST.clear()
            history._LAST.update(saved)
        else:
            feed.publish(poll(n, vm_state=state))
    window = read_window(first, T0, T0 + timedelta(minutes=1))
    states = [window.snapshot_at("n1", T0 + timedelta(seconds=10 * n, milliseconds=300)).vms[0].state for n in (1, 2, 3)]
    assert states == ["READY_TO_MOVE", "UNMANAGED", "READY_TO_MOVE"]
    assert len(rows(first, snapshot_history)) == 3
