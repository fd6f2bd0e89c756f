"""Store and AsyncStore on a real SQLite file."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ksystui.config import parse_config
from ksystui.core.model import Flavour, Host, KsysEvent, Site, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section, event_identity
from ksystui.store import AsyncStore, Store, config_rows, migrate, open_engine

from .test_codec import assert_same, snapshots

T0 = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ks.db'}"


@pytest.fixture
def store(url):
    s = Store.open(url)
    yield s
    s.close()


def snap(node: str, tenant: str, at: datetime = T0, **kw) -> NodeSnapshot:
    return NodeSnapshot(
        node, tenant, Flavour.ONPREM, 10,
        sections={
            "vm": Section("vm", (Vm("vm1", state="READY_TO_MOVE", extra=(("Xa", "1"), ("Xa", "2"))),), at),
            "site": Section("site", (Site(tenant, "ACTIVE"),), at),
            "host": Section("host", (Host("h1", uuid="u-1", site=tenant, pair="r1"),), at, error="timed out"),
        },
        health=NodeHealth(last_attempt=at, last_success=at, latency_ms=12.5),
        **kw,
    )


def ev(i: int, **kw) -> KsysEvent:
    return KsysEvent(f"EVENT_{i}", "info", f"event number {i}", f"2026-11-23T03:00:{i:02d}Z", "vm1", **kw)


# --- configuration mirror ------------------------------------------------------------
def test_sync_config_mirrors_and_removes(store):
    store.sync_config([("acme", 1, "gold"), ("globex", 2, "silver")], [("n1", "acme", "onprem"), ("n2", "globex", "powervs")])
    assert store.tenants() == [("acme", 1, "gold"), ("globex", 2, "silver")]
    assert store.nodes() == [("n1", "acme", "onprem"), ("n2", "globex", "powervs")]
    store.save_snapshot(snap("n2", "globex"))
    # globex leaves, acme changes priority, n1 moves flavour
    store.sync_config([("acme", 3, "gold")], [("n1", "acme", Flavour.POWERVS)])
    assert store.tenants() == [("acme", 3, "gold")]
    assert store.nodes() == [("n1", "acme", "powervs")]
    assert store.load_snapshots() == {}  # a removed node's data does not linger


def test_sync_config_refuses_nodes_of_unknown_tenants(store):
    with pytest.raises(ValueError, match="unknown tenants: ghost"):
        store.sync_config([("acme", 1, "gold")], [("n1", "ghost", "onprem")])
    with pytest.raises(ValueError, match="twice"):
        store.sync_config([("acme", 1, "gold"), ("acme", 2, "gold")], [])


CANARY = "CANARY-7f3a9e"


def test_no_secret_reaches_the_database_file(tmp_path, url):
    """The API has nowhere to put a secret: sync the mirror from a
    configuration full of canaries, save snapshots, and grep the raw bytes
    of the database and its WAL and shared-memory files."""
    (tmp_path / "key").write_text("x")
    toml = f"""
[[tenants]]
name = "acme"
priority = 1
tier = "gold"

