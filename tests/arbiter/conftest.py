"""The arbiter against the simulator: real SSH to the simulated nodes, a
real queue in SQLite, the simulator's collision log as the oracle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.port import ArbiterPort
from ksystui.config import Config, load_config
from ksystui.core.actor import Actor
from ksystui.fleet.connect import build_fleet, close_fleet
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.audit_log import current_actor
from ksystui.store.queue_async import AsyncQueue
from tests.sim_config import write_config


@dataclass
class Rig:
    world: SimWorld
    runner: SimRunner
    config_path: Path
    cfg: Config
    queue: AsyncQueue
    fleet: object
    actor: Actor

    def dispatcher(self, **kw) -> Dispatcher:
        transports = {n: m.transport for n, m in self.fleet.monitors.items()}
        kw.setdefault("tick", 0.1)
        return Dispatcher(self.queue, self.fleet, transports, self.actor, **kw)

    def port(self, dispatcher=None, *, scope: str | None = None) -> ArbiterPort:
        return ArbiterPort(self.queue, self.fleet, self.actor, {t.name: t.priority for t in self.cfg.tenants},
                           dispatcher, scope=scope)

    def sent(self, node: str, word: str) -> int:
        """How many command lines with this action word the node received."""
        return sum(1 for argv in self.world.nodes[node].command_log if word in argv)


@asynccontextmanager
async def rig_on(world: SimWorld, tmp_path: Path, *, db: Path | None = None) -> AsyncIterator[Rig]:
    """``world`` served on loopback (its state in ``tmp_path/state``), and
    ksystui on it: the fleet read once, the queue in ``db`` (default
    ``tmp_path/k.db``; two rigs may share one, as a history)."""
    state = tmp_path / "state"
    async with SimRunner(world, state) as runner:
        path = write_config(state, db or tmp_path / "k.db")
        cfg = load_config(path).config
        queue = await AsyncQueue.open(cfg.database.url)
        fleet = build_fleet(cfg)
        await fleet.refresh_all()
        try:
            yield Rig(world, runner, path, cfg, queue, fleet, current_actor("test-console"))
        finally:
            await close_fleet(fleet)
            await queue.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig_on(SimWorld.seed(speed=60), tmp_path) as rig:
        yield rig


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[AsyncQueue]:
    """An empty queue in SQLite, for tests through the arbiter's seams."""
    q = await AsyncQueue.open(f"sqlite:///{tmp_path / 'k.db'}")
    yield q
    await q.close()
