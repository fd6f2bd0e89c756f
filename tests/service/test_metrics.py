"""``/metrics`` of the service in process, on the simulator, scraped over
HTTP on loopback and read with Prometheus' own parser: what it says agrees
with the simulator (VMs by tenant and state, replication progress, each
node read) and with the queue (depth per recovery host, what runs, how long
finished operations took), and a standby on the same database answers too,
saying it stands by."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ksystui.arbiter.service import plan_for, submit
from ksystui.config import Config, load_config
from ksystui.core.lifecycle import Op
from ksystui.service.serve import Service
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.feed import Feed
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from tests.service.conftest import Db, service_config
from tests.waiting import eventually

ONPREM = ("r7r3m116", "r7r3m108")  # their disk groups are KSYS's own (PowerVS replicates by workgroup)
SCRAPE_EVERY = 0.2  # seconds between two scrapes while a test waits for what they say
SHARED_HOST = "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10"  # snorlax: customerA's and customerB's recovery host


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Scrape:
    """One scrape, parsed: sample name -> [(labels, value)]."""

    samples: dict[str, list[tuple[dict[str, str], float]]]
    helps: dict[str, str]

    def value(self, name: str, **labels: str) -> float | None:
        found = [v for lab, v in self.samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items())]
        return sum(found) if found else None

    def by(self, name: str, *keys: str) -> Counter[tuple[str, ...]]:
        """``name``'s values summed by ``keys`` (zeros dropped)."""
        out: Counter[tuple[str, ...]] = Counter()
        for lab, v in self.samples.get(name, []):
            out[tuple(lab[k] for k in keys)] += int(v)
        return +out


async def scrape(url: str) -> Scrape:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    helps = {}
    for family in text_string_to_metric_families(text):
        helps[family.name] = family.documentation
        for s in family.samples:
            samples.setdefault(s.name, []).append((dict(s.labels), s.value))
    return Scrape(samples, helps)


async def scraped_until(url: str, holds: Callable[[Scrape], bool], timeout: float = 30.0) -> Scrape:
    """Scrape until ``holds`` (a few times a second: each scrape reads the
    whole database, and the service under test shares this process)."""
    async with asyncio.timeout(timeout):
        while not holds(now := await scrape(url)):
            await asyncio.sleep(SCRAPE_EVERY)
    return now


def sim_progress(world: SimWorld, nodes: Iterable[str]) -> dict[tuple[str, str], float]:
    """Replication progress by (node, disk group) as the simulated nodes hold it."""
    return {(n, g.name): g.progress for n in nodes for g in world.nodes[n].state.disk_groups.values()}


def sim_vms(world: SimWorld) -> Counter[tuple[str, str]]:
    """VMs by (tenant, state) as the simulated KSYS nodes hold them."""
    return Counter((n.tenant, vm.state) for n in world.nodes.values() for vm in n.state.vms.values())


@pytest.fixture
async def served(world: SimWorld, sqlite_db: Db, tmp_path: Path) -> AsyncIterator[Config]:
    """The seed fleet on loopback; nodes polled once a minute (a poll in
    between is a refresh the test asks for); metrics on a free port."""
    async with SimRunner(world, tmp_path / "state") as runner:
        assert runner.state_dir is not None
        path = service_config(runner.state_dir, sqlite_db.url, interval=60.0)
        path.write_text(path.read_text() + f'\n[service]\nmetrics_listen = "127.0.0.1:{free_port()}"\n')
        yield load_config(path).config


