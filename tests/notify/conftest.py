"""A webhook receiver on 127.0.0.1 that records what it is sent and answers
as a test scripts it (fail, redirect, hang), and configurations naming it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.webhook_receiver import listening

CANARY_TOKEN = "c4nary-T0KEN-in-the-url-9f3a1"
CANARY_KEY = "c4naryR0utingKey0000000000000042"


@dataclass
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """``answers``: the statuses to give, first to last (then 200 each time);
    ``hang``: hold every request until the test ends."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    hang: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(Received(request.path, request.query_string, dict(request.headers),
                                      json.loads(raw) if raw else {}))
        if self.hang:
            await self.released.wait()
        status = self.answers.pop(0) if self.answers else 200
        if 300 <= status < 400:
            raise web.HTTPFound(self.url("/elsewhere"))
        # a careless receiver echoes what it was sent, address included: none of it may be repeated
        return web.Response(status=status, text=f"echo {request.path_qs} {raw[:200]!r}")


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch):
    """Whatever proxy the machine running the tests names, these tests set their own."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    async with listening(rx.handle) as rx.base:
        try:
            yield rx
        finally:
            rx.released.set()  # a handler held by a test lets go before the server stops


def hooks_config(tmp_path: Path, hooks: str) -> Path:
    """A configuration with one quiet tenant and the ``[[notify]]`` tables given."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n'
                   '[[tenants]]\nname = "customerA"\npriority = 1\n[[tenants.nodes]]\nname = "nodeA"\n'
                   '[tenants.nodes.ssh]\nhost = "127.0.0.1"\nport = 1\nkey_file = "id"\nknown_hosts = "kh"\n'
                   + hooks)
    return cfg
