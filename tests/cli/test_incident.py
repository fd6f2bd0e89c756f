"""``ksystui incident export``: the record of a window in a file another
machine replays; a tenant's bundle holds nothing of another tenant, not even
in its compressed snapshots; wrong times are one line and exit 2."""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksystui.arbiter.replay import ReplayArbiter
from ksystui.client.replay_source import ReplaySource
from ksystui.core.actor import Actor
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.core.timeline import EVENT_KINDS
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.sim.world import SimWorld
from ksystui.store import Feed
from ksystui.store.bundle import SCRUBBED
from ksystui.store.engine import migrate, open_engine
from ksystui.store.queue import NewOp, Queue
from tests.in_process import InProcessTransport

from .conftest import ksystui

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = Actor("alice", "noc1", "console-1")
CONFIG = """
[database]
url = "sqlite:///{db}"
""" + "".join(f"""
[[tenants]]
name = "{tenant}"
priority = {priority}
[[tenants.nodes]]
name = "{node}"
flavour = "{flavour}"
[tenants.nodes.ssh]
host = "127.0.0.1"
port = 1
key_file = "id_ed25519"
known_hosts = "known_hosts"
""" for tenant, priority, node, flavour in (("customerA", 1, "r7r3m116", "onprem"), ("customerB", 2, "r7r3m108", "onprem"),
                                           ("customerC", 3, "ksysorch-dal12", "powervs")))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def names_of(snaps, tenant: str) -> set[str]:
    """What identifies a tenant in its snapshots: its name, nodes, hosts, sites and VMs."""
    out = set()
    for s in snaps.values():
        if s.tenant == tenant:
            out |= {s.tenant, s.node, *(h.name for h in s.hosts), *(h.uuid for h in s.hosts if h.uuid),
                    *(x.name for x in s.sites), *(v.name for v in s.vms)}
    return {n for n in out if n and len(n) >= 3}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path, dict]:
    """The seed fleet read twice (the second time with a host failure in every
    tenant), an acknowledgement naming another tenant, an operation each."""
    tmp = tmp_path_factory.mktemp("incident")
    db = tmp / "ks.db"
    engine = open_engine(f"sqlite:///{db}")
    migrate(engine)
    clock = Clock()
    feed, queue = Feed(engine, clock=clock), Queue(engine, clock=clock)
    world = SimWorld.seed(speed=200.0)

    async def read() -> dict:
        fleet = Fleet()
        for name, node in world.nodes.items():
            fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                                  interval=10.0, jitter=0.0))
        try:
            return await fleet.refresh_all()
        finally:
            await fleet.stop()

    clock.now = T0 + timedelta(seconds=10)
    first = asyncio.run(read())
    feed.publish_many(list(first.values()))
    for snap in first.values():  # a host of each tenant fails
        host = next((h for h in snap.hosts if h.pair), None)
        if host is not None:
            world.faults.inject("host_failure", host.name)
    clock.now = T0 + timedelta(seconds=20)
    second = asyncio.run(read())
    feed.publish_many(list(second.values()))
    clock.now = T0 + timedelta(seconds=30)
    for alert in feed.alerts():
        if alert.tenant == "customerA":
            feed.acknowledge(alert.id, ALICE, "customerB on r7r3m108 fails over first")
    for tenant, node in (("customerA", "r7r3m116"), ("customerB", "r7r3m108")):
        queue.submit(NewOp(tenant, node, Op.VERIFY, ["ksysmgr", "verify", "site", "x"], recovery_hosts=[f"{node}-h"]),
                     ALICE)
    engine.dispose()
    cfg = tmp / "config.toml"
    cfg.write_text(CONFIG.format(db=db))
    return cfg, tmp, second


def window(*extra: str) -> list[str]:
    return ["--from", "2026-11-30T09:00", "--to", "2026-11-30T09:05:00Z", *extra]


