"""SimRunner and `ksystui sim`: ports, the state directory a client needs, and
a clean start/stop."""

from __future__ import annotations

import asyncio
import io
import re
import ssl
import stat
import tomllib
from pathlib import Path

import aiohttp
import asyncssh

from ksystui.config import parse_config
from ksystui.sim import keys
from ksystui.sim.runner import SimRunner, run_sim
from ksystui.sim.world import SimWorld

# small synchronous file helpers (blocking calls stay out of the async tests)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read_text(path: Path | str) -> str:
    return Path(path).read_text()


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def listdir(path: Path) -> list[Path]:
    return list(path.iterdir())


async def test_every_node_gets_its_servers(sim: SimRunner) -> None:
    assert set(sim.endpoints) == set(sim.world.nodes)
    ports = [ep.ssh_port for ep in sim.endpoints.values()]
    assert len(set(ports)) == len(ports) and all(p > 0 for p in ports)
    for name, ep in sim.endpoints.items():
        has_rest = sim.world.nodes[name].rest is not None
        assert (ep.rest_url is not None) == has_rest
    assert sim.admin_url.startswith("http://127.0.0.1:")


async def test_state_dir_contents(sim_dir: SimRunner, state_dir: Path) -> None:
    world = sim_dir.world
    rest_nodes = [n for n, node in world.nodes.items() if node.rest is not None]
    assert rest_nodes

    key = state_dir / "id_ed25519"
    assert mode(key) == 0o600
    assert mode(state_dir) == 0o700
    assert (state_dir / "id_ed25519.pub").read_text().startswith("ssh-ed25519 AAAA")
    client = asyncssh.read_private_key(key)
    assert client.public_data == sim_dir.client_key.public_data
    for name in world.nodes:
        assert mode(state_dir / "hostkeys" / name) == 0o600
    for name in rest_nodes:
        token_file = state_dir / "tokens" / f"{name}.token"
        assert mode(token_file) == 0o600
        assert token_file.read_text().strip() == world.nodes[name].rest.token
    assert (state_dir / "ca.pem").read_bytes() == sim_dir.ca_pem
    assert mode(state_dir / "ca-key.pem") == 0o600

    # known_hosts: one line per node, the key each server really presents
    lines = (state_dir / "known_hosts").read_text().splitlines()
    assert len(lines) == len(world.nodes)
    for name, ep in sim_dir.endpoints.items():
        expected = f"[127.0.0.1]:{ep.ssh_port} {keys.public_key_line(sim_dir.host_keys[name])}"
        assert expected in lines
        async with asyncssh.connect(
            "127.0.0.1",
            ep.ssh_port,
            username="root",
            known_hosts=str(state_dir / "known_hosts"),
            client_keys=[str(key)],
            agent_path=None,
            connect_timeout=5,
        ) as conn:
            served = conn.get_server_host_key()
            assert served is not None and served.public_data == sim_dir.host_keys[name].public_data


async def test_config_toml(sim_dir: SimRunner, state_dir: Path) -> None:
    world = sim_dir.world
    text = (state_dir / "config.toml").read_text()
    assert text.startswith("# Written by `ksystui sim` for this simulator run.\n")
    for node in world.nodes.values():
        if node.rest is not None:
            assert node.rest.token not in text
    config = tomllib.loads(text)
    assert config["database"]["url"] == f"sqlite:///{state_dir}/ksystui.db"

    tenants = {t["name"]: t for t in config["tenants"]}
    assert set(tenants) == set(world.tenants)
    for name, info in world.tenants.items():
        assert tenants[name]["priority"] == info.priority
        assert tenants[name]["tier"] == info.tier

    seen = set()
    for tenant in config["tenants"]:
        for node in tenant.get("nodes", []):
            seen.add(node["name"])
            sim_node = world.nodes[node["name"]]
            assert sim_node.tenant == tenant["name"]
            assert node["flavour"] == str(sim_node.flavour)
            ssh = node["ssh"]
            assert ssh == {
                "host": "127.0.0.1",
                "port": sim_dir.endpoints[node["name"]].ssh_port,
                "user": "root",
                "key_file": str(state_dir / "id_ed25519"),
                "known_hosts": str(state_dir / "known_hosts"),
            }
            if sim_node.rest is None:
                assert "rest" not in node
            else:
                assert node["rest"] == {
                    "url": sim_dir.endpoints[node["name"]].rest_url,
                    "instance_id": sim_node.rest.instance_id,
                    "token_file": str(state_dir / "tokens" / f"{node['name']}.token"),
                    "ca_file": str(state_dir / "ca.pem"),
                }
    assert seen == set(world.nodes)

    # and ksystui itself accepts it
    loaded = parse_config(text, state_dir / "config.toml")
    assert loaded.warnings == ()
    assert {n.name for _, n in loaded.config.nodes()} == set(world.nodes)
    # with the scenario's failure domains, which `ksystui plan disaster --fail city=austin` reads
    assert loaded.config.node_tags() == {n.name: n.spec.tags for n in world.nodes.values() if n.spec.tags}
    assert {n for n, tags in loaded.config.node_tags().items() if tags.get("city") == "austin"} == {
        "r7r3m116", "r7r3m108"}


