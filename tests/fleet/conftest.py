"""The seed world (tests/conftest.py) served on loopback with a state dir, and
ksystui's configuration for it (written by the simulator, as `ksystui sim`
does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ksystui.config import Config, load_config
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld


@pytest.fixture
async def served(world: SimWorld, tmp_path: Path) -> AsyncIterator[tuple[SimRunner, Path]]:
    state = tmp_path / "state"
    async with SimRunner(world, state) as runner:
        cfg = state / "config.toml"
        # keep the database inside the test's tmp dir
        text = cfg.read_text().replace(f'url = "sqlite:///{state}/ksystui.db"', f'url = "sqlite:///{tmp_path}/k.db"')
        cfg.write_text(text)
        yield runner, cfg


def fast(cfg: Config, interval: float = 0.4, timeout: float = 1.0) -> Config:
    """The same fleet, polled every ``interval`` seconds with short timeouts."""
    tenants = []
    for t in cfg.tenants:
        nodes = [
            n.model_copy(update={
                "poll_interval": interval,
                "ssh": n.ssh.model_copy(update={"command_timeout": timeout, "connect_timeout": timeout}),
            })
            for n in t.nodes
        ]
        tenants.append(t.model_copy(update={"nodes": nodes}))
    return cfg.model_copy(update={"tenants": tenants, "poll": cfg.poll.model_copy(update={"jitter": 0.0})})


@pytest.fixture
def config(served) -> Config:
    return load_config(served[1]).config
