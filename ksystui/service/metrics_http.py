"""The ``/metrics`` endpoint of ``ksystui serve`` (``[service] metrics_listen``).

A small aiohttp server on the service's event loop; each scrape is
collected in a worker thread (it reads the database), so a slow database
delays the scrape, never the service's polls, lease or queue.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from ksystui.bootstrap import StartupError
from ksystui.service.logs import fields

log = logging.getLogger(__name__)


class MetricsListenError(StartupError):
    """The endpoint cannot listen where it is told to: ``ksystui serve``
    says so in one line and exits 2 (monitoring that silently misses a
    member is worse than a service that does not start)."""


class MetricsEndpoint:
    """``await endpoint.start()`` … ``await endpoint.stop()``; ``url`` once started."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int):
        self.registry = registry
        self.host = host
        self.port = port
        self.url: str | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)  # a scrape every few seconds is not news
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise MetricsListenError(f"[service] metrics_listen = \"{self.host}:{self.port}\": cannot listen: "
                                     f"{exc.strerror or exc}") from None
        self._runner = runner
        server = site._server  # the bound address (port 0 picks a free one)
        sockets = getattr(server, "sockets", None) or ()
        port = sockets[0].getsockname()[1] if sockets else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}/metrics"
        log.info("metrics served", extra=fields(url=self.url))
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self.registry)  # reads the database: off the loop
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
