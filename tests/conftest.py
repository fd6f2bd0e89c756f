"""Fixtures every test package shares: the seed world of the simulator, and a
transport that hands ksysmgr command lines straight to it (no network), which
counts what it sends.

Helpers are handed out as fixtures so that test modules never import a
conftest by path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import pytest

from ksystui.sim.world import SimWorld
from ksystui.transport.base import CommandResult
from ksystui.transport.errors import CommandFailed, Unreachable

# Fast enough that a discover/verify/move takes well under two seconds, slow
# enough that a test sees the intermediate states. Every package's tests run
# the same world at the same speed (the arbiter's crash rig picks its own).
FAST = 200.0


@pytest.fixture
def world() -> SimWorld:
    """The seed scenario (three tenants, four nodes, a shared recovery host)."""
    return SimWorld.seed(speed=FAST)


class _Capture:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    async def write(self, text: str) -> None:
        self.out.append(text)

    async def write_err(self, text: str) -> None:
        self.err.append(text)

    async def readline(self) -> str | None:
        return None


class InProcessTransport:
    """A KsysTransport straight into one SimNode (honours the node_down fault).

    ``gate``: when set, every answer waits for it to open on its way back
    (the node has seen the command: a slow link holding a poll in the middle).
    ``most_at_once``: the largest number of commands this transport ever had
    in flight at the same time.
    """

    def __init__(self, world: SimWorld, node: str) -> None:
        self.world = world
        self.node = node
        self.host_key_status = "verified"
        self.next_attempt_at = None
        self.gate: asyncio.Event | None = None
        self.at_once = 0
        self.most_at_once = 0

    async def run(
        self, argv: Sequence[str], *, timeout: float | None = None, input: str | None = None, check: bool = True
    ) -> CommandResult:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            if self.world.faults.node_down(self.node):
                raise Unreachable(self.node, "connection refused")
            io = _Capture()
            t0 = time.monotonic()
            rc = await self.world.nodes[self.node].run_ksysmgr(list(argv[1:]), io)
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.at_once -= 1
        res = CommandResult(tuple(argv), rc, "".join(io.out), "".join(io.err), time.monotonic() - t0)
        if check and rc != 0:
            raise CommandFailed(self.node, f"exit {rc}", rc=rc, stdout=res.stdout, stderr=res.stderr)
        return res

    async def close(self) -> None:
        return None


@pytest.fixture
def in_process(world: SimWorld) -> Callable[[str], InProcessTransport]:
    """``in_process(node)``: a transport into the seed world's node, no network."""
    return lambda node: InProcessTransport(world, node)
