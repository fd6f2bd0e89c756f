"""The recovery point, measured in time, against the tenant's agreed RPO. Pure.

An RPO is a time: how much recent work a failover would lose. The node
speaks of its copy in other terms (a consistency-group state, a percent
copied), so the measurement takes, per disk group, the best basis there is:

1. the last consistent point the node prints for the group (ksysmgr
   ``LastConsistentTime``, INFERRED key) or the DR Automation service gives
   for the group's VMs (``last_consistent_time``, INFERRED field) — the older
   of the two: lag = now - that point;
2. a copy in sync (``consistent_synchronized``, 100 % copied): lag 0;
3. a copy behind or stopped, and the node's event saying since when
   (REPLICATION_LAG / REPLICATION_FAILURE / STG_UNREACHABLE, with its time,
   from ``query event`` or the service's event list; not followed by
   REPLICATION_RESUMED): the consistent point is no later than the event, so
   the lag is *at least* now - event time;
4. otherwise it is not measurable, and the reading says why (a percentage
   copied is not a time: "62.5 % copied" cannot say whether 5 minutes or
   5 hours are missing).

The node's reading is its worst group. ``dr_average_time`` (PowerVS) is how
long a VM's DR move takes on average: evidence for the RTO, not the RPO; see
:func:`dr_recovery_time`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ksystui.core.age import format_age
from ksystui.core.durations import format_duration
from ksystui.core.events import event_time
from ksystui.core.model import DiskGroup, KsysEvent, ManagedVm
from ksystui.core.snapshot import Freshness, NodeSnapshot

IN_SYNC = "consistent_synchronized"
# events that say the copy fell behind or stopped (INFERRED names, core.events), and the one that says it is back
BEHIND_EVENTS = frozenset({"REPLICATION_LAG", "REPLICATION_FAILURE", "STG_UNREACHABLE"})
BACK_EVENTS = frozenset({"REPLICATION_RESUMED", "STG_REACHABLE", "RESYNC_SUCCESS"})
GROUP_EVENTS = frozenset({"REPLICATION_LAG", "REPLICATION_FAILURE", "REPLICATION_RESUMED", "RESYNC_SUCCESS"})

SSH_BASIS = "ksysmgr"
REST_BASIS = "DR Automation service"


@dataclass(frozen=True)
class RpoReading:
    """One measurement. ``lag`` is None when it cannot be measured (then
    ``unknown_why`` says why); ``breach`` is None when there is nothing to
    compare (no lag, or no agreed ``target``)."""

    lag: timedelta | None
    basis: str  # what the lag was read from, for a person ("last consistent point 14:02:10Z (ksysmgr)")
    target: timedelta | None = None
    breach: bool | None = None
    unknown_why: str | None = None
    at_least: bool = False  # the lag is a lower bound (from an event's time, not a consistent point)
    group: str | None = None  # the disk group the (worst) reading is of

    @property
    def measured(self) -> bool:
        return self.lag is not None


# --- reading times the node prints ---------------------------------------------------
_SVC_TIME = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{2})/(\d{2})$")


def parse_point(text: str | None) -> datetime | None:
    """A consistent point as printed: ISO 8601 (``2026-11-30T14:02:10Z``,
    ``2026-11-30 14:02:10``) or Spectrum Virtualize's ``2026/11/30/14/02/10``
    (INFERRED: the storage's freeze_time format). A time without a zone is
    taken as UTC (INFERRED: what zone KSYS prints in is not documented).
    None for anything else."""
    if not text:
        return None
    raw = text.strip()
    m = _SVC_TIME.match(raw)
    if m:
        try:
            year, month, day, hour, minute, second = (int(g) for g in m.groups())
            when = datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None
    else:
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- one disk group ----------------------------------------------------------------------
def _group_name(g: DiskGroup) -> str:
    return g.name or g.workgroup or g.cg_name or "?"


def _service_point(group: DiskGroup, managed: Sequence[ManagedVm]) -> datetime | None:
    """The oldest consistent point the service gives for the group's VMs (a
    PowerVS workgroup is one VM: ``<vm>_WG``)."""
    points = [p for m in managed if m.workgroup and m.workgroup == group.workgroup
              if (p := parse_point(m.last_consistent_time)) is not None]
    return min(points) if points else None


def _since_event(group: DiskGroup, events: Sequence[KsysEvent]) -> tuple[datetime, str] | None:
    """When the copy fell behind, by the latest event about it (or about no
    group in particular) that says so and is not followed by one saying it is
    back. None when no such event, or its time cannot be read."""
    names = {n for n in (group.name, group.workgroup, group.cg_name) if n}
    latest: tuple[datetime, str] | None = None
    for e in events:
        if e.name not in BEHIND_EVENTS and e.name not in BACK_EVENTS:
            continue
        about = {r.strip() for r in (e.resource or "").split(",") if r.strip()}
        if e.name in GROUP_EVENTS and about and not about & names:
            continue  # about another group (a storage agent's events name the agent: they hold for every group)
        when = event_time(e)
        if when is None:
            continue
        if latest is None or when >= latest[0]:
            latest = (when, e.name)
    if latest is None or latest[1] in BACK_EVENTS:
        return None
    return latest


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def measure_group(group: DiskGroup, now: datetime, *, managed: Sequence[ManagedVm] = (),
                  events: Sequence[KsysEvent] = ()) -> RpoReading:
    """One disk group's lag (no target: see :func:`measure_rpo`)."""
    name = _group_name(group)
    points: list[tuple[datetime, str]] = []
    if (p := parse_point(group.consistent_at)) is not None:
        points.append((p, SSH_BASIS))
    if (p := _service_point(group, managed)) is not None:
        points.append((p, REST_BASIS))
    if points:
        point, source = min(points)
        return RpoReading(max(now - point, timedelta(0)), f"last consistent point {_stamp(point)} ({source})",
                          group=name)
    state = group.cg_state
    behind = group.progress is not None and group.progress < 100
    if state == IN_SYNC and not behind:
        return RpoReading(timedelta(0), f"copy in sync ({IN_SYNC})", group=name)
    described = f"copy {state or 'state unknown'}" + (f", {group.progress:g}% copied" if group.progress is not None
                                                      else "")
    since = _since_event(group, events)
    if since is not None:
        when, event = since
        return RpoReading(max(now - when, timedelta(0)), f"{described}; behind since {event} at {_stamp(when)}",
                          at_least=True, group=name)
    return RpoReading(None, described, unknown_why=f"{described}, and no consistent point given", group=name)


