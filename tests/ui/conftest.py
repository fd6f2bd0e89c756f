"""The console over a simulated fleet, without a network: a transport that
hands ksysmgr command lines straight to the in-process simulator, so the real
monitors, parsers and fleet run exactly as they do over SSH."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from textual.widgets import Input, OptionList, Static

from ksystui.core.model import Flavour
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.sim.world import SimWorld
from ksystui.transport.base import CommandResult
from ksystui.transport.errors import CommandFailed, Unreachable
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.screens import TableViewScreen
from ksystui.ui.widgets.virtual_table import VirtualTable

FROZEN = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)


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


class LocalTransport:
    """KsysTransport straight into a SimNode (honours the node_down fault)."""

    def __init__(self, world: SimWorld, node: str):
        self.world = world
        self.node = node
        self.host_key_status = "verified"
        self.next_attempt_at = None

    async def run(self, argv, *, timeout=None, input=None, check=True):
        if self.world.faults.node_down(self.node):
            raise Unreachable(self.node, "connection refused")
        io = _Capture()
        t0 = time.monotonic()
        rc = await self.world.nodes[self.node].run_ksysmgr(list(argv[1:]), io)
        res = CommandResult(tuple(argv), rc, "".join(io.out), "".join(io.err), time.monotonic() - t0)
        if check and rc != 0:
            raise CommandFailed(self.node, f"exit {rc}", rc=rc, stdout=res.stdout, stderr=res.stderr)
        return res

    def stream(self, argv, *, timeout=None, input=None):
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


def local_fleet(world: SimWorld, interval: float = 0.3) -> Fleet:
    fleet = Fleet()
    for name, node in world.nodes.items():
        fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), LocalTransport(world, name),
                              interval=interval, jitter=0.0))
    return fleet


def tenant_infos(world: SimWorld):
    from ksystui.core.tenants import TenantInfo

    return [TenantInfo(t.name, t.priority, t.tier, tuple(n for n, node in world.nodes.items() if node.tenant == t.name))
            for t in world.tenants.values()]


@pytest.fixture
async def polled(world):
    """A fleet whose every node has been read once."""
    fleet = local_fleet(world)
    await fleet.refresh_all()
    yield fleet
    await fleet.stop()


class Console(ControlRoomApp):
    """The console as a test drives it: it keeps every notification it shows
    (what the operator read in the toasts), in order."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.notes: list[str] = []

    def notify(self, message, **kw) -> None:
        self.notes.append(str(message))
        super().notify(message, **kw)

    def noted(self, words: str) -> bool:
        return any(words in n for n in self.notes)


def console(world, fleet, **kw) -> Console:
    kw.setdefault("start_fleet", False)
    return Console(fleet, tenant_infos(world), **kw)


def _plain(visual) -> str:
    for attr in ("plain", "text"):
        value = getattr(visual, attr, None)
        if isinstance(value, str):
            return value
    return str(visual)


def _shown(widget) -> bool:
    return all(w.display for w in widget.ancestors_with_self if hasattr(w, "display"))


def screen_text(app) -> str:
    """The words on the screen on top, read from its widgets as the operator
    reads them: every shown text, the table's column labels (the sorted one
    with its arrow) and the rows in view, inputs and the palette's options."""
    parts: list[str] = []
    for w in app.screen.query("*"):
        if not _shown(w):
            continue
        if isinstance(w, VirtualTable):
            parts.append(" ".join(c.label + (("▼" if w.sort_state[1] else "▲") if w.sort_state
                                             and w.sort_state[0] == c.key else "") for c in w.columns))
            parts += [" ".join(map(str, r.cells)) for r in w.visible_rows()]
        elif isinstance(w, Static):
            parts.append(_plain(w.visual))
        elif isinstance(w, Input):
            parts.append(w.value)
        elif isinstance(w, OptionList):
            parts += [_plain(o.prompt) for o in w.options]
    return "\n".join(parts)


def footer_keys(app) -> list[str]:
    """The descriptions of the keys the footer shows now (the bindings that
    are active on this screen and meant to be shown)."""
    return [b.binding.description for b in app.screen.active_bindings.values() if b.binding.show and b.enabled]


def showing(app, view: str) -> bool:
    """The view is on top and its table (if it has one) is there to read."""
    screen = app.screen
    return getattr(screen, "view", None) == view and (not isinstance(screen, TableViewScreen) or screen.ready)


async def until(pilot, condition, timeout: float = 10.0, settle: float = 0.0) -> None:
    """Wait until what the operator would see has happened (a busy machine is
    slower, never wrong), then until the console has handled what is queued."""
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.05)
    await pilot.pause(settle or None)


async def press_until(pilot, condition, *keys: str, timeout: float = 10.0) -> None:
    """Press keys, then wait for what they should show."""
    await pilot.press(*keys)
    await until(pilot, condition, timeout)


async def wait_for(condition, timeout: float = 10.0) -> None:
    """Wait until an async condition (the queue in the store, say) holds."""
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)