[[tenants.nodes]]
name = "acme-ksys"
flavour = "powervs"
ssh = {{ host = "{CANARY}-host.example", user = "{CANARY}-user", key_file = "{CANARY}-key" }}
rest = {{ url = "https://{CANARY}-url.example", instance_id = "{CANARY}-instance", token = "{CANARY}-token" }}
"""
    loaded = parse_config(toml, tmp_path / "config.toml")
    assert loaded.warnings  # the inline token was noticed: it really is in the config
    store = Store.open(url)
    try:
        store.sync_from_config(loaded.config)
        store.save_snapshot(snap("acme-ksys", "acme"))
        store.add_events("acme-ksys", "acme", [ev(1)])
        files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("ks.db"))
        assert {p.name for p in files} >= {"ks.db", "ks.db-wal", "ks.db-shm"}
        raw = b"".join(p.read_bytes() for p in files)
        assert b"acme-ksys" in raw and b"READY_TO_MOVE" in raw  # the grep sees what was written
        assert CANARY.encode() not in raw
        assert CANARY.encode("utf-16-le") not in raw
    finally:
        store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("ks.db"))
    assert CANARY.encode() not in raw  # nor after the WAL is checkpointed on close
    assert config_rows(loaded.config) == ([("acme", 1, "gold")], [("acme-ksys", "acme", "powervs")])


# --- snapshots ----------------------------------------------------------------------
def test_snapshot_round_trip_through_the_database(store):
    a, b = snap("n1", "acme"), snap("n2", "globex", T0 + timedelta(seconds=5))
    store.save_snapshot(a)
    store.save_snapshot(b)
    loaded = store.load_snapshots()
    assert loaded == {"n1": a, "n2": b}
    assert store.load_snapshots(tenant="globex") == {"n2": b}


_counter = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(snapshots)
def test_generated_snapshots_round_trip_through_the_database(store, s):
    s = replace(s, node=f"node-{next(_counter)}")  # a fresh node: nothing newer stored
    store.save_snapshot(s)
    assert_same(s, store.load_snapshots()[s.node])


def test_save_snapshot_is_an_upsert_and_the_newest_wins(store):
    old, new = snap("n1", "acme", T0), snap("n1", "acme", T0 + timedelta(seconds=10))
    store.save_snapshot(old)
    store.save_snapshot(new)
    assert store.load_snapshots() == {"n1": new}
    store.save_snapshot(old)  # late write from a slower console
    assert store.load_snapshots() == {"n1": new}


def test_an_unreadable_snapshot_is_skipped(store):
    store.save_snapshot(snap("n1", "acme"))
    store.save_snapshot(snap("n2", "acme"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE snapshots SET data = '{\"format\": 99}' WHERE node = 'n1'")
    assert list(store.load_snapshots()) == ["n2"]


# --- events -------------------------------------------------------------------------
def test_events_are_stored_once(store):
    batch = [ev(1), ev(2), KsysEvent("NO_ID"), KsysEvent("WITH_ID", event_id="42", extra=(("Xk", "v"),))]
    assert store.add_events("n1", "acme", batch) == batch
    assert store.add_events("n1", "acme", batch) == []
    assert store.add_events("n1", "acme", [ev(3), ev(1), ev(3)]) == [ev(3)]  # repeats in a batch too
    # the same event at another node is another event
    assert store.add_events("n2", "acme", [ev(1)]) == [ev(1)]
    stored = store.recent_events(T0 - timedelta(days=365 * 100))
    assert len(stored) == 6
    # what comes back is what went in: identity, event_id and extra included
    by_identity = {event_identity(node, e): e for node, _, e, _ in stored}
    assert by_identity[event_identity("n1", batch[3])] == batch[3]
    assert by_identity[event_identity("n1", batch[2])] == batch[2]


def test_concurrent_overlapping_batches_store_each_event_once(url):
    """Four "processes" (each with its own engine) add overlapping batches at once."""
    migrate(open_engine(url))
    events = [ev(i) for i in range(40)]
    batches = [events[0:25], events[10:35], events[15:40], events[::2]]
    results: list[list[KsysEvent]] = [[] for _ in batches]
    errors: list[Exception] = []
    go = threading.Barrier(len(batches))

    def add(i: int) -> None:
        s = Store(open_engine(url))
        try:
            go.wait()
            for start in range(0, len(batches[i]), 5):  # several transactions, interleaved
                results[i].extend(s.add_events("n1", "acme", batches[i][start:start + 5]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=add, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    returned = [e for r in results for e in r]
    assert sorted(returned, key=lambda e: e.name) == sorted(events, key=lambda e: e.name)  # each once
    store = Store(open_engine(url))
    assert len(store.recent_events(T0 - timedelta(days=36500))) == 40
    store.close()


def test_recent_events_since_and_by_tenant(store):
    store.add_events("n1", "acme", [ev(1)], seen_at=T0)
    store.add_events("n2", "globex", [ev(2)], seen_at=T0 + timedelta(minutes=1))
    store.add_events("n1", "acme", [ev(3)], seen_at=T0 + timedelta(minutes=2))
    everything = store.recent_events(T0)
    assert [(n, t, e.name) for n, t, e, _ in everything] == [
        ("n1", "acme", "EVENT_1"), ("n2", "globex", "EVENT_2"), ("n1", "acme", "EVENT_3"),
    ]
    assert [e.name for _, t, e, _ in store.recent_events(T0, tenant="acme")] == ["EVENT_1", "EVENT_3"]
    assert {t for _, t, _, _ in store.recent_events(T0, tenant="globex")} == {"globex"}
    assert [e.name for *_, e, _ in store.recent_events(T0 + timedelta(seconds=30))] == ["EVENT_2", "EVENT_3"]
    first_seen = everything[0][3]
    assert first_seen == T0 and first_seen.tzinfo is not None
    # a naive "since" is UTC, an aware one in another zone is converted
    assert len(store.recent_events(T0.replace(tzinfo=None) + timedelta(seconds=30))) == 2
    assert len(store.recent_events((T0 + timedelta(seconds=30)).astimezone(_tz(+5)))) == 2


def _tz(hours: int):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_prune_events(store):
    store.add_events("n1", "acme", [ev(1), ev(2)], seen_at=T0 - timedelta(days=40))
    store.add_events("n1", "acme", [ev(3)], seen_at=T0 - timedelta(days=1))
    assert store.prune_events(T0 - timedelta(days=30)) == 2
    assert [e.name for *_, e, _ in store.recent_events(T0 - timedelta(days=365))] == ["EVENT_3"]
    assert store.prune_events(T0 - timedelta(days=30)) == 0
    # a pruned event seen again is new again (retention is the de-duplication window)
    assert store.add_events("n1", "acme", [ev(1)]) == [ev(1)]


# --- async --------------------------------------------------------------------------
async def test_async_store_from_an_event_loop(url):
    astore = await AsyncStore.open(url)
    try:
        await astore.sync_config([("acme", 1, "gold")], [("n1", "acme", "onprem")])
        await astore.save_snapshot(snap("n1", "acme"))
        assert await astore.load_snapshots() == {"n1": snap("n1", "acme")}
        assert await astore.add_events("n1", "acme", (e for e in [ev(1), ev(2)]), seen_at=T0) == [ev(1), ev(2)]
        assert await astore.add_events("n1", "acme", [ev(1)]) == []
        assert len(await astore.recent_events(T0, tenant="acme")) == 2
        assert await astore.prune_events(T0 + timedelta(seconds=1)) == 2
        assert await astore.tenants() == [("acme", 1, "gold")]
        assert await astore.nodes() == [("n1", "acme", "onprem")]
    finally:
        await astore.close()


async def test_the_event_loop_keeps_running_while_the_database_is_busy(url):
    """A writer elsewhere holds the lock for a while: the loop keeps ticking
    while an AsyncStore call waits for it in its worker thread."""
    astore = await AsyncStore.open(url)
    other = open_engine(url)
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with other.begin() as conn:
            conn.exec_driver_sql("INSERT INTO tenants VALUES ('x', 1, 'gold')")
            locked.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 5)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        loop.call_later(0.4, release.set)
        t0 = time.monotonic()
        assert await astore.add_events("n1", "acme", [ev(1)]) == [ev(1)]
        waited = time.monotonic() - t0
        tick_task.cancel()
        assert waited >= 0.3  # it really waited for the lock...
        assert ticks >= 10  # ...and the loop ran meanwhile
    finally:
        release.set()
        holder.join()
        other.dispose()
        await astore.close()
