"""The simulator's own control endpoint (plain HTTP on loopback).

Nothing here exists on a real KSYS: it is how a test, a demo operator or a
second console looks behind the curtain of the simulated fleet::

    GET    /collisions          operations that overlapped on a shared host
    GET    /capacity-failures   VM boots a host had no room for (below)
    GET    /faults              active faults
    POST   /faults              {"kind": "slow", "target": "r7r3m116", "seconds": 3}
    DELETE /faults[?kind=&target=]
    GET    /nodes               name, tenant, flavour, ssh_port, rest_url
    GET    /stats[?node=&peers=0&pids=1&times=]
                                what each node was asked and by whom (below)

``GET /stats`` counts since the simulator started (read it twice and subtract
for a window)::

    {"now": "2026-11-30T09:30:00+00:00",
     "totals": {"ksysmgr_commands": 40, "ksysmgr_queries": 36, "rest_requests": 6,
                "ssh_connections": 4, "rest_connections": 1},
     "nodes": {"r7r3m116": {
         "ksysmgr_commands": 10,      # every ksysmgr command line run over SSH
         "ksysmgr_queries": 9,        # those that were `ksysmgr query ...`
         "commands": {"query vm": 1, "verify ksyscluster": 1, ...},
         "rest_requests": 0,          # DR Automation API requests (PowerVS nodes)
         "ssh_connections": 1,        # SSH connections accepted
         "rest_connections": 0,       # TLS connections accepted by the REST server
         "open_ssh_connections": 1,
         "peers": [{"transport": "ssh", "peer": "127.0.0.1:51234", "port": 51234,
                    "opened_at": "...", "closed_at": null, "commands": 10, "pid": null}]}}}

``peers`` lists each client connection (its source address:port; every open
one plus the last closed ones) so a test can tell which process opened it:
the client knows its local ports, or ``?pids=1`` fills ``pid`` for sockets
still open, read from /proc (Linux, same user). REST peers are client
addresses seen by a request (``closed_at`` stays null). ``?node=NAME``
(repeatable) narrows the answer, ``?peers=0`` leaves the peer lists out.
``?times=query%20vm`` adds ``"times"``: ``[epoch seconds, client port]``
each time that command ran (of the node's last 256 commands), for a rate
per client over a window.

``GET /capacity-failures`` lists every boot a physical host refused for want
of free memory or CPU, oldest first (with ksystui checking capacity before
each move and DR test, it stays empty)::

    [{"host": "snorlax", "uuid": "a1f3c9e0-...", "node": "r7r3m108", "tenant": "customerB",
      "vm": "cB_db2core", "operation": "planned move site from customerB to service_provider",
      "needed": {"memory_gb": 96.0, "cpu": 6.0}, "free": {"memory_gb": 20.0, "cpu": 14.5},
      "time": "2026-11-30T09:30:00+00:00"}]

Bad input is answered ``400 {"error": "..."}`` with a message a person can act on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ksystui.sim.stats import pids_of_local_ports, stats_for

if TYPE_CHECKING:
    from ksystui.sim.world import SimWorld

NodesInfo = Callable[[], list[dict[str, Any]]]

ROUTES = {
    "GET /collisions": "operations that overlapped on a shared resource",
    "GET /capacity-failures": "VM boots a host had no room for (memory or CPU)",
    "GET /faults": "active faults",
    "POST /faults": 'inject a fault: {"kind": ..., "target": ..., <params>}',
    "DELETE /faults": "clear faults (all, or ?kind=&target=)",
    "GET /nodes": "simulated nodes and their ports",
    "GET /stats": "ksysmgr commands, requests and connections per node (?node=&peers=0&pids=1&times=)",
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class AdminServer:
    def __init__(self, world: SimWorld, nodes_info: NodesInfo, host: str = "127.0.0.1", port: int = 0):
        self.world = world
        self.nodes_info = nodes_info
        self.host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/collisions", self._collisions),
                web.get("/capacity-failures", self._capacity_failures),
                web.get("/faults", self._faults),
                web.post("/faults", self._inject),
                web.delete("/faults", self._clear),
                web.get("/nodes", self._nodes),
                web.get("/stats", self._stats),
            ]
        )
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.Response:
        return web.json_response({"routes": ROUTES})

    async def _collisions(self, request: web.Request) -> web.Response:
        return web.json_response([c.to_json() for c in self.world.collisions.entries()])

    async def _capacity_failures(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.capacity_failures.to_json())

    async def _faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.faults.to_json())

    async def _inject(self, request: web.Request) -> web.Response:
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"request body is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, 'request body must be a JSON object: {"kind": ..., "target": ...}')
        kind, target = body.get("kind"), body.get("target")
        if not isinstance(kind, str) or not kind:
            return _error(400, '"kind" is required and must be a string')
        if not isinstance(target, str) or not target:
            return _error(400, '"target" is required and must be a string')
        params = {k: v for k, v in body.items() if k not in ("kind", "target", "params")}
        nested = body.get("params")
        if nested is not None:
            if not isinstance(nested, dict):
                return _error(400, '"params" must be a JSON object')
            params.update(nested)
        try:
            fault = self.world.faults.inject(kind, target, **params)
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return web.json_response(fault.to_json(), status=201)

    async def _clear(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind") or None
        target = request.query.get("target") or None
        cleared = self.world.faults.clear(kind, target)
        return web.json_response({"cleared": cleared})

    async def _nodes(self, request: web.Request) -> web.Response:
        return web.json_response(self.nodes_info())

    async def _stats(self, request: web.Request) -> web.Response:
        wanted = request.query.getall("node", [])
        unknown = [n for n in wanted if n not in self.world.nodes]
        if unknown:
            return _error(400, f"no such node: {', '.join(unknown)} (GET /nodes lists them)")
        flags = {}
        for flag, default in (("peers", True), ("pids", False)):
            raw = request.query.get(flag)
            if raw is None:
                flags[flag] = default
            elif raw in ("0", "1", "true", "false"):
                flags[flag] = raw in ("1", "true")
            else:
                return _error(400, f"{flag} must be 0 or 1")
        nodes = {name: stats_for(node) for name, node in self.world.nodes.items() if not wanted or name in wanted}
        pids: dict[int, int] = {}
        if flags["peers"] and flags["pids"]:
            open_connections = {(r.port, r.server_port) for s in nodes.values() for r in s.peers
                                if r.closed_at is None}
            pids = await asyncio.to_thread(pids_of_local_ports, open_connections)
        totals = {
            key: sum(getattr(s, key) for s in nodes.values())
            for key in ("ksysmgr_commands", "ksysmgr_queries", "rest_requests", "ssh_connections", "rest_connections")
        }
        return web.json_response({
            "now": datetime.now(UTC).isoformat(),
            "totals": totals,
            "nodes": {name: s.to_json(peers=flags["peers"], pids=pids, times_of=request.query.get("times"))
                      for name, s in nodes.items()},
        })
