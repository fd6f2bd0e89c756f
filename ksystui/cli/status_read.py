"""Where ``ksystui status`` gets its snapshots, by a deadline: the provider
service's (the database), or the nodes themselves (``--direct``, or no
service leads).

Read directly, every node of the scope is polled at once and waited for
until the deadline, never longer: a node still silent then is left behind
("late") with its last good data, the snapshot the database holds from an
earlier read, so its true age and the hosts it pairs still show. Out of
scope, no node is contacted (nothing of another tenant reaches stdout,
stderr or the logs); their stored snapshots only count who shares a host.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ksystui.config import LoadedConfig
    from ksystui.core.snapshot import NodeSnapshot
    from ksystui.fleet.monitor import NodeMonitor
    from ksystui.store import AsyncStore


def time_left(deadline: float) -> float:
    """Seconds until ``deadline`` (the running loop's clock), never negative."""
    return max(0.0, deadline - asyncio.get_running_loop().time())


async def service_snapshots(loaded: LoadedConfig, err: TextIO, deadline: float) -> dict[str, NodeSnapshot] | None:
    """The snapshots the provider service wrote, when one leads; None (said
    on ``err``) when none does or the database cannot be read, or not within
    half the time left (the nodes themselves get the rest)."""
    try:
        async with asyncio.timeout(time_left(deadline) / 2):
            return await _stored_by_service(loaded, err)
    except TimeoutError:
        print("note: the database did not answer in time: reading the nodes directly", file=err)
        return None


async def _stored_by_service(loaded: LoadedConfig, err: TextIO) -> dict[str, NodeSnapshot] | None:
    from ksystui.bootstrap import (
        StartupError,
        configured_database_url,
        database_problem,
        node_places,
    )
    from ksystui.client.follow import service_leads
    from ksystui.core.model import Flavour
    from ksystui.core.snapshot import NodeSnapshot
    from ksystui.store.feed import AsyncFeed
    from ksystui.store.lease import AsyncLeaseStore, LeaseStore

    try:
        feed = await AsyncFeed.open(configured_database_url(loaded))
    except StartupError as exc:
        print(f"note: {exc}: reading the nodes directly", file=err)
        return None
    except Exception as exc:  # the driver's own words, with the setting that names the database
        print(f"note: {database_problem(loaded, exc)}: reading the nodes directly", file=err)
        return None
    try:
        if not service_leads(await AsyncLeaseStore(LeaseStore(feed.feed.engine)).state(), datetime.now(UTC)):
            print("note: no provider service is running on this database (`ksystui serve`): "
                  "reading the nodes directly", file=err)
            return None
        stored = await feed.snapshots()
    finally:
        await asyncio.to_thread(feed.feed.engine.dispose)
    return {node: stored.get(node) or NodeSnapshot(node, tenant, Flavour(flavour), interval)
            for node, tenant, flavour, interval in node_places(loaded.config)}


@dataclass(frozen=True)
class DirectRead:
    """What reading the nodes found by the deadline."""

    snapshots: dict[str, NodeSnapshot]  # every configured node: read now, or its last good data
    asked_at: datetime  # when the reads began: what was read since is as fresh as this run
    ended_at: datetime  # when the last read ended, or the deadline cut it short: the report's "now"
    late: frozenset[str]  # the nodes of the scope that had not answered by the deadline


async def read_nodes(loaded: LoadedConfig, err: TextIO, scope: str | None, deadline: float) -> DirectRead:
    """The scope's nodes read once now (and recorded), each waited for until
    ``deadline`` at most, the way a box without a service reports."""
    from ksystui.bootstrap import runtime

    # a scoped run builds (and resolves the secrets of) its tenant's nodes only
    async with runtime(loaded, err, record=True, scope=scope) as rt:
        stored = await _last_good(rt.store, {node.name for _, node in loaded.config.nodes()})
        monitors = rt.fleet.monitors
        for name, monitor in monitors.items():
            _start_from(monitor, stored.get(name))
        asked_at = datetime.now(UTC)
        in_scope = [m.node for m in monitors.values() if scope is None or m.tenant == scope]
        polls = {name: asyncio.create_task(monitors[name].poll_once(), name=f"status:{name}") for name in in_scope}
        if polls:
            await asyncio.wait(polls.values(), timeout=time_left(deadline))
        ended_at = datetime.now(UTC)
        late = frozenset(name for name, poll in polls.items() if not poll.done())
        for name in late:
            polls[name].cancel()  # the monitor's poll ends with its last waiter
        for poll in polls.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poll
        # a late node's monitor still holds the last good data it started from;
        # a node with no monitor here (out of scope) is known by its stored data
        snapshots = {**stored, **{name: monitor.snapshot for name, monitor in monitors.items()}}
        return DirectRead(snapshots, asked_at, ended_at, late)


async def _last_good(store: AsyncStore | None, configured: set[str]) -> dict[str, NodeSnapshot]:
    """The snapshots the database holds of the configured nodes (an earlier
    run's or the service's reads); none when there is no database."""
    if store is None:
        return {}
    try:
        stored = await store.load_snapshots()
    except Exception:  # the report matters more than the history: read as if new
        return {}
    return {name: snap for name, snap in stored.items() if name in configured}


def _start_from(monitor: NodeMonitor, stored: NodeSnapshot | None) -> None:
    """Let ``monitor`` start from the node's last good data, so that a read
    failing now keeps it (and its age) instead of an empty snapshot: the
    monitor carries sections and the last success from one poll to the next."""
    if stored is None or stored.tenant != monitor.tenant or stored.flavour != monitor.flavour:
        return
    monitor.snapshot = replace(stored, interval=monitor.interval, sequence=0)
