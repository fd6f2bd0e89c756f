"""The admin endpoint's ``GET /stats``: what each node was asked, over which
connections, from which client port (and process)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ksystui.sim.runner import SimRunner
from tests.waiting import eventually

ONPREM = "r7r3m116"


@pytest.fixture
async def admin(sim: SimRunner) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.admin_url, timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


async def stats(admin: aiohttp.ClientSession, **params: str) -> Any:
    async with admin.get("/stats", params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_a_fresh_simulator_counts_nothing_for_every_node(sim: SimRunner, admin: aiohttp.ClientSession) -> None:
    body = await stats(admin)
    assert set(body["nodes"]) == set(sim.world.nodes)
    assert set(body["totals"].values()) == {0}
    node = body["nodes"][ONPREM]
    assert node["ksysmgr_commands"] == node["ssh_connections"] == 0 and node["peers"] == []


async def test_ksysmgr_commands_and_the_connection_are_counted_with_the_clients_port(
    sim: SimRunner, admin: aiohttp.ClientSession
) -> None:
    async with sim.connect(ONPREM) as conn:
        my_port = conn.get_extra_info("sockname")[1]
        for command in ("ksysmgr query vm", "ksysmgr q site", "ksysmgr verify nothing", "ls"):
            await conn.run(command, timeout=5)
        node = (await stats(admin))["nodes"][ONPREM]
        assert node["ksysmgr_commands"] == 3  # `ls` is not ksysmgr
        assert node["ksysmgr_queries"] == 2
        assert node["commands"]["query vm"] == 1 and node["commands"]["query site"] == 1
        assert node["commands"]["<invalid>"] == 1
        assert node["ssh_connections"] == 1 and node["open_ssh_connections"] == 1
        [peer] = node["peers"]
        assert peer["transport"] == "ssh" and peer["port"] == my_port
        assert peer["peer"] == f"127.0.0.1:{my_port}" and peer["commands"] == 3
        assert peer["closed_at"] is None

    async def closed() -> bool:
        node = (await stats(admin))["nodes"][ONPREM]
        return node["open_ssh_connections"] == 0 and node["peers"][0]["closed_at"] is not None

    await eventually(closed)
    times = (await stats(admin, node=ONPREM, times="query vm"))["nodes"][ONPREM]["times"]
    [(at, port)] = times
    assert abs(at - time.time()) < 60 and port == my_port
    # the other nodes were not touched
    others = (await stats(admin))["nodes"]
    assert all(n["ssh_connections"] == 0 for name, n in others.items() if name != ONPREM)


@pytest.mark.skipif(not sys.platform.startswith("linux") or not Path("/proc/net/tcp").exists(), reason="/proc")
async def test_pids_name_the_process_holding_an_open_connection(sim: SimRunner, admin: aiohttp.ClientSession) -> None:
    async with sim.connect(ONPREM) as conn:
        my_port = conn.get_extra_info("sockname")[1]
        [peer] = (await stats(admin, pids="1", node=ONPREM))["nodes"][ONPREM]["peers"]
        assert (peer["port"], peer["pid"]) == (my_port, os.getpid())


async def test_rest_requests_and_connections_are_counted(sim: SimRunner, admin: aiohttp.ClientSession) -> None:
    name = next(n for n, node in sim.world.nodes.items() if node.rest is not None)
    node = sim.world.nodes[name]
    assert node.rest is not None
    url = f"{sim.endpoints[name].rest_url}/drautomation/v1/dr_summary/{node.rest.instance_id}"
    connector = aiohttp.TCPConnector(ssl=sim.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=5)) as http:
        for _ in range(3):  # one keep-alive connection
            async with http.get(url, headers={"Authorization": f"Bearer {node.rest.token}"}) as resp:
                assert resp.status == 200
    counted = (await stats(admin, node=name))["nodes"][name]
    assert counted["rest_requests"] == 3 and counted["rest_connections"] == 1
    assert counted["ksysmgr_commands"] == 0
    [peer] = counted["peers"]
    assert peer["transport"] == "rest" and peer["commands"] == 3 and peer["peer"].startswith("127.0.0.1:")


async def test_filters_and_bad_input(sim: SimRunner, admin: aiohttp.ClientSession) -> None:
    body = await stats(admin, node=ONPREM, peers="0")
    assert list(body["nodes"]) == [ONPREM] and "peers" not in body["nodes"][ONPREM]
    async with admin.get("/stats", params={"node": "nosuchnode"}) as resp:
        assert resp.status == 400 and "nosuchnode" in (await resp.json())["error"]
    async with admin.get("/stats", params={"peers": "maybe"}) as resp:
        assert resp.status == 400
    async with admin.get("/") as resp:
        assert "GET /stats" in (await resp.json())["routes"]


def test_a_re_used_local_port_names_only_the_process_connected_to_the_node(tmp_path) -> None:
    """Linux hands one ephemeral port to connections to other destinations:
    the console's connection to PostgreSQL may share the service's source
    port to a node. Only the socket whose far end is the node's port counts."""
    from ksystui.sim.stats import pids_of_local_ports

    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

    def row(local: int, remote: int, inode: int) -> str:
        return f"   0: 0100007F:{local:04X} 0100007F:{remote:04X} 01 00000000:00000000 00:00000000 00000000  1000 0 {inode}\n"

    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(head + row(51234, 2222, 111) + row(51234, 5432, 222))
    for pid, inode in ((4001, 111), (4002, 222)):  # 4001 reached the node (port 2222); 4002 the database
        fd = tmp_path / str(pid) / "fd"
        fd.mkdir(parents=True)
        os.symlink(f"socket:[{inode}]", fd / "3")
    assert pids_of_local_ports({(51234, 2222)}, tmp_path) == {51234: 4001}
    assert pids_of_local_ports({(51234, 9999)}, tmp_path) == {}
