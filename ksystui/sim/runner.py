"""Run a :class:`SimWorld` behind real sockets: an SSH server per node, a REST
server per PowerVS node and the admin endpoint, all on OS-chosen loopback
ports.

With a state directory the runner also leaves behind everything a client
needs, so ``ksystui``, a second console or a stock ``ssh`` can be pointed at
the simulator::

    <state_dir>/config.toml          ksystui configuration for this run (no secrets)
    <state_dir>/known_hosts          [127.0.0.1]:PORT ssh-ed25519 AAAA... per node
    <state_dir>/id_ed25519(.pub)     client key authorised on every node (0600)
    <state_dir>/tokens/<node>.token  REST bearer token per PowerVS node (0600)
    <state_dir>/ca.pem, ca-key.pem   CA of the REST servers' certificates
    <state_dir>/hostkeys/<node>      node host keys, reused on the next run
    <state_dir>/authorized_keys      optional: more client keys to accept

Host keys, the client key and the CA persist across runs; ports do not, so
``known_hosts`` and ``config.toml`` are rewritten on every start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import asyncssh
import tomli_w

from ksystui.core.durations import format_duration
from ksystui.core.model import Flavour
from ksystui.sim import keys
from ksystui.sim.admin_server import AdminServer
from ksystui.sim.rest_server import RestNodeServer
from ksystui.sim.ssh_server import SshNodeServer

if TYPE_CHECKING:
    from ksystui.sim.world import SimWorld

log = logging.getLogger(__name__)

FAULT_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class NodeEndpoint:
    ssh_port: int
    rest_url: str | None = None


class SimRunner:
    """``async with SimRunner(world, state_dir) as sim:`` serves the world.

    The runner starts and stops the world with the servers unless
    ``manage_world=False`` (when the caller owns the world's lifecycle).
    """

    def __init__(
        self,
        world: SimWorld,
        state_dir: Path | None,
        host: str = "127.0.0.1",
        *,
        manage_world: bool = True,
    ) -> None:
        self.world = world
        self.state_dir = Path(state_dir).absolute() if state_dir is not None else None
        self.host = host
        self.manage_world = manage_world
        self.endpoints: dict[str, NodeEndpoint] = {}
        self.admin_url: str = ""
        self.client_key: asyncssh.SSHKey | None = None
        self.host_keys: dict[str, asyncssh.SSHKey] = {}
        self.tls: keys.TlsMaterial | None = None
        self.ssh_servers: dict[str, SshNodeServer] = {}
        self.rest_servers: dict[str, RestNodeServer] = {}
        self.admin: AdminServer | None = None
        self._watch: asyncio.Task[None] | None = None
        self._world_started = False

    # --- what clients need --------------------------------------------------

    @property
    def known_hosts(self) -> str:
        """known_hosts text for every node (also written to the state dir)."""
        return "".join(
            keys.known_hosts_line(self.host, self.endpoints[name].ssh_port, key) + "\n"
            for name, key in self.host_keys.items()
            if name in self.endpoints
        )

    @property
    def ca_pem(self) -> bytes:
        assert self.tls is not None, "runner not started"
        return self.tls.ca_cert_pem

    def client_ssl_context(self) -> ssl.SSLContext:
        """A TLS context trusting the simulator's CA (hostname verified)."""
        assert self.tls is not None, "runner not started"
        return self.tls.client_context()

    def connect(
        self,
        node: str,
        *,
        client_key: asyncssh.SSHKey | None = None,
        known_hosts: str | None = None,
        username: str = "root",
        **kwargs: Any,
    ) -> Any:
        """``async with sim.connect("r7r3m116") as conn:`` an asyncssh client
        connection authenticated with the runner's client key that verifies the
        node's host key against :attr:`known_hosts` (both overridable)."""
        kwargs.setdefault("connect_timeout", 5)
        kwargs.setdefault("preferred_auth", "publickey")
        return asyncssh.connect(
            self.host,
            self.endpoints[node].ssh_port,
            username=username,
            known_hosts=asyncssh.import_known_hosts(known_hosts or self.known_hosts),
            client_keys=[client_key or self.client_key],
            agent_path=None,
            gss_host=None,
            **kwargs,
        )

    def nodes_info(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "tenant": node.tenant,
                "flavour": str(node.flavour),
                "cluster": node.cluster_name,
                "host": self.host,
                "ssh_port": ep.ssh_port,
                "rest_url": ep.rest_url,
                "instance_id": node.rest.instance_id if node.rest is not None else None,
            }
            for name, node in self.world.nodes.items()
            if (ep := self.endpoints.get(name)) is not None
        ]

    # --- lifecycle ------------------------------------------------------------

    async def __aenter__(self) -> SimRunner:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        state = self.state_dir
        names = list(self.world.nodes)
        if state is not None:
            await asyncio.to_thread(_make_private_dir, state)
        self.client_key = await asyncio.to_thread(keys.load_or_create_client_key, state)
        extra_keys = await asyncio.to_thread(_read_extra_authorized_keys, state)
        for name in names:
            self.host_keys[name] = await asyncio.to_thread(keys.load_or_create_host_key, state, name)
        rest_nodes = [n for n in self.world.nodes.values() if n.rest is not None]
        ssl_server = None
        if rest_nodes:
            hosts = [self.host] if self.host not in ("127.0.0.1", "localhost") else []
            self.tls = await asyncio.to_thread(keys.tls_material, state, hosts)
            ssl_server = await asyncio.to_thread(self.tls.server_context)

        if self.manage_world:
            await self.world.start()
            self._world_started = True

        for name, node in self.world.nodes.items():
            ssh = SshNodeServer(
                node,
                self.world.faults,
                self.host_keys[name],
                [self.client_key, *extra_keys],
                host=self.host,
            )
            await ssh.start()
            self.ssh_servers[name] = ssh
            rest_url = None
            if node.rest is not None:
                assert ssl_server is not None
                rest = RestNodeServer(node, self.world.faults, ssl_server, host=self.host)
                await rest.start()
                self.rest_servers[name] = rest
                rest_url = rest.url
            self.endpoints[name] = NodeEndpoint(ssh_port=ssh.port, rest_url=rest_url)

        self.admin = AdminServer(self.world, self.nodes_info, host=self.host)
        await self.admin.start()
        self.admin_url = self.admin.url
        self._watch = asyncio.create_task(self._watch_faults(), name="sim-fault-watch")

        if state is not None:
            await asyncio.to_thread(self._write_state, state)

    async def stop(self) -> None:
        """Close every server, then the world. Safe to call twice."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        closers = [s.close() for s in self.ssh_servers.values()]
        closers += [s.close() for s in self.rest_servers.values()]
        if self.admin is not None:
            closers.append(self.admin.close())
        results = await asyncio.gather(*closers, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("closing a simulator server failed: %r", result)
        self.ssh_servers.clear()
        self.rest_servers.clear()
        self.admin = None
        if self._world_started:
            self._world_started = False
            await self.world.stop()

    async def _watch_faults(self) -> None:
        """Drop sessions of nodes that went down (faults are polled, not pushed)."""
        while True:
            await asyncio.sleep(FAULT_POLL_SECONDS)
            servers: list[SshNodeServer | RestNodeServer] = [*self.ssh_servers.values(), *self.rest_servers.values()]
            for server in servers:
                try:
                    server.enforce_faults()
                except Exception:
                    log.exception("enforcing faults on %s failed", server.node.name)

    # --- state directory ------------------------------------------------------

    def _write_state(self, state: Path) -> None:
        (state / "known_hosts").write_text(self.known_hosts, encoding="utf-8")
        tokens = state / "tokens"
        for name, node in self.world.nodes.items():
            if node.rest is not None:
                tokens.mkdir(mode=0o700, exist_ok=True)
                keys.write_private(tokens / f"{name}.token", (node.rest.token + "\n").encode())
        (state / "config.toml").write_text(self.config_toml(state), encoding="utf-8")

    def config_toml(self, state: Path) -> str:
        """The ksystui configuration for this run (never holds a token)."""
        by_tenant: dict[str, list[str]] = {}
        for name, node in self.world.nodes.items():
            by_tenant.setdefault(node.tenant, []).append(name)
        tenants = [{"name": t.name, "priority": t.priority, "tier": t.tier, **_agreement(t.rto, t.rpo)}
                   for t in self.world.tenants.values() if by_tenant.get(t.name)]
        known = {t.name for t in self.world.tenants.values()}
        # nodes naming no tenant: no agreement either
        tenants += [{"name": orphan, "priority": 99, "tier": "standard"} for orphan in by_tenant.keys() - known]
        doc = {
            "database": {"url": f"sqlite:///{state / 'ksystui.db'}"},
            "tenants": [{**t, "nodes": [self._node_config(state, node) for node in by_tenant[str(t["name"])]]}
                        for t in tenants],
        }
        header = [
            "Written by `ksystui sim` for this simulator run.",
            "Ports change on every run; host keys, client key and CA are reused.",
            f"Simulator admin endpoint (not part of ksystui's config): {self.admin_url}",
            *(f"Tenant {t.name} has no KSYS node in this scenario."
              for t in self.world.tenants.values() if not by_tenant.get(t.name)),
        ]
        return "".join(f"# {line}\n" for line in header) + "\n" + tomli_w.dumps(doc)

    def _node_config(self, state: Path, name: str) -> dict[str, Any]:
        node = self.world.nodes[name]
        ep = self.endpoints[name]
        entry: dict[str, Any] = {
            "name": name,
            "flavour": str(node.flavour),
            "ssh": {"host": self.host, "port": ep.ssh_port, "user": "root",
                    "key_file": str(state / keys.CLIENT_KEY_FILE), "known_hosts": str(state / "known_hosts")},
        }
        if node.spec.tags:
            entry["tags"] = dict(node.spec.tags)
        # PowerVS KSYS prints no hosts: the provider's configuration sizes its dedicated hosts
        sized = [h for h in node.state.hosts.values() if h.memory_gb is not None and h.processors is not None]
        if node.flavour is Flavour.POWERVS and sized:
            entry["dedicated_hosts"] = [{"name": h.name, "site": h.site, "uuid": h.uuid, "memory_gb": h.memory_gb,
                                         "processors": h.processors} for h in sized]
        if node.rest is not None and ep.rest_url is not None:
            entry["rest"] = {"url": ep.rest_url, "instance_id": node.rest.instance_id,
                             "token_file": str(state / "tokens" / f"{name}.token"),
                             "ca_file": str(state / keys.CA_FILE)}
        return entry


def _agreement(rto: timedelta | None, rpo: timedelta | None) -> dict[str, str]:
    """A tenant's agreed RTO and RPO as config.toml spells them ("30m"), where the scenario gives them."""
    return {key: format_duration(value) for key, value in (("rto", rto), ("rpo", rpo)) if value is not None}