async def test_metrics_agree_with_the_simulator_and_the_queue_on_the_leader_and_a_standby(
        served: Config, sqlite_db: Db, world: SimWorld, monkeypatch):
    feed, queue = Feed(sqlite_db.engine), Queue(sqlite_db.engine)
    standby_cfg = served.model_copy(update={"service": served.service.model_copy(
        update={"metrics_listen": f"127.0.0.1:{free_port()}"})})
    async with Service(served, ttl=3.0) as leader:
        await asyncio.wait_for(leader.leading.wait(), 30)
        assert leader.metrics is not None and leader.metrics.url is not None and leader.term is not None
        url = leader.metrics.url
        await eventually(lambda: set(feed.snapshots()) == set(world.nodes), timeout=30)

        first = await scrape(url)
        assert first.value("ksystui_service_leader") == 1 and first.value("ksystui_database_up") == 1
        assert first.by("ksystui_vms", "tenant", "state") == sim_vms(world)
        assert first.by("ksystui_node_freshness", "node", "state") == Counter(
            {(n, "fresh"): 1 for n in world.nodes})
        assert first.value("ksystui_queue_depth") == 0
        for name in world.nodes:  # each node's poll: how long it took, how long ago, no error
            assert (first.value("ksystui_node_latency_seconds", node=name) or 0) > 0
            assert first.value("ksystui_node_last_success_age_seconds", node=name) is not None
            assert first.value("ksystui_node_consecutive_errors", node=name) == 0
        assert sim_progress(world, ONPREM) == {
            (lab["node"], lab["group"]): v for lab, v in first.samples["ksystui_replication_progress_percent"]
            if lab["node"] in ONPREM}
        assert all(first.helps[name] for name in first.helps)  # every metric says what it is

        # customerA's production host fails: its VMs go down, HOST_FAILURE raises an alert;
        # customerB's replication falls behind
        world.faults.inject("host_failure", "pbrazos")
        world.faults.inject("replication_lag", "r7r3m108", progress=62.5, minutes=42)
        feed.request_refresh("r7r3m116", "customerA")
        feed.request_refresh("r7r3m108", "customerB")

        def after_failure(now: Scrape) -> bool:
            progress = {(lab["node"], lab["group"]): v
                        for lab, v in now.samples["ksystui_replication_progress_percent"] if lab["node"] in ONPREM}
            return (now.by("ksystui_vms", "tenant", "state") == sim_vms(world)
                    and (now.value("ksystui_alerts_open", tenant="customerA", severity="critical") or 0) >= 1
                    and progress == sim_progress(world, ONPREM)
                    and now.value("ksystui_rpo_breach", node="r7r3m108") == 1)

        lagging = await scraped_until(url, after_failure)
        # customerB agreed 30 minutes; its copy is 42 behind and growing
        assert (lagging.value("ksystui_rpo_seconds", node="r7r3m108") or 0) >= 42 * 60
        assert lagging.value("ksystui_rpo_target_seconds", node="r7r3m108") == 30 * 60
        assert lagging.value("ksystui_rpo_breach", node="r7r3m116") == 0
        assert ("customerA", "DOWN") in sim_vms(world) and 62.5 in sim_progress(world, ONPREM).values()

        # customerB: a verify runs (held on its node until released), a DR test waits behind it
        node = world.nodes["r7r3m108"]
        release = asyncio.Event()
        paused = node.pause

        async def held(seconds: float) -> None:
            await release.wait()
            await paused(seconds)

        monkeypatch.setattr(node, "pause", held)
        fleet, q = leader.term.fleet, AsyncQueue(queue)
        verify = await submit(q, fleet, await plan_for(fleet, "r7r3m108", Op.VERIFY, confirmed=True), priority=2,
                              actor=leader.actor, confirmed=True)
        await eventually(lambda: queue.get(verify.id).state == "running", timeout=30)
        drill = await submit(q, fleet, await plan_for(fleet, "r7r3m108", Op.DR_TEST, confirmed=True), priority=2,
                             actor=leader.actor, confirmed=True)
        assert SHARED_HOST in drill.recovery_hosts

        def drill_waits(now: Scrape) -> bool:
            return (now.value("ksystui_queue_depth") == 1
                    and now.value("ksystui_queue_depth_by_host", host_uuid=SHARED_HOST) == 1
                    and now.value("ksystui_operations", state="running") == 1
                    and now.value("ksystui_operation_running_seconds", op=str(verify.id), operation="verify")
                    is not None)

        waiting = await scraped_until(url, drill_waits)
        assert [o.id for o in queue.waiting()] == [drill.id] and node.current_operation is not None
        waited = waiting.value("ksystui_queue_oldest_waiting_seconds", host_uuid=SHARED_HOST)
        assert waited is not None and waited >= 0

        # a standby on the same database answers from it, and says it stands by
        async with Service(standby_cfg, ttl=3.0) as standby:
            assert standby.role == "standby" and standby.metrics is not None and standby.metrics.url is not None
            seen = await scraped_until(standby.metrics.url, drill_waits)
            assert seen.value("ksystui_service_leader") == 0
            assert seen.value("ksystui_service_info", role="standby", member=standby.id) == 1
            assert seen.value("ksystui_service_lease_live") == 1
            assert seen.value("ksystui_service_lease_epoch") == leader.epoch
            assert seen.by("ksystui_vms", "tenant", "state") == sim_vms(world)

        release.set()
        await eventually(lambda: queue.get(drill.id).state.terminal, timeout=30)
        assert queue.get(verify.id).state == "succeeded" and queue.get(drill.id).state == "succeeded"

        def finished(now: Scrape) -> bool:
            return (now.value("ksystui_queue_depth") == 0
                    and now.value("ksystui_operation_duration_seconds_count", operation="verify",
                                  tenant="customerB") == 1
                    and now.value("ksystui_operation_duration_seconds_count", operation="dr-test",
                                  tenant="customerB") == 1
                    and now.by("ksystui_vms", "tenant", "state") == sim_vms(world))

        last = await scraped_until(url, finished)
        assert last.value("ksystui_operation_duration_seconds_bucket", operation="dr-test", tenant="customerB",
                          le="+Inf") == 1
        assert last.value("ksystui_operation_running_seconds") is None
    assert leader.metrics is None  # stopped with the service
