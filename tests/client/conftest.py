"""Consoles as clients of the database: the simulator served on loopback,
a database (SQLite, and PostgreSQL started by the tests), a configuration
naming both, and the consoles' runtimes built from it as ``ksystui`` builds
them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksystui.bootstrap import ClientRuntime, client_runtime, load
from ksystui.config import load_config
from ksystui.service.serve import Service
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.engine import migrate, open_engine
from ksystui.store.rls import grant_tenant


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'k.db'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"client_{uuid.uuid4().hex[:10]}")


@dataclass
class Site:
    """The simulated fleet on loopback and ksystui's configuration for it."""

    world: SimWorld
    runner: SimRunner
    config: Path
    url: str

    @contextlib.asynccontextmanager
    async def service(self) -> AsyncIterator[Service]:
        """``ksystui serve`` on this configuration, in this process, leading."""
        async with Service(load_config(self.config).config, tick=0.1) as service:
            await service.leading.wait()
            yield service

    @contextlib.asynccontextmanager
    async def console(self, *, scope: str | None = None, readonly: bool = False) -> AsyncIterator[ClientRuntime]:
        """A console's runtime, as ``ksystui [--tenant T] [--readonly]`` builds it
        (scoped on PostgreSQL: after ``grant(T)``)."""
        err = io.StringIO()
        async with client_runtime(load(self.config, err), err, scope=scope, readonly=readonly,
                                  poll_seconds=0.1) as rt:
            yield rt

    async def grant(self, tenant: str) -> None:
        """What the provider runs once before a scoped console opens on
        PostgreSQL (``ksystui db grant-tenant``); nothing on SQLite."""
        if self.url.startswith("postgresql"):
            await asyncio.to_thread(_grant_tenant, self.url, tenant)


def _grant_tenant(url: str, tenant: str) -> None:
    engine = open_engine(url)
    try:
        migrate(engine)
        grant_tenant(engine, tenant)
    finally:
        engine.dispose()


POLL_INTERVAL = 1.0  # seconds between two polls of a node by the service


def configure(state: Path, url: str) -> Path:
    """The simulator's config.toml, on the database ``url``, its nodes
    polled every POLL_INTERVAL."""
    cfg = state / "config.toml"
    text = re.sub(r'(?m)^url = "sqlite:///[^"]*"$', f'url = "{url}"', cfg.read_text())
    cfg.write_text(f"[poll]\ninterval = {POLL_INTERVAL}\n\n" + text)
    return cfg


@pytest.fixture
async def site(world: SimWorld, tmp_path: Path, db_url: str) -> AsyncIterator[Site]:
    state = tmp_path / "state"
    async with SimRunner(world, state) as runner:
        yield Site(world, runner, configure(state, db_url), db_url)
