"""The seed rig with sizes on its recovery hosts, for the capacity tests.

Until the simulator prints a host's size itself, the fleet's snapshots are
given one here (what ``ksysmgr query host`` would print: ``memory_capacity``
and ``Processors``); everything else is the real simulator over SSH."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ksystui.core.model import Host
from ksystui.core.snapshot import NodeSnapshot


def _with_sizes(snap: NodeSnapshot, sizes: dict[str, tuple[float, float]]) -> NodeSnapshot:
    section = snap.sections.get("host")
    if section is None:
        return snap
    hosts = tuple(replace(h, memory_capacity=f"{sizes[h.name][0]:g}", processors=f"{sizes[h.name][1]:g}")
                  if isinstance(h, Host) and h.name in sizes else h for h in section.items)
    return replace(snap, sections={**snap.sections, "host": replace(section, items=hosts)})


class _SizedMonitor:
    def __init__(self, monitor: Any, sizes: dict[str, tuple[float, float]]):
        self._monitor, self._sizes = monitor, sizes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._monitor, name)

    async def poll_once(self) -> NodeSnapshot:
        return _with_sizes(await self._monitor.poll_once(), self._sizes)


class SizedFleet:
    """A fleet whose snapshots report the given hosts' sizes."""

    def __init__(self, fleet: Any, sizes: dict[str, tuple[float, float]]):
        self._fleet, self._sizes = fleet, sizes
        self.monitors = {n: _SizedMonitor(m, sizes) for n, m in fleet.monitors.items()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fleet, name)

    @property
    def snapshots(self) -> dict[str, NodeSnapshot]:
        return {n: _with_sizes(s, self._sizes) for n, s in self._fleet.snapshots.items()}


async def sized(rig: Any, *, snorlax_memory_gb: float, snorlax_processors: float = 32) -> Any:
    """The rig with snorlax of this size (the seed's tenants: customerA 280 GB
    and 17.5 CPU, customerB 200 GB and 12.5 CPU)."""
    fleet = SizedFleet(rig.fleet, {"snorlax": (snorlax_memory_gb, snorlax_processors)})
    return replace(rig, fleet=fleet)
