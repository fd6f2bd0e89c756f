"""REST front end of a simulated PowerVS node: the DR Automation service-broker
API (reference §6.1), HTTPS on loopback with a certificate from the
simulator's CA, bearer-token authentication.

Routes (``{id}`` is the node's ``rest.instance_id``)::

    GET /drautomation/v1/dr_summary/{id}
    GET /drautomation/v1/dr_managed_vms/{id}
    GET /drautomation/v1/last_operation/{id}
    GET /drautomation/v1/service_instances/{id}/events?from_time=&to_time=
    GET /drautomation/v1/service_instances/{id}/events/{event_id}

Errors use the IBM Cloud API error shape::

    {"errors": [{"code": "...", "message": "..."}], "status_code": 401, "trace": "..."}

Faults: ``node_down`` closes new and existing connections without an answer;
``slow`` delays each answer; ``rest_error`` answers with the fault's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ksystui.sim.stats import stats_for

if TYPE_CHECKING:
    from ksystui.sim.faults import FaultBoard
    from ksystui.sim.node import SimNode

log = logging.getLogger(__name__)

API = "/drautomation/v1"

_REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_response(status: int, message: str, code: str | None = None) -> web.Response:
    """A JSON error in the IBM Cloud API shape."""
    body = {
        "errors": [{"code": code or _REASONS.get(status, "error"), "message": message}],
        "status_code": status,
        "trace": uuid.uuid4().hex,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="drautomation"'} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


def parse_time(value: str) -> dt.datetime:
    """ISO 8601 (``2026-04-13T13:40:30Z``, with or without offset) or epoch
    seconds (``1776087630``, fractions allowed). Naive times are UTC.

    Raises ``ValueError`` with a readable message.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty time value")
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"epoch seconds out of range: {value!r}") from exc
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"not an ISO 8601 time or epoch seconds: {value!r} (e.g. 2026-04-13T13:40:30Z or 1776087630)"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RestNodeServer:
    """The HTTPS server of one PowerVS node. ``await start()`` then read :attr:`url`."""

    def __init__(
        self,
        node: SimNode,
        faults: FaultBoard,
        ssl_context: ssl.SSLContext,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if node.rest is None:
            raise ValueError(f"node {node.name} has no REST interface")
        self.node = node
        self.faults = faults
        self.ssl_context = ssl_context
        self.host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        self.port = 0
        self.stats = stats_for(node)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def instance_id(self) -> str:
        assert self.node.rest is not None
        return self.node.rest.instance_id

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._faults_mw, self._auth_mw])
        app.add_routes(
            [
                web.get(API + "/dr_summary/{instance_id}", self._summary),
                web.get(API + "/dr_managed_vms/{instance_id}", self._managed_vms),
                web.get(API + "/last_operation/{instance_id}", self._last_operation),
                web.get(API + "/service_instances/{instance_id}/events", self._events),
                web.get(API + "/service_instances/{instance_id}/events/{event_id}", self._event),
            ]
        )
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol_factory,
            self.host,
            self._requested_port,
            ssl=self.ssl_context,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None

    def _protocol_factory(self) -> asyncio.Protocol:
        if self.faults.node_down(self.node.name):
            return _Refuse()
        assert self._runner is not None and self._runner.server is not None
        self.stats.rest_accepted()
        return self._runner.server()

    def drop_connections(self) -> None:
        server = self._runner.server if self._runner is not None else None
        if server is None:
            return
        for handler in list(server.connections):
            transport = handler.transport
            if transport is not None:
                transport.abort()

    def enforce_faults(self) -> None:
        """Apply faults that act on existing connections (``node_down``)."""
        server = self._runner.server if self._runner is not None else None
        if server is not None and server.connections and self.faults.node_down(self.node.name):
            log.info("%s: node_down, dropping REST connections", self.node.name)
            self.drop_connections()

    # --- middlewares ------------------------------------------------------

    @web.middleware
    async def _faults_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        name = self.node.name
        if request.transport is not None:
            self.stats.rest_request(request.transport.get_extra_info("peername"), self.port)
        if self.faults.node_down(name):
            return self._drop(request)
        delay = self.faults.slow_seconds(name)
        if delay > 0:
            await asyncio.sleep(delay)
            if self.faults.node_down(name):
                return self._drop(request)
        status = self.faults.rest_error(name)
        if status is not None:
            return error_response(status, f"simulated fault: HTTP {status} from {name}")
        return await handler(request)

    def _drop(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.abort()
        # aiohttp treats a ConnectionError from the handler as a client that
        # went away and sends nothing.
        raise ConnectionResetError(f"{self.node.name} is down")

    @web.middleware
    async def _auth_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        assert self.node.rest is not None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return error_response(401, "Authorization header is missing.")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "Authorization header must be 'Bearer <token>'.")
        if not hmac.compare_digest(token.strip().encode(), self.node.rest.token.encode()):
            return error_response(401, "The provided bearer token is invalid or expired.")
        instance = request.match_info.get("instance_id")
        if instance is not None and instance != self.instance_id:
            return error_response(404, f"Service instance '{instance}' was not found.")
        return await handler(request)

    # --- routes -----------------------------------------------------------

    async def _summary(self, request: web.Request) -> web.Response:
        return web.json_response(self.node.rest_summary())

    async def _managed_vms(self, request: web.Request) -> web.Response:
        return web.json_response(self.node.rest_managed_vms())

    async def _last_operation(self, request: web.Request) -> web.Response:
        return web.json_response(self.node.rest_last_operation())

    async def _events(self, request: web.Request) -> web.Response:
        bounds: dict[str, dt.datetime | None] = {"from_time": None, "to_time": None}
        for name in bounds:
            raw = request.query.get(name)
            if raw is None:
                continue
            try:
                bounds[name] = parse_time(raw)
            except ValueError as exc:
                return error_response(400, f"Invalid {name}: {exc}")
        start, end = bounds["from_time"], bounds["to_time"]
        if start is not None and end is not None and start > end:
            return error_response(400, "Invalid time range: from_time is after to_time.")
        events: list[dict[str, Any]] = self.node.rest_events(start, end)
        return web.json_response({"event": events})

    async def _event(self, request: web.Request) -> web.Response:
        event_id = request.match_info["event_id"]
        event = self.node.rest_event(event_id)
        if event is None:
            return error_response(404, f"Event '{event_id}' was not found.")
        return web.json_response(event)


class _Refuse(asyncio.Protocol):
    """Closes a connection as soon as it is made (the node is down)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        else:
            transport.close()
