"""Daily schedules: when does a KSYS node's automatic discovery run next.

``auto_discovery_time=hh:mm`` makes a KSYS node discover (and, on-prem,
verify) once a day at that local time [S1, SEED]. Pure functions: the
simulator's scheduler and ksystui's staggered-schedule planner share them;
``plan_from_system`` plans the staggered times from what each node's
``query system`` says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from ksystui.core.model import SystemAttributes
from ksystui.core.planning import DAY_MINUTES, NodeWindow, PlanError

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    m = _HHMM.match(value)
    if not m:
        raise ValueError(f"expected hh:mm between 00:00 and 23:59, not {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def next_daily_run(now: datetime, hhmm: str) -> datetime:
    """The first moment strictly after ``now`` at local time ``hhmm``."""
    at = parse_hhmm(hhmm)
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += timedelta(days=1)
    return candidate


# --- planning from what the node says (query system), not from assumptions ---------------
# The staggered-schedule planner used to assume every node discovers daily and
# that any time may be changed. ``query system`` says otherwise: the current
# ``auto_discovery_time`` (kept when it collides with nobody), whether deep
# discovery (the daily automatic run) is enabled at all, and the quick
# discovery interval (docs: not below 60 minutes) [S1].
QUICK_DISCOVERY_ADVISED_MINUTES = 60


@dataclass(frozen=True)
class DiscoverySettings:
    """A node's discovery settings as its ``query system`` prints them;
    None where it printed nothing (or was not read)."""

    auto_discovery_time: str | None = None  # hh:mm
    deep_discovery: bool | None = None
    quick_discovery: bool | None = None
    quick_discovery_interval: int | None = None  # minutes
    notification_level: str | None = None

    @property
    def minute(self) -> int | None:
        if self.auto_discovery_time is None:
            return None
        at = parse_hhmm(self.auto_discovery_time)
        return at.hour * 60 + at.minute


def _switch(value: str | None) -> bool | None:
    word = (value or "").split()[0].lower() if value else ""
    return {"enable": True, "enabled": True, "yes": True, "disable": False, "disabled": False, "no": False}.get(word)


def discovery_settings(system: SystemAttributes | None) -> DiscoverySettings:
    """Read the settings from ``query system`` values such as ``00:00 hours``,
    ``60 minutes``, ``enable``; a value in another shape counts as not printed."""
    if system is None:
        return DiscoverySettings()
    raw_time = (system.value("auto_discovery_time") or "").split()
    hhmm = raw_time[0][:5] if raw_time else None
    if hhmm is not None and not _HHMM.match(hhmm):
        hhmm = None
    interval = (system.value("quick_discovery_interval") or "").split()
    return DiscoverySettings(
        auto_discovery_time=hhmm,
        deep_discovery=_switch(system.value("deep_discovery")),
        quick_discovery=_switch(system.value("quick_discovery")),
        quick_discovery_interval=int(interval[0]) if interval and interval[0].isdigit() else None,
        notification_level=system.value("notification_level"),
    )


@dataclass(frozen=True)
class SchedulePlan:
    windows: tuple[NodeWindow, ...]  # every node that runs a daily discovery, with its window
    kept: tuple[str, ...]  # nodes whose current auto_discovery_time already fits
    skipped: tuple[tuple[str, str], ...]  # (node, why it gets no window)
    notes: tuple[tuple[str, str], ...]  # (node, what the operator should know)


def plan_from_system(
    durations: Mapping[str, float],
    shares: Mapping[str, Iterable[str]],
    systems: Mapping[str, SystemAttributes | None],
    *,
    margin_minutes: int = 15,
    step_minutes: int = 5,
) -> SchedulePlan:
    """A daily window per node, so that no two nodes sharing a recovery host overlap, from each node's
    ``query system``: a node whose deep discovery is disabled runs no daily
    discovery (INFERRED: deep discovery is the daily run at
    auto_discovery_time) and gets no window; a node whose current time
    collides with no node sharing its recovery host keeps it; the others get
    the earliest free window. Raises ``PlanError`` when a window cannot fit."""
    settings = {node: discovery_settings(systems.get(node)) for node in durations}
    skipped: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    for node, s in sorted(settings.items()):
        if systems.get(node) is None:
            notes.append((node, "query system not read: assuming a daily discovery at an unknown time"))
        if s.quick_discovery and s.quick_discovery_interval is not None \
                and s.quick_discovery_interval < QUICK_DISCOVERY_ADVISED_MINUTES:
            notes.append((node, f"quick discovery every {s.quick_discovery_interval} minutes "
                                f"(IBM advises {QUICK_DISCOVERY_ADVISED_MINUTES} or more)"))
    planned = {n: d for n, d in durations.items() if settings[n].deep_discovery is not False}
    skipped += [(n, "deep discovery is disabled: no daily automatic discovery to keep apart")
                for n in sorted(set(durations) - set(planned))]
    hosts = {n: set(shares.get(n, ())) for n in planned}
    length = {n: max(1, -(-int(planned[n]) // 60)) + margin_minutes for n in planned}
    for node, minutes in length.items():
        if minutes > DAY_MINUTES:
            raise PlanError(f"{node}: a {minutes}-minute window does not fit in a day")
    order = sorted(planned, key=lambda n: (-planned[n], n))
    placed: list[NodeWindow] = []
    kept: list[str] = []

    def rivals(node: str) -> list[NodeWindow]:
        return [w for w in placed if hosts[w.node] & hosts[node]]

    # first the nodes whose current time collides with nobody placed so far
    for node in order:
        current = settings[node].minute
        if current is None:
            continue
        cand = NodeWindow(node, current, length[node])
        if not any(cand.overlaps(r) for r in rivals(node)):
            placed.append(cand)
            kept.append(node)
    for node in order:
        if node in kept:
            continue
        for offset in range(0, DAY_MINUTES, step_minutes):
            cand = NodeWindow(node, offset, length[node])
            if not any(cand.overlaps(r) for r in rivals(node)):
                placed.append(cand)
                break
        else:
            raise PlanError(f"{node}: no free {length[node]}-minute window left in the day among the "
                            f"{len(rivals(node))} nodes sharing its recovery host(s)")
    return SchedulePlan(tuple(sorted(placed, key=lambda w: (w.start_minute, w.node))), tuple(sorted(kept)),
                        tuple(skipped), tuple(notes))
