"""The fleet a command line process builds: each PowerVS node's REST token
is read when that node's DR Automation service is first asked, not when the
process starts.

So a secret that cannot be read (customerC's token variable unset) breaks
customerC's node only: its service reads fail with the reason, as an
authentication failure, and every other node — every other tenant — is read
as usual. A scoped command that never polls customerC's node never reads
its secret at all. ``ksystui serve`` keeps building its fleet eagerly
(``build_fleet``): a service says at start what cannot work.
"""

from __future__ import annotations

from typing import Any

from ksystui.config import Config, ConfigError, NodeConfig, RestConfig, resolve_token
from ksystui.fleet.connect import build_fleet
from ksystui.fleet.fleet import Fleet, SnapshotSink
from ksystui.transport.errors import AuthFailed
from ksystui.transport.rest import RestTransport

# stands for the token until it is read; never sent (the first request reads the real one)
_UNREAD = "unread"


class LazyTokenRest(RestTransport):
    """A node's REST transport whose token is read from its configured
    source on the first request; a source that cannot be read fails that
    request (and each later one) as ``AuthFailed`` with the reason."""

    def __init__(self, node: NodeConfig) -> None:
        assert node.rest is not None
        r = node.rest
        super().__init__(node.name, url=r.url, instance_id=r.instance_id, token=_UNREAD, ca_file=r.ca_file,
                         timeout=r.timeout)
        self._source: RestConfig | None = r

    async def _attempt(self, session: Any, path: str, params: dict[str, str] | None) -> Any:
        if self._source is not None:
            try:
                token = resolve_token(self._source).strip()
            except ConfigError as exc:
                raise AuthFailed(self.node, f"no REST token: {exc}") from None
            if not token:
                raise AuthFailed(self.node, "no REST token: its source is empty")
            self._token = type(self._token)(token)  # the transport's own hiding wrapper
            self._source = None
        return await super()._attempt(session, path, params)


def in_scope(cfg: Config, scope: str | None) -> Config:
    """The configuration of the tenant ``scope`` only (all of it for None)."""
    if scope is None:
        return cfg
    return cfg.model_copy(update={"tenants": [t for t in cfg.tenants if t.name == scope]})


def build_lazy_fleet(cfg: Config, store: SnapshotSink | None = None, *, scope: str | None = None) -> Fleet:
    """The fleet of ``cfg`` (of the tenant ``scope`` only, when given), its
    REST tokens read lazily, node by node."""
    scoped = in_scope(cfg, scope)
    without_rest = scoped.model_copy(update={"tenants": [
        t.model_copy(update={"nodes": [n.model_copy(update={"rest": None}) for n in t.nodes]})
        for t in scoped.tenants]})
    fleet = build_fleet(without_rest, store)  # the monitors exactly as the fleet builds them ...
    for _, node in scoped.nodes():
        if node.rest is not None:  # ... and the REST service each PowerVS node has, its token read on first use
            fleet.monitors[node.name].rest = LazyTokenRest(node)
    return fleet
