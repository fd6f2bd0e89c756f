"""Fixtures every test package shares: the seed world of the simulator, a
transport that hands ksysmgr command lines straight to it (no network), which
counts what it sends, and a throwaway PostgreSQL server.

Helpers are handed out as fixtures so that test modules never import a
conftest by path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator

import pytest

from ksystui.sim.world import SimWorld
from tests.in_process import InProcessTransport
from tests.store import pg


def pytest_configure(config: pytest.Config) -> None:
    """The audit key and PostgreSQL anchor logs of every test (and of every
    process a test starts, which inherits the environment) live in a
    throwaway directory, never in the user's ``~/.local/share/ksystui``."""
    os.environ.setdefault("KSYSTUI_AUDIT_DIR", tempfile.mkdtemp(prefix="ksystui-audit-"))


# Fast enough that a discover/verify/move takes well under two seconds, slow
# enough that a test sees the intermediate states. Every package's tests run
# the same world at the same speed (the arbiter's crash rig picks its own).
FAST = 200.0


@pytest.fixture
def world() -> SimWorld:
    """The seed scenario (three tenants, four nodes, a shared recovery host)."""
    return SimWorld.seed(speed=FAST)


@pytest.fixture
def in_process(world: SimWorld) -> Callable[[str], InProcessTransport]:
    """``in_process(node)``: a transport into the seed world's node, no network."""
    return lambda node: InProcessTransport(world, node)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    """A PostgreSQL server of this test process's own (skips when none is installed)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'ksystui[postgres]')")
    if pg.find_bindir() is None:
        pytest.skip(pg.NOT_INSTALLED)
    server = pg.start()
    yield server
    server.stop()
