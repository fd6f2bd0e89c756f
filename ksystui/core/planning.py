"""Estimates and schedules (pure): how long an operation will take, and a
staggered daily ``auto_discovery_time`` for every node.

The seed article's advice — keep the automatic discovery/verification of
nodes that share a recovery host at different times — becomes a plan: nodes
that share a host get non-overlapping daily windows (observed duration plus
a margin); nodes that share nothing may run at the same time.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ksystui.core.ksysmgr.commands import build_modify_system
from ksystui.core.lifecycle import Op
from ksystui.core.operations import PlannedOp
from ksystui.core.snapshot import NodeSnapshot, recovery_hosts

DAY_MINUTES = 24 * 60
UNKNOWN_WINDOW_SECONDS = 1800.0  # a node never seen discovering gets half an hour


def estimate_seconds(history: Sequence[float], *, default: float | None = None) -> float | None:
    """An ETA from past durations of the same operation on the same node:
    the median of the last ten (robust to the one run that hung)."""
    recent = [d for d in history[-10:] if d > 0]
    if not recent:
        return default
    return float(statistics.median(recent))


@dataclass(frozen=True)
class NodeWindow:
    node: str
    start_minute: int  # minutes after midnight
    minutes: int  # the window length planned (duration + margin)

    @property
    def hhmm(self) -> str:
        return f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}"

    def overlaps(self, other: NodeWindow) -> bool:
        a0, a1 = self.start_minute, self.start_minute + self.minutes
        b0, b1 = other.start_minute, other.start_minute + other.minutes
        # on a 24-hour circle: compare on both sides of midnight
        return any(a0 < b1 + k and b0 + k < a1 for k in (-DAY_MINUTES, 0, DAY_MINUTES))


class PlanError(ValueError):
    pass


def conflicts(windows: Sequence[NodeWindow], shares: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    """Pairs of nodes that share a recovery host and whose windows overlap."""
    hosts = {w.node: set(shares.get(w.node, ())) for w in windows}
    out = []
    for i, a in enumerate(windows):
        for b in windows[i + 1 :]:
            if hosts[a.node] & hosts[b.node] and a.overlaps(b):
                out.append((a.node, b.node))
    return out


def auto_discovery_seconds(discover: Sequence[float], verify: Sequence[float]) -> float:
    """How long a node's daily automatic run takes: it discovers and then
    (on-prem) verifies, so the latest observed discovery plus the latest
    observed verification (each history newest last). What was never seen
    counts nothing; a node with no history at all gets
    ``UNKNOWN_WINDOW_SECONDS``."""
    latest = [runs[-1] for runs in (discover, verify) if runs]
    return float(sum(latest)) if latest else UNKNOWN_WINDOW_SECONDS


def shared_hosts_by_node(snapshots: Iterable[NodeSnapshot]) -> dict[str, frozenset[str]]:
    """node -> the recovery hosts (CEC UUIDs) it fails over to: what the
    planner keeps apart. Every node is a key, even one that shares nothing."""
    snaps = list(snapshots)
    shares: dict[str, set[str]] = {snap.node: set() for snap in snaps}
    for uuid, host in recovery_hosts(snaps).items():
        for _tenant, node, _production in host.pairs:
            shares.setdefault(node, set()).add(uuid)
    return {node: frozenset(hosts) for node, hosts in shares.items()}


def schedule_change(window: NodeWindow, tenant: str) -> PlannedOp:
    """The operation that sets a node's ``auto_discovery_time`` to its
    window: a system setting, so no site and no recovery host."""
    argv = build_modify_system(auto_discovery_time=window.hhmm)
    return PlannedOp(Op.CONFIGURE, window.node, tenant, tuple(argv), site=None, to_site=None,
                     recovery_hosts=(), host_names=())