# --- one node, one tenant ----------------------------------------------------------------
def _judged(r: RpoReading, target: timedelta | None) -> RpoReading:
    breach = None if r.lag is None or target is None else r.lag > target
    return RpoReading(r.lag, r.basis, target, breach, r.unknown_why, r.at_least, r.group)


def worst(readings: Iterable[RpoReading], target: timedelta | None) -> RpoReading | None:
    """The reading that matters most: a breach, else one that cannot be
    measured (it might hide one), else the largest lag."""
    judged = [_judged(r, target) for r in readings]
    if not judged:
        return None

    def rank(r: RpoReading) -> tuple[int, timedelta]:
        if r.breach:
            return (3, r.lag or timedelta(0))
        if r.lag is None:
            return (2, timedelta(0))
        return (1, r.lag)

    return max(judged, key=rank)


def measure_rpo(snapshot: NodeSnapshot, now: datetime, target: timedelta | None = None) -> RpoReading:
    """The node's recovery point: its worst disk group, against ``target``
    (the tenant's agreed RPO). Data read a while ago still measures (a
    consistent point does not move back), and says how old it is."""
    section = snapshot.sections.get("disk_group")
    if section is None or section.read_at is None:
        why = section.error if section is not None and section.error else "replication not read yet"
        return RpoReading(None, "-", target, None, why)
    groups = snapshot.disk_groups
    if not groups:
        return RpoReading(None, "-", target, None, "no disk groups: replication not set up")
    managed = snapshot.managed_vms
    readings = [measure_group(g, now, managed=managed) for g in groups]
    if any(r.lag is None for r in readings):  # only then the events (merged from both sources: not free)
        events = snapshot.events
        readings = [r if r.lag is not None else measure_group(g, now, managed=managed, events=events)
                    for g, r in zip(groups, readings, strict=True)]
    reading = worst(readings, target)
    assert reading is not None
    if section.error or snapshot.freshness(now, "disk_group") is not Freshness.FRESH:
        # the copy may have moved since: say so rather than pass old news off as now
        note = f"; read {format_age((now - section.read_at).total_seconds())} ago"
        reading = RpoReading(reading.lag, reading.basis + note, reading.target, reading.breach,
                             reading.unknown_why + note if reading.unknown_why else None, reading.at_least,
                             reading.group)
    return reading


