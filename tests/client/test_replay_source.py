"""A replay reads the record of a window and shows, at its cursor, what a
live console showed at that instant: the nodes' snapshots, the alerts (an
acknowledgement made later not there yet), the queue's very lines, the audit
trail; it moves mark by mark and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ksystui.arbiter.replay import ReplayArbiter, Replaying
from ksystui.arbiter.service import queue_lines
from ksystui.client.replay_source import ReplaySource
from ksystui.core.actor import Actor
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, KsysEvent, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.core.timeline import EVENT_KINDS, OPERATION_KINDS
from ksystui.store import Feed
from ksystui.store.engine import migrate, open_engine
from ksystui.store.queue import NewOp, Queue
from ksystui.store.queue_async import AsyncQueue

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = Actor("alice", "noc1", "console-1")
SERVICE = Actor("ksystui", "svc1", "svc1:100:ab12")
HOSTS = (Host("hostA", "uuid-a", "home", "hostB", "Operating"), Host("hostB", "uuid-b", "backup", "hostA", "Operating"))
FAILURE = KsysEvent("HOST_FAILURE", "error", "Host failure has been detected.", "2026-11-30T09:00:15Z", "hostA", "17")


def poll(seconds: int, node: str, tenant: str, events: tuple[KsysEvent, ...] = ()) -> NodeSnapshot:
    when = T0 + timedelta(seconds=seconds)
    sections = {"host": Section("host", HOSTS, when), "vm": Section("vm", (Vm(f"{tenant}-vm1", host="hostA"),), when),
                "event": Section("event", events, when)}
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 10.0, sections=sections, sequence=seconds,
                        health=NodeHealth(last_attempt=when, last_success=when, latency_ms=9.0))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def recorded(db_url):
    """A minute of a fleet's life (on SQLite and PostgreSQL), and the queue
    lines a live console read at chosen instants."""
    url = db_url
    engine = open_engine(url)
    migrate(engine)
    clock = Clock()
    feed, queue = Feed(engine, clock=clock), Queue(engine, clock=clock)
    live: dict[datetime, list] = {}
    published: dict[datetime, NodeSnapshot] = {}

    async def at(seconds: int) -> None:
        clock.now = T0 + timedelta(seconds=seconds)

    async def capture() -> None:
        live[clock.now] = await queue_lines(AsyncQueue(queue), now=clock.now)

    for s in (10, 20):
        await at(s)
        for snap in (poll(s, "n1", "customerA", (FAILURE,) if s == 20 else ()), poll(s, "n2", "customerB")):
            feed.publish(snap)
            published[clock.now] = snap
    await at(30)
    op = queue.submit(NewOp("customerA", "n1", Op.VERIFY, ["ksysmgr", "verify", "site", "home"],
                            recovery_hosts=["uuid-b"]), ALICE)
    await capture()
    await at(31)
    fence = queue.admit(op.id, SERVICE.console, SERVICE)
    await capture()
    await at(32)
    queue.mark_running(op.id, fence, SERVICE)
    await at(33)
    queue.add_progress(op.id, fence, "verification started", SERVICE)
    await at(45)
    await capture()
    await at(60)
    queue.finish(op.id, fence, "succeeded", 0, "verified", "done", SERVICE)
    await capture()
    await at(70)
    (alert,) = feed.alerts()
    feed.acknowledge(alert.id, ALICE, "on it")
    await at(80)
    await capture()
    yield url, live, published, op.id
    engine.dispose()


async def test_the_replay_shows_what_the_live_console_showed_at_the_same_instants(recorded):
    url, live, published, op_id = recorded
    source = await ReplaySource.open(url, T0, T0 + timedelta(minutes=2))
    arbiter = ReplayArbiter(source)
    assert all(live.values()) and len(live) == 5
    try:
        for instant, lines in live.items():
            source.seek(instant)
            assert await arbiter.lines() == lines
        for instant, snap in published.items():
            source.seek(instant)
            assert source.snapshots[snap.node] == snap
        source.seek(T0 + timedelta(seconds=65))
        (alert,) = source.alerts
        assert alert.acked_by is None  # acknowledged at 70 s: not yet
        source.seek(T0 + timedelta(seconds=70))
        assert source.alerts[0].ack_reason == "on it"
        detail = await arbiter.operation(op_id)
        assert detail.line.state == "succeeded" and [o.text for o in detail.output] == ["verification started"]
        source.seek(T0 + timedelta(seconds=40))
        detail = await arbiter.operation(op_id)
        assert detail.line.state == "running" and detail.finished_at == "-"
        assert [a.action for a in await arbiter.audit(None, 50)] == ["start", "admit", "submit"]
    finally:
        await source.stop()


async def test_the_cursor_walks_the_marks_and_tells_the_console(recorded):
    url, *_ = recorded
    source = await ReplaySource.open(url, T0, T0 + timedelta(minutes=2))
    told, shared = [], []
    source.subscribe(told.append)
    source.subscribe_shared(shared.append)
    try:
        assert source.at == source.cursor.start == T0 and source.snapshots["n1"].sequence == 0  # not read yet
        mark = source.next_mark(EVENT_KINDS)
        assert (mark.kind, mark.at) == ("event", T0 + timedelta(seconds=20)) and source.at == mark.at
        assert [e.event_id for n in told if n.snapshot.node == "n1" for e in n.new_events] == ["17"]
        assert [a.event for a in shared[-1].new_alerts] == ["HOST_FAILURE"]
        assert [source.next_mark(OPERATION_KINDS).label for _ in range(4)] == [
            "n1: operation submit", "n1: operation admit", "n1: operation start", "n1: operation finish"]
        assert source.next_mark("ack").at == T0 + timedelta(seconds=70)
        assert source.next_mark() is None and source.at == T0 + timedelta(seconds=70)
        source.step(timedelta(hours=1))
        assert source.at == source.end == source.now()
        cursor = source.cursor  # the same replay, its window named start and end
        assert (cursor.start, cursor.end, cursor.at, cursor.marks) == (T0, source.end, source.at, source.marks)
        cursor.seek(T0 + timedelta(seconds=20))
        assert source.at == T0 + timedelta(seconds=20)
        source.step(-timedelta(seconds=119, milliseconds=999))
        assert source.snapshots["n1"].sequence == 0
    finally:
        await source.stop()


async def test_a_scoped_replay_shows_one_tenant_and_a_replay_changes_nothing(recorded):
    url, *_ = recorded
    source = await ReplaySource.open(url, T0, T0 + timedelta(minutes=2), scope="customerB")
    arbiter = ReplayArbiter(source)
    try:
        source.seek(T0 + timedelta(seconds=45))
        assert set(source.snapshots) == {"n2"} and source.alerts == ()
        assert await arbiter.lines() == [] and await arbiter.audit(None, 50) == []
        assert {m.tenant for m in source.marks} == {"customerB"}
        for call in (arbiter.cancel(1, "x"), arbiter.raise_priority(1, "x"), arbiter.acknowledge(1, "x"),
                     arbiter.preview("n2", Op.VERIFY)):
            with pytest.raises(Replaying, match="replaying"):
                await call
    finally:
        await source.stop()
