"""Fixtures for the simulator's server tests: runners with and without a
state directory, and in-memory ksysmgr runs (the seed ``world`` comes from
tests/conftest.py).

Helpers are handed out as fixtures (``local``, ``fields``, ``memory_io``) so
that test modules never import this file by path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

import pytest

from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld


class MemoryIO:
    """CommandIO collecting output in memory, answering prompts from a list."""

    def __init__(self, answers: Iterable[str] = ()) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.times: list[float] = []
        self._answers = list(answers)

    async def write(self, text: str) -> None:
        self.out.append(text)
        self.times.append(time.monotonic())

    async def write_err(self, text: str) -> None:
        self.err.append(text)

    async def readline(self) -> str | None:
        return self._answers.pop(0) if self._answers else None

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


def field_values(text: str, key: str) -> list[str]:
    """Values of ``Key:   value`` records in ksysmgr output, in order."""
    out = []
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip() == key:
            out.append(v.strip())
    return out


LocalRun = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def memory_io() -> type[MemoryIO]:
    return MemoryIO


@pytest.fixture
def fields() -> Callable[[str, str], list[str]]:
    return field_values


@pytest.fixture
def local(world: SimWorld) -> LocalRun:
    """``rc, out, err = await local(node, "query vm")``: ksysmgr without SSH."""

    async def run(node: str, command: str, answers: Iterable[str] = ()) -> tuple[int, str, str]:
        io = MemoryIO(answers)
        rc = await world.nodes[node].run_ksysmgr(command.split(), io)
        return rc, io.stdout, io.stderr

    return run


@pytest.fixture
async def sim(world: SimWorld) -> AsyncIterator[SimRunner]:
    """The seed world served on loopback, keys in memory only."""
    async with SimRunner(world, None) as runner:
        yield runner


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
async def sim_dir(world: SimWorld, state_dir: Path) -> AsyncIterator[SimRunner]:
    """The seed world served on loopback, writing a state directory."""
    async with SimRunner(world, state_dir) as runner:
        yield runner
