"""The arbiter's rig on the seed with its recovery hosts resized
(``tests.sim.capacity_scenarios``): real SSH to the simulated nodes, whose
``ksysmgr query host`` prints each host's size, a real queue in SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ksystui.config import load_config
from ksystui.fleet.connect import build_fleet, close_fleet
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.audit_log import current_actor
from ksystui.store.queue_async import AsyncQueue
from tests.sim_config import write_config

from .conftest import Rig


@asynccontextmanager
async def rig_on(world: SimWorld, tmp_path: Path) -> AsyncIterator[Rig]:
    """``world`` served on loopback, and ksystui (fleet read once, queue) on it."""
    state = tmp_path / "state"
    async with SimRunner(world, state) as runner:
        path = write_config(state, tmp_path / "k.db")
        cfg = load_config(path).config
        queue = await AsyncQueue.open(cfg.database.url)
        fleet = build_fleet(cfg)
        await fleet.refresh_all()
        try:
            yield Rig(world, runner, path, cfg, queue, fleet, current_actor("test-console"))
        finally:
            await close_fleet(fleet)
            await queue.close()
