"""A transport that hands ksysmgr command lines straight to a simulated node
(no network), honouring the node_down fault and counting what it sends: for
tests of the fleet, the console and the arbiter that need a node, not SSH."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from ksystui.sim.world import SimWorld
from ksystui.transport.base import CommandResult
from ksystui.transport.errors import CommandFailed, Unreachable


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

    def stream(self, argv: Sequence[str], *, timeout: float | None = None, input: str | None = None) -> _LocalStream:
        return _LocalStream(self.world, self.node, list(argv))

    async def close(self) -> None:
        return None


class _LocalStream:
    """The output of a long ksysmgr command, line by line, as SSH would give it."""

    def __init__(self, world: SimWorld, node: str, argv: list[str]):
        self.world, self.node, self.argv = world, node, argv
        self.lines: asyncio.Queue = asyncio.Queue()
        self.returncode: int | None = None
        self.stderr = ""
        self._task = None

    async def __aenter__(self):
        owner = self

        class _IO:
            async def write(self, text):
                for line in text.splitlines():
                    owner.lines.put_nowait(line)

            async def write_err(self, text):
                owner.stderr += text

            async def readline(self):
                return None

        async def run():
            try:
                self.returncode = await self.world.nodes[self.node].run_ksysmgr(self.argv[1:], _IO())
            finally:
                self.lines.put_nowait(None)

        self._task = asyncio.create_task(run())
        return self

    def __aiter__(self):
        return self

    async def __anext__(self):
        line = await self.lines.get()
        if line is None:
            raise StopAsyncIteration
        return line

    async def __aexit__(self, *exc):
        await self._task
