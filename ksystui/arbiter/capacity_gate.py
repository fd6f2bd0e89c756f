"""The capacity check as the arbiter runs it: before a move or DR test is
queued (``service.submit``) and again just before it is sent (the
dispatcher), with every snapshot the fleet holds and what the other
operations in the queue will still add to the recovery hosts.

The pure rule is ``core.capacity.check``; this module only gathers its
inputs from the queue and the fleet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ksystui.arbiter.ports import FleetReader
from ksystui.core import capacity
from ksystui.core.capacity import CapacityVerdict, Demand
from ksystui.core.lifecycle import Op
from ksystui.core.snapshot import NodeSnapshot
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.queue_types import QueuedOp
from ksystui.store.repository import Store

OVERRIDE_HINT = "to queue it anyway give the written reason (submit --over-capacity REASON; audited)"


def _was_read(snap: NodeSnapshot | None) -> bool:
    """A snapshot of a poll that read the node's VMs (a fleet holds an empty
    one for a node it has not read yet)."""
    return snap is not None and "vm" in snap.sections


async def every_snapshot(queue: AsyncQueue, fleet: FleetReader) -> dict[str, NodeSnapshot]:
    """Every node's latest state the check can know: the fleet's snapshots,
    over those the database keeps (a scoped console's or a command's fleet
    has only some nodes; the provider service stores every node's); a node
    of the fleet that neither knows is read now (a command line's fleet has
    read only the node it acts on)."""
    stored = await asyncio.to_thread(Store(queue.queue.engine).load_snapshots)
    unknown = [m for name, m in fleet.monitors.items()
               if not _was_read(fleet.snapshots.get(name)) and not _was_read(stored.get(name))]
    if unknown:
        await asyncio.gather(*(m.poll_once() for m in unknown), return_exceptions=True)
    return {**{n: s for n, s in stored.items() if _was_read(s)}, **read_by(fleet)}


def read_by(fleet: FleetReader) -> dict[str, NodeSnapshot]:
    """The snapshots the fleet itself has read (over the stored ones, they are the newer)."""
    return {name: snap for name, snap in fleet.snapshots.items() if _was_read(snap)}


def _without_clones_up(snap: NodeSnapshot) -> NodeSnapshot:
    """The node as a DR test still to boot sees it: VMs whose rehearsal clone
    already runs are counted by ``host_loads`` (a rehearsal share), so a DR
    test under way must not count them a second time as still to come."""
    section = snap.sections.get("vm")
    if section is None:
        return snap
    left = tuple(v for v in section.items if getattr(v, "dr_test_state", None) not in capacity.CLONE_UP)
    return replace(snap, sections={**snap.sections, "vm": replace(section, items=left)})


def pending_demands(ops: Iterable[QueuedOp], snapshots: Mapping[str, NodeSnapshot], *,
                    skip: int | None = None) -> list[Demand]:
    """What the given operations (queued, admitted, running or in doubt) will
    still boot on the recovery hosts, each read from its node's latest
    snapshot: what a move already brought over is in the snapshot (a running
    share), so only the VMs not there yet count. ``skip``: the operation
    being checked (its own demand is not "another's")."""
    out: list[Demand] = []
    for o in ops:
        if o.id == skip or not capacity.applies(o.op):
            continue
        snap = snapshots.get(o.node)
        if snap is None:
            continue  # a node never read: what it would add is unknown (the node's own check says so)
        if o.op is Op.DR_TEST:
            snap = _without_clones_up(snap)
        out.extend(capacity.demand(o.op, snap, to_site=o.to_site))
    return out


def check(op: Op, snap: NodeSnapshot, snapshots: Mapping[str, NodeSnapshot], others: Iterable[QueuedOp], *,
          to_site: str | None, skip: int | None = None) -> CapacityVerdict | None:
    """The verdict for ``op`` of ``snap``'s node given ``others`` still to
    come; None when capacity is not checked for this kind of operation."""
    if not capacity.applies(op):
        return None
    return capacity.check(op, snap, snapshots.values(), pending=pending_demands(others, snapshots, skip=skip),
                          to_site=to_site)


def refusal_text(verdict: CapacityVerdict) -> str:
    """What a refused submit says: the numbers, and how to override."""
    return f"not queued: {verdict.refusal()}; {OVERRIDE_HINT}"


async def refresh_sharers(fleet: FleetReader, node: str, snap: NodeSnapshot, *, to_site: str | None,
                          op: Op) -> None:
    """Read again, now, every other node that reports one of the hosts this
    operation boots VMs on: a move of another tenant that just ended may not
    be in its last poll yet, and the check must see it on the host."""
    uuids = {d.uuid for d in capacity.demand(op, snap, to_site=to_site)}
    if not uuids:
        return
    sharers = [name for name, other in fleet.snapshots.items()
               if name != node and any(h.uuid in uuids for h in other.hosts)]
    monitors = [m for name in sharers if (m := fleet.monitors.get(name)) is not None]
    if monitors:
        await asyncio.gather(*(m.poll_once() for m in monitors), return_exceptions=True)
