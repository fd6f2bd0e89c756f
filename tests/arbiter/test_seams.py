"""The arbiter against its own seams (``arbiter.ports``): a fleet and a
transport that fit the Protocols by shape are all the dispatcher needs — no
simulator, no SSH. What the operator would notice: the operation runs once,
its output is kept, it ends succeeded, and its host is free again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import pytest

from ksystui.arbiter.dispatcher import Dispatcher, DispatchEvent, DispatchKind
from ksystui.arbiter.port import ArbiterPort
from ksystui.arbiter.service import submit
from ksystui.core.actor import Actor
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site, Vm
from ksystui.core.opstate import OpState
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.store.queue_async import AsyncQueue
from ksystui.transport.base import CommandResult
from tests.waiting import eventually

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"
ALICE = Actor("alice", "noc1", "console-1")


def snapshot(node: str, tenant: str, prod: str) -> NodeSnapshot:
    now = datetime.now(UTC)
    secs = {
        "vm": Section("vm", (Vm(f"{tenant}_db", state="READY_TO_MOVE", host=prod),), now),
        "site": Section("site", (Site(tenant, "ACTIVE"), Site("provider", "BACKUP")), now),
        "host": Section("host", (Host(prod, uuid=f"u-{prod}", site=tenant, pair="snorlax"),
                                 Host("snorlax", uuid=SNORLAX, site="provider", pair=prod)), now),
    }
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 60, secs, NodeHealth(last_success=now))


@dataclass
class Poller:
    snap: NodeSnapshot
    refreshed: int = 0

    async def poll_once(self) -> NodeSnapshot:
        self.snap = snapshot(self.snap.node, self.snap.tenant, self.snap.hosts[0].name)
        return self.snap

    def refresh_now(self) -> None:
        self.refreshed += 1


@dataclass
class Fleet:
    monitors: dict[str, Poller] = field(default_factory=dict)

    @property
    def snapshots(self) -> dict[str, NodeSnapshot]:
        return {n: m.snap for n, m in self.monitors.items()}


class Stream:
    def __init__(self, argv: list[str], lines: list[str], gate: asyncio.Event):
        self.argv = tuple(argv)
        self._lines = lines
        self._gate = gate
        self._rc: int | None = None

    @property
    def returncode(self) -> int | None:
        return self._rc

    @property
    def stderr(self) -> str:
        return ""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines_then_exit()

    async def _lines_then_exit(self) -> AsyncIterator[str]:
        for line in self._lines:
            yield line
        await self._gate.wait()  # the node is still at work until the test lets it finish
        self._rc = 0


@dataclass
class Transport:
    """Records what was sent; a long command runs until ``gate`` is set."""

    sent: list[tuple[str, ...]] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, argv: list[str], *, timeout: float | None = None, input: str | None = None,
                  check: bool = True) -> CommandResult:
        self.sent.append(tuple(argv))
        return CommandResult(tuple(argv), 0, "KSYS is ready to be issued a command\n", "", 0.0)

    def stream(self, argv: list[str], *, timeout: float | None = None, input: str | None = None) -> Stream:
        self.sent.append(tuple(argv))
        return Stream(argv, ["Site verification started for Austin", "  verifying host snorlax"], self.gate)


@pytest.fixture
async def queue(tmp_path) -> AsyncIterator[AsyncQueue]:
    q = await AsyncQueue.open(f"sqlite:///{tmp_path / 'k.db'}")
    yield q
    await q.close()


def events_of(events: list[DispatchEvent], op_id: int) -> Iterator[DispatchKind]:
    return (e.kind for e in events if e.op_id == op_id)


async def test_two_tenants_on_one_recovery_host_run_one_after_the_other_through_the_seams(queue):
    fleet = Fleet({"nA": Poller(snapshot("nA", "customerA", "pbrazos")),
                   "nB": Poller(snapshot("nB", "customerB", "raichu"))})
    transports = {"nA": Transport(), "nB": Transport()}
    events: list[DispatchEvent] = []
    dispatcher = Dispatcher(queue, fleet, transports, ALICE, on_event=events.append)
    port = ArbiterPort(queue, fleet, ALICE, {"customerA": 1, "customerB": 2}, dispatcher)

    first = await port.submit(await port.preview("nA", Op.VERIFY))
    second_preview = await port.preview("nB", Op.VERIFY)
    assert second_preview.position == 2 and second_preview.planned.host_names == ("snorlax",)
    second = await port.submit(second_preview)

    assert await dispatcher.step() == [first]  # the shared host lets one verify in
    await eventually(lambda: _state(queue, first, OpState.RUNNING))
    lines = {line.id: line for line in await port.lines()}
    assert lines[second].state == "queued" and "held by" in lines[second].detail

    transports["nA"].gate.set()  # customerA's verify ends
    await eventually(lambda: _state(queue, first, OpState.SUCCEEDED))
    # The record is written before the dispatcher tells its listeners: wait for the telling too.
    await eventually(lambda: DispatchKind.FINISHED in events_of(events, first))
    assert await queue.progress(first) == ["Site verification started for Austin", "  verifying host snorlax"]
    assert list(events_of(events, first)) == [DispatchKind.ADMITTED, DispatchKind.STARTED, DispatchKind.PROGRESS,
                                              DispatchKind.PROGRESS, DispatchKind.FINISHED]
    assert fleet.monitors["nA"].refreshed == 1  # the node is read again after it changed

    assert await dispatcher.step() == [second]  # now the host is free
    transports["nB"].gate.set()
    await eventually(lambda: _state(queue, second, OpState.SUCCEEDED))
    assert [a for a in transports["nA"].sent if "verify" in a] == [("ksysmgr", "-t", "verify", "site", "customerA")]
    assert await queue.holding() == []


async def _state(queue: AsyncQueue, op_id: int, state: OpState) -> bool:
    op = await queue.get(op_id)
    return op is not None and op.state is state


async def test_a_scoped_console_names_no_global_id_or_sequence(queue):
    """Operation ids and audit seqs are global: a scoped console showing them
    would let its viewer count another tenant's requests in the gaps."""
    fleet = Fleet({"nA": Poller(snapshot("nA", "customerA", "pbrazos")),
                   "nB": Poller(snapshot("nB", "customerB", "raichu"))})
    dispatcher = Dispatcher(queue, fleet, {"nA": Transport(), "nB": Transport()}, ALICE)
    provider = ArbiterPort(queue, fleet, ALICE, {"customerA": 1, "customerB": 2}, dispatcher)
    viewer = ArbiterPort(queue, fleet, ALICE, {"customerA": 1, "customerB": 2}, scope="customerA")

    first = await provider.submit(await provider.preview("nA", Op.VERIFY))
    for n in range(3):  # customerB's requests take ids 2, 3 and 4 (the same discover: each with its reason)
        await submit(queue, fleet, (await provider.preview("nB", Op.DISCOVER)).planned, priority=2, actor=ALICE,
                     confirmed=True, duplicate_reason=None if n == 0 else f"again, {n}")
    second = await provider.submit(await provider.preview("nA", Op.DISCOVER))
    assert (first, second) == (1, 5)
    assert await dispatcher.step()  # customerA's verify is admitted and holds snorlax

    lines = await viewer.lines()
    assert sorted(line.shown for line in lines) == ["#1", "#2"]  # customerA's own numbering: no gap
    assert all(line.tenant == "customerA" for line in lines)
    held = await viewer.preview("nA", Op.VERIFY)
    assert any("held by #1 customerA" in h for h in held.holders), held.holders
    audit = await viewer.audit(None, 50)
    assert audit and all(line.shown_seq == "" for line in audit)
    assert {line.shown_operation for line in audit} <= {"#1", "#2"}
    assert not any("arrival=" in line.what or "fence=" in line.what for line in audit)
    # the provider's console still names the global ids and seqs
    assert "#5" in {line.shown for line in await provider.lines()}
    assert all(line.shown_seq == str(line.seq) for line in await provider.audit(None, 50))
