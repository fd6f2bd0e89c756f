"""`ksystui submit --wait` as an operator runs it (in process, against the
simulator): it says why its request waits, a scoped one says nothing of
another tenant's operation and runs none, and `--force --reason` is the way
to queue a second identical request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ksystui.arbiter.dispatcher import UNREACHABLE_ALERT_ENV, Dispatcher
from ksystui.config import load_config
from ksystui.core.alerts import HOLDER_UNREACHABLE
from ksystui.core.opstate import OpState
from ksystui.fleet.connect import build_fleet, close_fleet
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.audit_log import current_actor
from ksystui.store.feed import Feed
from ksystui.store.queue import Queue
from tests.cli.conftest import aksystui
from tests.sim_config import write_config
from tests.waiting import eventually

NODE_B = "r7r3m108"
FOLLOW_TICK = 0.3  # cli.arbiter's


class Served:
    def __init__(self, world: SimWorld, config: Path, db: Path):
        self.world, self.config, self.db = world, config, db
        self.queue = Queue.open(f"sqlite:///{db}")

    def ksystui(self, *args: str):
        return aksystui(*args, "--config", str(self.config))

    def state(self, op_id: int) -> OpState:
        op = self.queue.get(op_id)
        assert op is not None
        return op.state

    async def let_it_end(self, waiting: asyncio.Task) -> None:
        """A test failed while a `submit --wait` waits for customerB's
        request: settle that one, so the command (a thread) can end."""
        noc = current_actor("noc")
        if not self.queue.cancel(1, noc, "test over"):
            self.queue.resolve(1, "failed", noc, "test over")
        await asyncio.wait_for(waiting, 60)

    def stepped_twice(self, console_prefix: str = "") -> bool:
        """A `submit --wait` process has dispatched for at least two steps
        (its heartbeat moved on), so it has looked at the queue and said why."""
        return any((d.last_seen - d.started_at).total_seconds() >= 2.5 * FOLLOW_TICK
                   for d in self.queue.dispatchers(alive_within=60) if d.console_id.startswith(console_prefix))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    world = SimWorld.seed(speed=60)
    state = tmp_path / "state"
    async with SimRunner(world, state):
        db = tmp_path / "k.db"
        s = Served(world, write_config(state, db), db)
        yield s
        s.queue.close()


async def test_a_scoped_wait_runs_and_prints_nothing_of_another_tenants_operation(served):
    """Issue 16, "Scoping leaks": a scoped `submit --wait` printed seven
    lines about another tenant's operation."""
    run = await served.ksystui("submit", "verify", "customerB")  # customerB's request, ahead in the order
    assert run.rc == 0, run.err
    assert served.queue.raise_priority(1, current_actor("noc"), "customerB's auditor is on site")
    waiting = asyncio.create_task(served.ksystui("submit", "verify", "customerA", "--wait", "--tenant", "customerA"))
    try:
        await eventually(lambda: asyncio.to_thread(served.stepped_twice), timeout=30)
        assert served.state(1) is OpState.QUEUED, "customerA's scoped command dispatched customerB's operation"
    except BaseException:
        await served.let_it_end(waiting)
        raise

    # the provider's own dispatcher runs customerB's verify; then customerA's runs
    cfg = load_config(served.config).config
    fleet = build_fleet(cfg)
    from ksystui.store.queue_async import AsyncQueue
    provider = Dispatcher(AsyncQueue(served.queue), fleet, {NODE_B: fleet.monitors[NODE_B].transport},
                          current_actor("provider"), tick=0.1)
    task = asyncio.create_task(provider.run())
    try:
        run = await asyncio.wait_for(waiting, 60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await close_fleet(fleet)
    assert run.rc == 0, (run.out, run.err)
    assert served.state(1) is OpState.SUCCEEDED
    why = next(line for line in run.out.splitlines() if line.startswith("#2 waits"))
    assert "host" in why and "another tenant's operation" in why, why
    everything = run.out + run.err
    for other in ("customerB", NODE_B, "raichu", "#1"):
        assert other not in everything, (other, everything)


async def test_wait_says_who_holds_the_host_in_what_state_since_when_and_a_silent_node_raises_an_alert(
        served, monkeypatch):
    """Issue 16, "Doubt that never resolves": an orphaned running operation
    on an unreachable node blocked customerA's verify for over 120 s and
    `--wait` said nothing about why."""
    monkeypatch.setenv(UNREACHABLE_ALERT_ENV, "0.5")
    run = await served.ksystui("submit", "verify", "customerB")
    assert run.rc == 0, run.err
    # customerB's verify was sent by a console that died since; its node does not answer
    actor = current_actor("gone-console")
    fence = served.queue.admit(1, "gone-console", actor)
    assert fence is not None and served.queue.mark_running(1, fence, actor)
    served.world.faults.inject("node_down", NODE_B)
    waiting = asyncio.create_task(served.ksystui("submit", "verify", "customerA", "--wait"))
    feed = Feed(served.queue.engine)

    def alerted() -> bool:
        return any(a.event == HOLDER_UNREACHABLE for a in feed.alerts(tenant="customerB"))

    try:
        await eventually(lambda: asyncio.to_thread(alerted), timeout=30)
    except BaseException:
        await served.let_it_end(waiting)
        raise
    (alert,) = feed.alerts(tenant="customerB")
    assert "#1" in alert.description and "snorlax" in alert.description and NODE_B in alert.description
    assert served.state(1) is OpState.RUNNING  # never released because time passed
    # the operator checks the node and decides: customerA's verify runs at once
    assert served.queue.resolve(1, "failed", current_actor("noc"), "checked r7r3m108: the verify never ran")
    run = await asyncio.wait_for(waiting, 60)
    assert run.rc == 0, (run.out, run.err)
    why = next(line for line in run.out.splitlines() if line.startswith("#2 waits"))
    assert "host held by #1 customerB verify (running since" in why, why
    assert "its dispatcher gone-console is gone" in why, why


async def test_an_identical_submit_is_refused_naming_it_and_force_needs_a_reason(served):
    """Issue 11, "Duplicates", on the command line."""
    first = await served.ksystui("submit", "discover", "customerA")
    assert first.rc == 0 and "queued #1" in first.out
    again = await served.ksystui("submit", "discover", "customerA")
    assert again.rc == 2 and "Traceback" not in again.err
    assert "already queued: #1 discover of customerA" in again.err and "--force" in again.err, again.err
    bare = await served.ksystui("submit", "discover", "customerA", "--force")
    assert bare.rc != 0 and "--reason" in bare.err and "Traceback" not in bare.err
    forced = await served.ksystui("submit", "discover", "customerA", "--force", "--reason", "SAN zoning changed")
    assert forced.rc == 0 and "queued #2" in forced.out, forced.err
    assert [o.id for o in served.queue.operations()] == [1, 2]