def test_a_tenant_bundle_holds_nothing_of_another_tenant(recorded):
    cfg, tmp, snaps = recorded
    bundle = tmp / "customerA.ksys"
    run = ksystui("--config", str(cfg), "--tenant", "customerA", "incident", "export", *window(str(bundle)))
    assert run.rc == 0, run
    assert "tenant customerA only" in run.out and "2 snapshots" in run.out, run.out
    mine = names_of(snaps, "customerA")
    others = (names_of(snaps, "customerB") | names_of(snaps, "customerC")) - mine
    assert {"customerB", "customerC", "r7r3m108", "ksysorch-dal12"} <= others
    data = bundle.read_bytes()
    leaked = sorted(n for n in others if n.encode() in data)
    assert not leaked, f"{leaked} in the bytes of customerA's bundle"
    with sqlite3.connect(bundle) as conn:
        texts = [zlib.decompress(blob).decode() for (blob,) in conn.execute("SELECT data FROM snapshot_history")]
        (reason,) = conn.execute("SELECT ack_reason FROM alerts WHERE ack_reason IS NOT NULL").fetchone()
        tenants = {t for (t,) in conn.execute("SELECT tenant FROM operations UNION SELECT tenant FROM audit")}
    assert texts and all("r7r3m116" in t for t in texts)
    assert not [n for n in others for t in texts if n in t]
    assert reason == f"{SCRUBBED} on {SCRUBBED} fails over first"
    assert tenants == {"customerA"}


async def test_another_machine_replays_a_bundle_on_its_own_window_and_tenant(recorded):
    cfg, tmp, _ = recorded
    bundle = tmp / "replayed.ksys"
    run = await asyncio.to_thread(ksystui, "--config", str(cfg), "--tenant", "customerA", "incident", "export",
                                  *window(str(bundle)))
    assert run.rc == 0, run
    source = await ReplaySource.open(bundle)
    try:
        assert (source.scope, source.cursor.start, source.end) == (
            "customerA", T0, T0 + timedelta(minutes=5))
        assert source.next_mark(EVENT_KINDS) is not None and set(source.snapshots) == {"r7r3m116"}
        source.seek(T0 + timedelta(seconds=25))
        assert [a.tenant for a in source.alerts] == ["customerA"] and source.alerts[0].acked_by is None
        arbiter = ReplayArbiter(source)
        source.seek(T0 + timedelta(seconds=40))
        assert [line.tenant for line in await arbiter.lines()] == ["customerA"]
        assert (await arbiter.audit_status()).endswith("(when exported)")
    finally:
        await source.stop()
    with pytest.raises(ValueError, match="holds tenant customerA only"):
        await ReplaySource.open(bundle, scope="customerB")


def test_an_unscoped_bundle_holds_every_tenant(recorded):
    cfg, tmp, _ = recorded
    bundle = tmp / "all.ksys"
    run = ksystui("--config", str(cfg), "incident", "export", *window(str(bundle)))
    assert run.rc == 0 and "every tenant: " in run.out, run
    with sqlite3.connect(bundle) as conn:
        assert {t for (t,) in conn.execute("SELECT tenant FROM snapshot_history")} == {
            "customerA", "customerB", "customerC"}


@pytest.mark.parametrize(("args", "said"), [
    (["--from", "yesterday"], "--from: 'yesterday': not a time"),
    (["--from", "-2x"], "--from: '-2x': a span back from now"),
    (["--from", "-1h", "--to", "2026-13-01"], "--to: '2026-13-01': not a time"),
    (["--from", "2026-11-30T10:00", "--to", "2026-11-30T09:00"], "is not after --from"),
])
def test_a_wrong_time_is_one_line_and_exit_2(recorded, args, said):
    cfg, tmp, _ = recorded
    run = ksystui("--config", str(cfg), "incident", "export", *args, str(tmp / "never.ksys"))
    assert run.rc == 2 and run.err.count("\n") == 1 and said in run.err, run
    assert run.err.startswith("ksystui incident export: ") and not (tmp / "never.ksys").exists()


def test_scrubbing_another_tenant_s_name_leaves_an_own_name_containing_it_whole():
    from ksystui.store.bundle import _scrubber

    scrub = _scrubber({"acme", "node7"}, {"acme-eu", "node1"})
    assert scrub("acme-eu waits for acme on node7") == f"acme-eu waits for {SCRUBBED} on {SCRUBBED}"