def _make_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _read_extra_authorized_keys(state: Path | None) -> list[asyncssh.SSHKey]:
    if state is None:
        return []
    path = state / "authorized_keys"
    if not path.exists():
        return []
    try:
        return list(asyncssh.read_public_key_list(path))
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        log.warning("%s: ignored, cannot read keys: %s", path, exc)
        return []


# --- `ksystui sim` ------------------------------------------------------------


async def run_sim(
    scenario: Path | None,
    state_dir: Path,
    speed: float,
    out: TextIO,
    *,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve a scenario (the seed when ``None``) until cancelled or ``stop`` is set.

    Prints one line per node and one for the admin endpoint, then flushes::

        r7r3m116  ssh://root@127.0.0.1:40001
        ksysorch-dal12  ssh://root@127.0.0.1:40005  https://127.0.0.1:40006
        admin http://127.0.0.1:40007

    Returns 0 when ``stop`` is set; on cancellation the servers and the world
    are closed first and the ``CancelledError`` is re-raised.
    """
    from ksystui.sim.world import SimWorld

    if scenario is None:
        world = await asyncio.to_thread(SimWorld.seed, speed)
    else:
        world = await asyncio.to_thread(SimWorld.from_scenario, scenario, speed)
    async with SimRunner(world, state_dir) as sim:
        for name, ep in sim.endpoints.items():
            line = f"{name}  ssh://root@{_url_host(sim.host)}:{ep.ssh_port}"
            if ep.rest_url:
                line += f"  {ep.rest_url}"
            out.write(line + "\n")
        out.write(f"admin {sim.admin_url}\n")
        out.flush()
        waiter = stop if stop is not None else asyncio.Event()
        await waiter.wait()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
