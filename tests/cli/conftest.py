"""Driving the real entry point (`ksystui.cli.main`) as a shell would, with
click's CliRunner isolation for stdin/stdout/stderr; and the configurations
the tests point it at: a simulated fleet on loopback, or a small fleet
whose nodes answer nothing (for what needs no node)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksystui.cli import main
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.audit_log import current_actor
from ksystui.store.queue import NewOp, Queue
from tests.sim_config import write_config


@dataclass(frozen=True)
class Run:
    rc: int
    out: str
    err: str


def ksystui(*args: str, input: str | None = None) -> Run:
    """``ksystui ARGS`` in this process: exit code, standard output, standard error."""
    with CliRunner().isolation(input=input) as (out, err, _):
        try:
            rc = main(list(args))
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
    return Run(rc, out.getvalue().decode(), err.getvalue().decode())


async def aksystui(*args: str) -> Run:
    """The same from an async test: the command runs its own event loop in a
    worker thread while the simulator keeps serving on the test's loop."""
    return await asyncio.to_thread(ksystui, *args)


@pytest.fixture
async def served(world: SimWorld, tmp_path: Path) -> AsyncIterator[tuple[SimRunner, Path]]:
    """The seed fleet served on loopback, and ksystui's configuration for it."""
    state = tmp_path / "state"
    async with SimRunner(world, state) as runner:
        yield runner, write_config(state, tmp_path / "k.db")


QUIET_TENANT = """
[[tenants]]
name = "{tenant}"
priority = {priority}
[[tenants.nodes]]
name = "{node}"
[tenants.nodes.ssh]
host = "127.0.0.1"
port = 1
key_file = "id_ed25519"
known_hosts = "known_hosts"
connect_timeout = 2
"""


def quiet_fleet(db: Path) -> str:
    """customerA on nodeA, customerB on nodeB: nodes that refuse every connection."""
    return f'[database]\nurl = "sqlite:///{db}"\n' + "".join(
        QUIET_TENANT.format(tenant=f"customer{x}", priority=i, node=f"node{x}") for i, x in enumerate("AB", 1))


@dataclass(frozen=True)
class Quiet:
    config: Path
    db: Path

    def seed(self, *ops: tuple[str, str]) -> list[int]:
        """Queue a discovery for each (tenant, node), as another console would."""
        q = Queue.open(f"sqlite:///{self.db}")
        try:
            return [q.submit(NewOp(tenant=t, node=n, op="discover", argv=("ksysmgr", "-t", "discover", "site", "X")),
                             current_actor("another-console")).id for t, n in ops]
        finally:
            q.close()

    def states(self) -> dict[int, str]:
        q = Queue.open(f"sqlite:///{self.db}")
        try:
            return {o.id: str(o.state) for o in q.operations()}
        finally:
            q.close()


@pytest.fixture
def quiet(tmp_path: Path) -> Quiet:
    """Two tenants whose nodes refuse every connection: for verbs that need
    a valid configuration and a database but no node."""
    db = tmp_path / "q.db"
    cfg = tmp_path / "config.toml"
    cfg.write_text(quiet_fleet(db))
    return Quiet(cfg, db)


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    """A configuration with a mistake on line 3: whoever reads it says so."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tenants]]\nname = "a"\npriority = "first"\n')
    return bad
