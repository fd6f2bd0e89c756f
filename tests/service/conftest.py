"""The provider service against the simulator: its configuration on SQLite
or on a PostgreSQL database of the test server, and ``ksystui serve``
processes started and stopped as a service manager would."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ksystui.core.lease import LeaseState
from ksystui.store.engine import migrate, open_engine
from ksystui.store.lease import LeaseStore, Member


def service_config(state: Path, url: str, *, interval: float = 2.0) -> Path:
    """The simulator's config.toml (in ``state``), on the database ``url``,
    each node polled every ``interval`` seconds."""
    cfg = state / "config.toml"
    text = cfg.read_text().replace(f'url = "sqlite:///{state}/ksystui.db"', f'url = "{url}"')
    cfg.write_text(text + f"\n[poll]\ninterval = {interval}\n")
    return cfg


@dataclass
class Db:
    """The database the services share, as a test reads it."""

    url: str
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = open_engine(self.url)
        migrate(self.engine)

    @property
    def lease(self) -> LeaseStore:
        return LeaseStore(self.engine)

    async def state(self) -> LeaseState:
        return await asyncio.to_thread(self.lease.state)

    async def members(self) -> dict[str, Member]:
        return {m.id: m for m in await asyncio.to_thread(self.lease.members)}

    async def leader(self) -> str | None:
        """The live lease's holder (None: nobody leads)."""
        lease = self.lease
        state, now = await asyncio.to_thread(lambda: (lease.state(), lease.now()))
        return state.holder if state.live(now) else None


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    db = Db(f"sqlite:///{tmp_path / 'service.db'}")
    yield db
    db.engine.dispose()


@pytest.fixture
def pg_db(pg_server, request) -> Iterator[Db]:
    name = "svc_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    db = Db(pg_server.create_database(name))
    yield db
    db.engine.dispose()


@dataclass
class Served:
    """A ``ksystui serve`` subprocess; its log (stderr) goes to a file."""

    proc: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def is_me(self, member: str | None) -> bool:
        """Whether ``member`` (host:pid:boot) is this process."""
        return member is not None and member.split(":")[-2] == str(self.pid)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: alive and connected, doing nothing (a frozen VM, a wedged process)."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    async def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator:
    """``await serve(config)``: start ``ksystui serve``; every one still
    running is killed when the test ends."""
    started: list[Served] = []

    async def start(config: Path, *args: str) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ksystui", "serve", "--config", str(config), *args,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=err)
        served = Served(proc, log)
        started.append(served)
        return served

    yield start
    for s in started:
        if s.proc.returncode is None:
            s.proc.kill()
            await s.proc.wait()


async def ksystui(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksystui", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty store in SQLite, migrated to the head."""
    eng = open_engine(f"sqlite:///{tmp_path / 'k.db'}")
    migrate(eng)
    yield eng
    eng.dispose()