async def test_config_toml_is_usable_as_is(sim_dir: SimRunner, state_dir: Path) -> None:
    """Everything a client needs comes from config.toml and the files it names."""
    config = tomllib.loads((state_dir / "config.toml").read_text())
    nodes = [n for t in config["tenants"] for n in t.get("nodes", [])]
    for node in nodes:
        ssh = node["ssh"]
        async with asyncssh.connect(
            ssh["host"],
            ssh["port"],
            username=ssh["user"],
            client_keys=[ssh["key_file"]],
            known_hosts=ssh["known_hosts"],
            agent_path=None,
            connect_timeout=5,
        ) as conn:
            assert (await conn.run("ksysmgr q site", timeout=5)).exit_status == 0
        if "rest" in node:
            rest = node["rest"]
            token = read_text(rest["token_file"]).strip()
            ctx = ssl.create_default_context(cafile=rest["ca_file"])
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http:
                url = f"{rest['url']}/drautomation/v1/dr_summary/{rest['instance_id']}"
                async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                    assert resp.status == 200


async def test_keys_and_ca_persist_across_runs(state_dir: Path) -> None:
    async with SimRunner(SimWorld.seed(speed=200), state_dir) as first:
        host_keys = {n: k.public_data for n, k in first.host_keys.items()}
        client = first.client_key.public_data
        ca = first.ca_pem
    async with SimRunner(SimWorld.seed(speed=200), state_dir) as second:
        assert {n: k.public_data for n, k in second.host_keys.items()} == host_keys
        assert second.client_key.public_data == client
        assert second.ca_pem == ca
        # known_hosts is rewritten for the new ports
        text = (state_dir / "known_hosts").read_text()
        for ep in second.endpoints.values():
            assert f"[127.0.0.1]:{ep.ssh_port} " in text


async def test_extra_authorized_keys_from_the_state_dir(state_dir: Path) -> None:
    mine = asyncssh.generate_private_key("ssh-ed25519")
    write_bytes(state_dir / "authorized_keys", mine.export_public_key())
    async with SimRunner(SimWorld.seed(speed=200), state_dir) as sim:
        async with sim.connect("r7r3m116", client_key=mine) as conn:
            assert (await conn.run("ksysmgr q site", timeout=5)).exit_status == 0


async def test_without_state_dir_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with SimRunner(SimWorld.seed(speed=200), None) as sim:
        async with sim.connect("r7r3m116") as conn:
            assert (await conn.run("ksysmgr q site", timeout=5)).exit_status == 0
    assert listdir(tmp_path) == []


async def test_stop_closes_every_port(world: SimWorld) -> None:
    async with SimRunner(world, None) as sim:
        ports = [ep.ssh_port for ep in sim.endpoints.values()]
        ports.append(int(sim.admin_url.rsplit(":", 1)[1]))
        ports += [int(ep.rest_url.rsplit(":", 1)[1]) for ep in sim.endpoints.values() if ep.rest_url]
    for port in ports:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            continue
        writer.close()
        raise AssertionError(f"port {port} still open after stop")


async def test_run_sim_prints_endpoints_and_stops_cleanly_when_cancelled(
    state_dir: Path, caplog
) -> None:
    out = io.StringIO()
    task = asyncio.create_task(run_sim(None, state_dir, 200.0, out))
    for _ in range(200):
        if "admin " in out.getvalue():
            break
        await asyncio.sleep(0.02)
    lines = out.getvalue().splitlines()
    node_lines = [line for line in lines if not line.startswith("admin ")]
    world = SimWorld.seed()
    assert len(node_lines) == len(world.nodes)
    pattern = re.compile(r"^(\S+)  ssh://root@127\.0\.0\.1:(\d+)(  https://127\.0\.0\.1:(\d+))?$")
    for line in node_lines:
        m = pattern.match(line)
        assert m, line
        assert (m.group(3) is not None) == (world.nodes[m.group(1)].rest is not None)
    assert re.fullmatch(r"admin http://127\.0\.0\.1:\d+", lines[-1])
    assert (state_dir / "config.toml").exists()

    # it is really serving
    port = int(pattern.match(node_lines[0]).group(2))
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()

    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done, "run_sim did not stop"
    assert task.cancelled()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        pass
    else:
        writer.close()
        raise AssertionError("SSH port still open after run_sim stopped")


async def test_run_sim_returns_0_when_asked_to_stop(state_dir: Path) -> None:
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(run_sim(None, state_dir, 200.0, out, stop=stop))
    for _ in range(200):
        if "admin " in out.getvalue():
            break
        await asyncio.sleep(0.02)
    stop.set()
    assert await asyncio.wait_for(task, 5) == 0


async def test_config_survives_an_awkward_state_directory(tmp_path: Path) -> None:
    """Quotes, a backslash, spaces and non-ASCII in the path: config.toml still
    parses and names the files exactly."""
    state = tmp_path / 'odd "dir" \\ é'
    async with SimRunner(SimWorld.seed(), state):
        config = tomllib.loads((state / "config.toml").read_text(encoding="utf-8"))
    assert config["database"]["url"] == f"sqlite:///{state}/ksystui.db"
    ssh = config["tenants"][0]["nodes"][0]["ssh"]
    assert ssh["key_file"] == str(state / "id_ed25519") and ssh["known_hosts"] == str(state / "known_hosts")
