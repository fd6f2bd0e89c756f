"""Build the live fleet from the configuration: one transport (and, for
PowerVS, one REST client) per node, one monitor per node."""

from __future__ import annotations

from ksystui.config import Config, ConfigError, NodeConfig, resolve_passphrase, resolve_token
from ksystui.core.model import Flavour, Host
from ksystui.core.tenants import TenantInfo
from ksystui.fleet.fleet import Fleet, SnapshotSink
from ksystui.fleet.monitor import NodeMonitor
from ksystui.transport.rest import RestTransport
from ksystui.transport.ssh import SshTransport


def ssh_transport(node: NodeConfig) -> SshTransport:
    s = node.ssh
    return SshTransport(
        node.name,
        host=s.host,
        port=s.port,
        user=s.user,
        key_file=s.key_file,
        use_agent=s.use_agent,
        known_hosts=s.known_hosts,
        trust_on_first_use=s.trust_on_first_use,
        connect_timeout=s.connect_timeout,
        command_timeout=s.command_timeout,
        keepalive_interval=s.keepalive_interval,
        passphrase=(lambda: resolve_passphrase(s) or "") if (s.key_passphrase_env or s.key_passphrase_file) else None,
    )


def rest_transport(node: NodeConfig) -> RestTransport | None:
    if node.rest is None:
        return None
    r = node.rest
    return RestTransport(
        node.name, url=r.url, instance_id=r.instance_id, token=resolve_token(r), ca_file=r.ca_file, timeout=r.timeout
    )


def build_fleet(cfg: Config, store: SnapshotSink | None = None) -> Fleet:
    fleet = Fleet(store)
    for tenant, node in cfg.nodes():
        try:
            rest = rest_transport(node)
        except ConfigError as exc:
            raise ConfigError(f"node {node.name}: {exc}") from None
        fleet.add(
            NodeMonitor(
                node.name,
                tenant.name,
                Flavour(node.flavour),
                ssh_transport(node),
                rest=rest,
                interval=node.poll_interval or cfg.poll.interval,
                jitter=cfg.poll.jitter,
                command_timeout=node.ssh.command_timeout,
                declared_hosts=declared_hosts(node),
            )
        )
    return fleet


DECLARED = (("Source", "configuration"),)  # a host record the configuration gave, not the node


def declared_hosts(node: NodeConfig) -> tuple[Host, ...]:
    """A PowerVS node's dedicated hosts as host records (its KSYS prints none):
    what the capacity model, the claims and the hosts view read. A host with
    no id in the configuration is known by its name."""
    return tuple(Host(name=h.name, uuid=h.uuid or f"dedicated-host:{h.name}", site=h.site,
                      memory_capacity=f"{h.memory_gb:g}", processors=f"{h.processors:g}", extra=DECLARED)
                 for h in node.dedicated_hosts)


async def close_fleet(fleet: Fleet) -> None:
    await fleet.stop()
    for m in fleet.monitors.values():
        await m.transport.close()
        if m.rest is not None:
            await m.rest.close()


def tenant_infos(cfg: Config) -> list[TenantInfo]:
    return [TenantInfo(t.name, t.priority, t.tier, tuple(n.name for n in t.nodes), t.rto, t.rpo) for t in cfg.tenants]
