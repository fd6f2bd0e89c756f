"""An arbiter over the seed fleet in process (no network): a real queue in
SQLite, a running dispatcher, the port the console uses."""

from __future__ import annotations

import asyncio

import pytest

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.port import ArbiterPort
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.store.audit_log import current_actor
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from tests.in_process import InProcessTransport
from tests.waiting import eventually


@pytest.fixture
async def arbiter(world, tmp_path):
    """The seed fleet (in process), a queue, a running dispatcher, the port."""
    fleet = Fleet()
    for name, node in world.nodes.items():
        fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                              interval=0.2, jitter=0.0))
    await fleet.refresh_all()
    queue = AsyncQueue(Queue.open(f"sqlite:///{tmp_path}/q.db"))
    actor = current_actor("ops-test")
    dispatcher = Dispatcher(queue, fleet, {n: m.transport for n, m in fleet.monitors.items()}, actor, tick=0.05)
    port = ArbiterPort(queue, fleet, actor, {t.name: t.priority for t in world.tenants.values()}, dispatcher)
    run = asyncio.create_task(dispatcher.run())
    yield queue, port
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    await dispatcher.stop()
    await queue.close()
    await fleet.stop()


async def run_to_end(queue, port, node: str, op: Op, expect: str = "succeeded") -> tuple[int, str | None]:
    """Preview (what the console shows), confirm, wait for the outcome."""
    preview = await port.preview(node, op)
    op_id = await port.submit(preview, preview.planned.tenant)
    await eventually(lambda: done(queue, op_id), 20)
    finished = await queue.get(op_id)
    assert finished.state.value == expect, (preview.planned.command, finished.outcome)
    return op_id, preview.planned.purpose


async def done(queue, op_id: int) -> bool:
    op = await queue.get(op_id)
    return op is not None and op.state.terminal


