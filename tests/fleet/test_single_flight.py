"""One poll of a node at a time, however many callers ask: they share it, a
caller that needs data read after its call gets it, and an older poll never
replaces a newer one. The simulated node's command log is the oracle of what
a real KSYS would have received."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ksystui.core.model import Flavour
from ksystui.fleet.fleet import Fleet, FleetChange
from ksystui.fleet.monitor import QUERIES, NodeMonitor
from tests.waiting import eventually

NODE = "r7r3m116"
PER_POLL = len(QUERIES[Flavour.ONPREM])


def monitored(world, in_process):
    transport = in_process(NODE)
    monitor = NodeMonitor(NODE, world.nodes[NODE].tenant, Flavour.ONPREM, transport, interval=60, jitter=0)
    fleet = Fleet()
    fleet.add(monitor)
    seen: list[FleetChange] = []
    fleet.subscribe(seen.append)
    return fleet, monitor, transport, seen


def queries_received(world) -> int:
    return sum(1 for argv in world.nodes[NODE].command_log if argv[:1] == ("query",))


async def test_many_callers_at_once_cost_the_node_one_poll(world, in_process):
    fleet, monitor, transport, seen = monitored(world, in_process)
    snaps = await asyncio.gather(*(monitor.poll_once() for _ in range(12)))
    assert queries_received(world) == PER_POLL  # not 12 floods of queries
    assert transport.most_at_once == 1  # and one query at a time
    assert {s.sequence for s in snaps} == {1}
    assert [c.snapshot.sequence for c in seen] == [1]
    assert fleet.snapshots[NODE].vms  # the shared poll read the node


async def test_a_caller_arriving_mid_poll_gets_a_poll_that_read_after_its_call(world, in_process):
    fleet, monitor, transport, seen = monitored(world, in_process)
    vm = next(iter(world.nodes[NODE].state.vms.values()))
    before = vm.state
    transport.gate = asyncio.Event()
    first = asyncio.create_task(monitor.poll_once())
    await eventually(lambda: queries_received(world) == 1)  # the node has answered `query vm`; the answer is held
    vm.set_state("VERIFY_FAILED")  # the node changes after the first poll read it
    later = [asyncio.create_task(monitor.poll_once()) for _ in range(3)]
    await asyncio.sleep(0)  # the late callers have asked
    transport.gate.set()
    old, *new = await asyncio.gather(first, *later)
    assert {v.name: v.state for v in old.vms}[vm.name] == before
    assert all({v.name: v.state for v in s.vms}[vm.name] == "VERIFY_FAILED" for s in new)
    assert {s.sequence for s in new} == {old.sequence + 1}  # the three late callers shared one poll
    assert queries_received(world) == 2 * PER_POLL
    assert transport.most_at_once == 1  # the second poll waited for the first
    assert [c.snapshot.sequence for c in seen] == [1, 2]  # published in the order they started
    assert fleet.snapshots[NODE].sequence == 2


async def test_the_loop_joins_a_running_poll_instead_of_starting_its_own(world, in_process):
    _fleet, monitor, transport, _seen = monitored(world, in_process)
    transport.gate = asyncio.Event()
    first = asyncio.create_task(monitor.poll_once())
    await eventually(lambda: queries_received(world) == 1)
    joined = asyncio.create_task(monitor.poll_once(fresh=False))
    await asyncio.sleep(0)
    transport.gate.set()
    a, b = await asyncio.gather(first, joined)
    assert a is b
    assert queries_received(world) == PER_POLL


async def test_an_older_snapshot_never_replaces_a_newer_one(world, in_process):
    fleet, monitor, _transport, seen = monitored(world, in_process)
    newer = await monitor.poll_once()
    older = replace(newer, sequence=newer.sequence - 1, sections={})
    assert monitor.publish is not None
    await monitor.publish(older)  # a late publisher, whoever it is
    assert fleet.snapshots[NODE] is newer
    assert [c.snapshot for c in seen] == [newer]


async def test_sequences_only_grow(world, in_process):
    _fleet, monitor, _transport, _seen = monitored(world, in_process)
    assert monitor.snapshot.sequence == 0  # never polled
    got = [(await monitor.poll_once()).sequence for _ in range(3)]
    assert got == [1, 2, 3]


async def test_a_cancelled_caller_leaves_the_poll_to_the_others(world, in_process):
    _fleet, monitor, transport, _seen = monitored(world, in_process)
    transport.gate = asyncio.Event()
    quitter = asyncio.create_task(monitor.poll_once())
    stayer = asyncio.create_task(monitor.poll_once())
    await eventually(lambda: queries_received(world) == 1)
    quitter.cancel()
    await asyncio.sleep(0)
    transport.gate.set()
    snap = await stayer
    assert quitter.cancelled()
    assert snap.sequence == 1 and snap.vms
    assert queries_received(world) == PER_POLL


async def test_a_poll_nobody_waits_for_any_more_stops(world, in_process):
    _fleet, monitor, transport, _seen = monitored(world, in_process)
    transport.gate = asyncio.Event()
    alone = asyncio.create_task(monitor.poll_once())
    await eventually(lambda: queries_received(world) == 1)
    alone.cancel()
    await eventually(lambda: transport.at_once == 0)  # the held query was abandoned
    transport.gate.set()
    snap = await monitor.poll_once()  # the node is free again: a new poll runs
    assert snap.sequence == 2
    assert queries_received(world) == 1 + PER_POLL


async def test_refresh_asked_during_a_poll_is_not_lost(world, in_process):
    _fleet, monitor, transport, seen = monitored(world, in_process)  # interval 60 s: only a poke polls again
    transport.gate = asyncio.Event()
    monitor.start()
    try:
        await eventually(lambda: queries_received(world) == 1)  # the loop's first poll is under way
        monitor.refresh_now()  # e.g. an operation just finished
        transport.gate.set()
        await eventually(lambda: [c.snapshot.sequence for c in seen] == [1, 2])
    finally:
        await monitor.stop()


async def test_stopping_the_monitor_ends_the_poll_only_the_loop_waited_for(world, in_process):
    _fleet, monitor, transport, seen = monitored(world, in_process)
    transport.gate = asyncio.Event()
    monitor.start()
    await eventually(lambda: queries_received(world) == 1)
    await monitor.stop()
    assert transport.at_once == 0  # nothing left talking to the node
    transport.gate.set()
    for _ in range(10):  # let anything that was still scheduled run
        await asyncio.sleep(0)
    assert queries_received(world) == 1 and not seen
