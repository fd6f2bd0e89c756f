"""The simulator's admin endpoint: faults, collisions and nodes over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld

# verify lasts about a second at this speed: long enough to overlap for sure
VERIFY_SPEED = 20.0


@pytest.fixture
async def admin(sim: SimRunner) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=sim.admin_url, timeout=aiohttp.ClientTimeout(total=5)
    ) as session:
        yield session


async def test_admin_listens_on_loopback_http(sim: SimRunner) -> None:
    assert sim.admin_url.startswith("http://127.0.0.1:")


async def test_inject_list_and_clear_faults(sim: SimRunner, admin: aiohttp.ClientSession) -> None:
    async with admin.get("/faults") as resp:
        assert resp.status == 200 and await resp.json() == []

    async with admin.post("/faults", json={"kind": "slow", "target": "r7r3m116", "seconds": 1.5}) as resp:
        assert resp.status == 201
        slow = await resp.json()
    assert slow["kind"] == "slow" and slow["target"] == "r7r3m116"
    assert slow["params"] == {"seconds": 1.5}
    assert sim.world.faults.slow_seconds("r7r3m116") == 1.5

    async with admin.post("/faults", json={"kind": "node_down", "target": "r7r3m108"}) as resp:
        assert resp.status == 201
    async with admin.post("/faults", json={"kind": "host_failure", "target": "snorlax"}) as resp:
        assert resp.status == 201

    async with admin.get("/faults") as resp:
        listed = await resp.json()
    assert {(f["kind"], f["target"]) for f in listed} == {
        ("slow", "r7r3m116"),
        ("node_down", "r7r3m108"),
        ("host_failure", "snorlax"),
    }
    assert listed == sim.world.faults.to_json()

    async with admin.delete("/faults", params={"kind": "node_down"}) as resp:
        assert resp.status == 200 and (await resp.json())["cleared"] == 1
    assert not sim.world.faults.node_down("r7r3m108")
    async with admin.delete("/faults", params={"target": "r7r3m116"}) as resp:
        assert (await resp.json())["cleared"] == 1
    async with admin.delete("/faults") as resp:
        assert (await resp.json())["cleared"] == 1
    assert sim.world.faults.active() == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"target": "r7r3m116"}', "kind"),
        (b'{"kind": "slow"}', "target"),
        (b'{"kind": "earthquake", "target": "r7r3m116"}', "unknown fault kind"),
        (b'{"kind": "slow", "target": "nosuchnode"}', "nosuchnode"),
        (b'{"kind": "slow", "target": "r7r3m116", "seconds": "lots"}', "number"),
        (b'{"kind": "rest_error", "target": "r7r3m116", "status": 200}', "400-599"),
    ],
)
async def test_bad_fault_requests_are_400_with_a_message(
    sim: SimRunner, admin: aiohttp.ClientSession, body: bytes, needle: str
) -> None:
    async with admin.post("/faults", data=body, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert needle in error
    assert sim.world.faults.active() == []


async def test_nodes_lists_ports(sim: SimRunner, admin: aiohttp.ClientSession) -> None:
    async with admin.get("/nodes") as resp:
        nodes = {n["name"]: n for n in await resp.json()}
    assert set(nodes) == set(sim.world.nodes)
    a = nodes["r7r3m116"]
    assert (a["tenant"], a["flavour"]) == ("customerA", "onprem")
    assert a["ssh_port"] == sim.endpoints["r7r3m116"].ssh_port and a["rest_url"] is None
    rest = [n for n in nodes.values() if n["rest_url"]]
    assert len(rest) == 1 and rest[0]["flavour"] == "powervs"
    assert rest[0]["rest_url"] == sim.endpoints[rest[0]["name"]].rest_url


async def test_collisions_are_reported(memory_io) -> None:
    world = SimWorld.seed(speed=VERIFY_SPEED)
    async with SimRunner(world, None) as sim, aiohttp.ClientSession(base_url=sim.admin_url) as admin:
        async with admin.get("/collisions") as resp:
            assert await resp.json() == []

        async def verify(node: str, site: str) -> int:
            return await world.nodes[node].run_ksysmgr(["verify", "site", site], memory_io())

        # customerA and customerB verify at once: both need snorlax
        rcs = await asyncio.gather(verify("r7r3m116", "customerA"), verify("r7r3m108", "customerB"))
        assert sorted(rcs) == [0, 1], rcs  # the later one fails on the busy host
        async with admin.get("/collisions") as resp:
            collisions = await resp.json()
        assert collisions == [c.to_json() for c in world.collisions.entries()]
        assert len(collisions) == 1
        assert collisions[0]["host"] == "snorlax"
        assert set(collisions[0]["nodes"]) == {"r7r3m116", "r7r3m108"}

        # one after the other: no new collision
        assert await verify("r7r3m116", "customerA") == 0
        assert await verify("r7r3m108", "customerB") == 0
        async with admin.get("/collisions") as resp:
            assert len(await resp.json()) == 1


async def test_index_lists_the_routes(admin: aiohttp.ClientSession) -> None:
    async with admin.get("/") as resp:
        routes = (await resp.json())["routes"]
    assert "POST /faults" in routes and "GET /collisions" in routes
