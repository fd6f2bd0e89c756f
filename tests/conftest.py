"""Fixtures every test package shares: the seed world of the simulator, and a
transport that hands ksysmgr command lines straight to it (no network), which
counts what it sends.

Helpers are handed out as fixtures so that test modules never import a
conftest by path.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ksystui.sim.world import SimWorld
from tests.in_process import InProcessTransport

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
