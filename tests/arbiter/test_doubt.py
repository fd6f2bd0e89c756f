"""Doubt resolves itself when it can (issue 16, deliverable 4), through the
arbiter's seams: a node whose connection drops mid-command, then answers
again; a node that stays silent. What the operator notices: the operation
is settled from the node's own events (audited), the other tenant's request
then runs; what stays ambiguous waits; a silent node raises an alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.service import queue_lines
from ksystui.core.alerts import HOLDER_UNREACHABLE, NewAlert
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.opstate import OpState
from ksystui.core.snapshot import NodeSnapshot, Section
from ksystui.store.feed import AsyncFeed
from ksystui.store.queue_types import NewOp
from ksystui.transport.base import CommandResult
from ksystui.transport.errors import Unreachable
from tests.arbiter.test_seams import ALICE, SNORLAX, Fleet, Poller, Stream, Transport, snapshot
from tests.waiting import eventually

REPORT = Path(__file__).parents[2] / "fixtures" / "ksysmgr" / "report" / "report-system.txt"  # an idle node


@dataclass
class EventfulPoller(Poller):
    """A node's monitor whose snapshots carry the node's events."""

    events: list[KsysEvent] = field(default_factory=list)

    async def poll_once(self) -> NodeSnapshot:
        base = snapshot(self.snap.node, self.snap.tenant, self.snap.hosts[0].name)
        now = datetime.now(UTC)
        self.snap = NodeSnapshot(base.node, base.tenant, base.flavour, base.interval,
                                 {**base.sections, "event": Section("event", tuple(self.events), now)}, base.health)
        return self.snap


class DroppingStream(Stream):
    """The first line arrives, then the connection drops."""

    async def _lines_then_exit(self) -> AsyncIterator[str]:
        yield self._lines[0]
        raise Unreachable("nA", "connection lost")


@dataclass
class FlakyTransport(Transport):
    """A node that can be down; its long commands drop their connection."""

    down: bool = False

    async def run(self, argv: list[str], *, timeout: float | None = None, input: str | None = None,
                  check: bool = True) -> CommandResult:
        if self.down:
            raise Unreachable("nA", "connection refused")
        self.sent.append(tuple(argv))
        return CommandResult(tuple(argv), 0, REPORT.read_text(), "", 0.0)

    def stream(self, argv: list[str], *, timeout: float | None = None, input: str | None = None) -> Stream:
        self.sent.append(tuple(argv))
        self.down = True  # the one-second SSH drop: the node does not answer the dispatcher's question either
        return DroppingStream(argv, ["Site verification started for customerA"], self.gate)


def verify(node: str, tenant: str, prod: str) -> NewOp:
    return NewOp(tenant=tenant, node=node, op=Op.VERIFY, argv=("ksysmgr", "-t", "verify", "site", tenant),
                 site=tenant, recovery_hosts=(SNORLAX,), host_names=("snorlax",), on_recovery_hosts=True,
                 priority=1 if tenant == "customerA" else 2)


async def state_of(queue, op_id: int) -> OpState:
    return (await queue.get(op_id)).state


async def test_an_operation_in_doubt_is_judged_again_when_its_node_answers(queue):
    """Issue 16, "Doubt that never resolves": a one-second SSH drop during a
    verify left it in_doubt, holding snorlax; it was never re-judged once
    the node answered again, and the other tenant's verify waited until an
    operator resolved it."""
    fleet = Fleet({"nA": EventfulPoller(snapshot("nA", "customerA", "pbrazos")),
                   "nB": Poller(snapshot("nB", "customerB", "raichu"))})
    flaky, other = FlakyTransport(), Transport()
    other.gate.set()
    d = Dispatcher(queue, fleet, {"nA": flaky, "nB": other}, ALICE, rejudge_every=0.0)
    a = (await queue.submit(verify("nA", "customerA", "pbrazos"), ALICE)).id
    b = (await queue.submit(verify("nB", "customerB", "raichu"), ALICE)).id
    assert await d.step() == [a]
    await eventually(lambda: _is(queue, a, OpState.IN_DOUBT))
    assert await d.step() == []  # the node does not answer: it stays in doubt, snorlax held
    assert await state_of(queue, b) is OpState.QUEUED

    flaky.down = False  # the node answers again: its events say the verify finished
    started = (await queue.get(a)).started_at
    fleet.monitors["nA"].events.append(KsysEvent(
        "VERIFY_SUCCESS", "info", "Site verification completed for customerA",
        (started + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "customerA", "41"))
    assert await d.step() == [b]  # re-judged first, so snorlax is free for customerB at once
    settled = await queue.get(a)
    assert settled.state is OpState.SUCCEEDED and "VERIFY_SUCCESS" in settled.outcome
    rejudged = [e for e in await queue.export_audit("customerA") if e["action"] == "rejudge"]
    assert [e["detail"]["verdict"] for e in rejudged] == ["succeeded"]  # the verdict is audited
    assert await queue.verify_audit() == []  # and the trail still vouches for every operation's state
    assert [s for s in flaky.sent if "verify" in s] == [("ksysmgr", "-t", "verify", "site", "customerA")]
    await eventually(lambda: _is(queue, b, OpState.SUCCEEDED))
    await d.stop()


async def test_what_stays_ambiguous_waits_for_an_operator_and_the_queue_says_so(queue):
    fleet = Fleet({"nA": EventfulPoller(snapshot("nA", "customerA", "pbrazos")),
                   "nB": Poller(snapshot("nB", "customerB", "raichu"))})
    flaky = FlakyTransport()
    d = Dispatcher(queue, fleet, {"nA": flaky, "nB": Transport()}, ALICE, rejudge_every=0.0)
    a = (await queue.submit(verify("nA", "customerA", "pbrazos"), ALICE)).id
    b = (await queue.submit(verify("nB", "customerB", "raichu"), ALICE)).id
    await d.step()
    await eventually(lambda: _is(queue, a, OpState.IN_DOUBT))
    flaky.down = False  # it answers, but no event tells how the verify ended
    assert await d.step() == []
    assert await state_of(queue, a) is OpState.IN_DOUBT
    line = next(x for x in await queue_lines(queue) if x.id == b)
    assert f"host held by #{a} customerA verify (in_doubt since" in line.detail, line.detail
    assert "an operator decides" in line.detail
    scoped = next(x for x in await queue_lines(queue, tenant="customerB") if x.id == b)
    assert "held by another tenant's operation" in scoped.detail and "customerA" not in scoped.detail
    assert "in_doubt" not in scoped.detail  # nothing of another tenant's operation but that it is one
    await d.stop()


async def test_a_holder_whose_node_stays_silent_raises_an_alert(queue, tmp_path):
    """Issue 16: an orphaned operation on an unreachable node blocked the
    other tenant's verify for over 120 s, silently."""
    fleet = Fleet({"nA": EventfulPoller(snapshot("nA", "customerA", "pbrazos")),
                   "nB": Poller(snapshot("nB", "customerB", "raichu"))})
    flaky = FlakyTransport()
    now = [datetime.now(UTC)]
    raised: list[NewAlert] = []
    feed = AsyncFeed(queue.queue.engine)

    async def raise_alerts(alerts):
        raised.extend(alerts)
        return await feed.raise_alerts(alerts)

    d = Dispatcher(queue, fleet, {"nA": flaky, "nB": Transport()}, ALICE, rejudge_every=0.0,
                   unreachable_alert_after=120.0, raise_alerts=raise_alerts, clock=lambda: now[0])
    a = (await queue.submit(verify("nA", "customerA", "pbrazos"), ALICE)).id
    await d.step()
    await eventually(lambda: _is(queue, a, OpState.IN_DOUBT))
    await d.step()
    assert raised == []  # silent, but not for long yet
    now[0] += timedelta(seconds=121)
    await d.step()
    await d.step()
    (alert,) = raised  # once, not at every step
    assert alert.event == HOLDER_UNREACHABLE and alert.tenant == "customerA" and alert.node == "nA"
    assert f"#{a}" in alert.description and "snorlax" in alert.description and "2m01s" in alert.description
    stored = await feed.alerts(tenant="customerA")
    assert [x.event for x in stored] == [HOLDER_UNREACHABLE]  # every console shows it
    assert await feed.alerts(tenant="customerB") == []
    await asyncio.sleep(0)
    await d.stop()


async def _is(queue, op_id: int, state: OpState) -> bool:
    return await state_of(queue, op_id) is state