# --- how a reading reads ---------------------------------------------------------------
BREACH = "BREACH"


def duration_text(value: timedelta | None) -> str:
    """An agreed objective as written in the configuration: ``30m``, ``1h``, ``1h30m``."""
    return "-" if value is None else format_duration(value)


def lag_text(r: RpoReading) -> str:
    """The measured lag alone: ``42m10s``, ``≥3m05s`` (a lower bound), ``0s``."""
    if r.lag is None:
        return "?"
    return ("≥" if r.at_least else "") + format_age(r.lag.total_seconds())


def rpo_cell(r: RpoReading | None, target: timedelta | None = None) -> str:
    """The overview's RPO cell, the verdict first so a narrow column keeps it
    (and it reads without colour): ``BREACH 42m10s / 15m``, ``ok 0s / 15m``,
    ``not measurable / 15m: <why>``; without an agreement ``42m10s (none
    agreed)`` or ``not measurable: <why>``."""
    goal = r.target if r is not None and r.target is not None else target
    per = f" / {duration_text(goal)}" if goal is not None else ""
    if r is None:
        return f"not measurable{per}: no node read" if goal is not None else "-"
    if r.lag is None:
        return f"not measurable{per}: {r.unknown_why}"
    if goal is None:
        return f"{lag_text(r)} (none agreed)"
    return f"{BREACH if r.breach else 'ok'} {lag_text(r)}{per}"


def detail_text(r: RpoReading) -> str:
    """One line for the tenant view: the verdict, the measured and agreed
    RPO, then what it was measured from."""
    agreed = f"{duration_text(r.target)} agreed" if r.target is not None else "none agreed"
    if r.lag is None:
        return f"not measurable: {r.unknown_why}; {agreed}"
    verdict = "" if r.breach is None else f"{BREACH if r.breach else 'ok'} "
    where = f" in {r.group}" if r.group else ""
    return f"{verdict}measured {lag_text(r)} against {agreed} — {r.basis}{where}"


# --- RTO evidence -----------------------------------------------------------------------
def dr_recovery_time(snapshot: NodeSnapshot) -> timedelta | None:
    """How long the node's failover takes by the DR Automation service's
    figures: its VMs' average DR times one after another (INFERRED: a site's
    VMs boot in turn, as in the simulator's flows). The one rule the overview's
    RTO cell, the agreement rows and the disaster planner all use. None where
    the service gives no figure."""
    times: list[float] = []
    for m in snapshot.managed_vms:
        try:
            times.append(float(m.dr_average_time or ""))
        except ValueError:
            continue  # not given, or not a number: no evidence
    return timedelta(seconds=sum(times)) if times else None


def rto_cell(rto: timedelta | None, dr_time: timedelta | None) -> str:
    """The overview's RTO cell: the agreed RTO and, where the service gives
    its figures, the node's DR time by them (``dr_recovery_time``) against it
    (``4h, DR est 21m00s``, ``30m, DR est 41m BREACH``)."""
    if dr_time is None:
        return duration_text(rto)
    est = f"DR est {format_age(dr_time.total_seconds())}"
    if rto is None:
        return f"- ({est})"
    return f"{duration_text(rto)}, {est}" + (f" {BREACH}" if dr_time > rto else "")
