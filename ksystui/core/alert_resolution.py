"""When an alert resolves on its own, and why (pure).

An alert stays on the record once raised; it *resolves* when what raised it
is over, whether or not anybody acknowledged it. Two things tell so:

- **a newer poll of its node** (:func:`resolved_by_snapshot`):
  the node printed the event that clears it (``HOST_RECOVERED`` for the same
  host after a ``HOST_FAILURE``, ``HMC_REACHABLE``, ``STG_REACHABLE``,
  ``REPLICATION_RESUMED``), or, for a ``HOST_FAILURE``, the host is operating
  again in a host list read after the alert was raised; ksystui's own
  "holder unreachable" alert resolves when its node answers again;
- **an operation of its node that ended** (:func:`resolved_by_operation`):
  the recovery proposed for it succeeded, or an operation that repairs what
  failed succeeded (a verify after ``VERIFY_FAILED``, a cleanup after
  ``CLEANUP_FAILED``, …), after the alert was raised; the operation a
  "holder unreachable" alert names ended.

Only alerts of the same node are looked at, and only those not resolved yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ksystui.core.alerts import HOLDER_UNREACHABLE, AlertRecord
from ksystui.core.events import event_time
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.core.recovery import OPERATING
from ksystui.core.snapshot import NodeSnapshot


@dataclass(frozen=True)
class Resolution:
    """An alert to mark resolved, and the one line that says why."""

    alert_id: int
    why: str


# the event a node prints when what a critical event reported is over (INFERRED names, as in core.events)
CLEARED_BY: Mapping[str, str] = {
    "HOST_FAILURE": "HOST_RECOVERED",
    "HMC_UNREACHABLE": "HMC_REACHABLE",
    "STG_UNREACHABLE": "STG_REACHABLE",
    "REPLICATION_FAILURE": "REPLICATION_RESUMED",
}

# operations whose success repairs what an event reported failing (besides the alert's own proposal)
REPAIRED_BY: Mapping[str, frozenset[Op]] = {
    "HOST_FAILURE": frozenset({Op.MOVE_UNPLANNED}),
    "DISCOVERY_FAILED": frozenset({Op.DISCOVER}),
    "AUTO_DISCOVERY_FAILED": frozenset({Op.DISCOVER}),
    "VERIFY_FAILED": frozenset({Op.VERIFY}),
    "DAILY_VERIFY_FAILED": frozenset({Op.VERIFY}),
    "MOVE_FAILED": frozenset({Op.RECOVER, Op.MOVE_PLANNED, Op.MOVE_UNPLANNED}),
    "RESTART_FAILED": frozenset({Op.RECOVER}),
    "RECOVERY_FAILED": frozenset({Op.RECOVER}),
    "VM_BOOTUP_FAILED": frozenset({Op.RECOVER}),
    "CLEANUP_FAILED": frozenset({Op.CLEANUP, Op.RECOVER}),
    "DRTEST_FAILED": frozenset({Op.DR_TEST_CLEANUP}),
    "REPLICATION_FAILURE": frozenset({Op.RESYNC}),
    "REPLICATION_MONITOR_FAILED": frozenset({Op.RESYNC}),
}


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _mine(alerts: Iterable[AlertRecord], node: str) -> list[AlertRecord]:
    return [a for a in alerts if a.node == node and not a.resolved]


def _holder_op(a: AlertRecord) -> int | None:
    """The operation a "holder unreachable" alert names (``…|op<id>``)."""
    tail = a.identity.rpartition("|op")[2]
    return int(tail) if a.event == HOLDER_UNREACHABLE and tail.isdigit() else None


def _clearing_event(a: AlertRecord, snap: NodeSnapshot) -> str | None:
    name = CLEARED_BY.get(a.event)
    if name is None:
        return None
    since = _when(a.event_time)
    for ev in snap.events:
        if ev.name != name or (a.resource and ev.resource and ev.resource != a.resource):
            continue
        at = event_time(ev)
        # an event time the node printed decides; without one, a clearing event seen after the alert does
        if since is None or at is None or at >= since:
            return f"{name}{' ' + ev.resource if ev.resource else ''}" + (f" at {ev.time}" if ev.time else "")
    return None


def _host_back(a: AlertRecord, snap: NodeSnapshot) -> str | None:
    if a.event != "HOST_FAILURE" or not a.resource:
        return None
    section = snap.sections.get("host")
    # the host list must be read after the alert was raised (else it may be the one that showed the failure);
    # read times have whole seconds at worst: one second of margin
    if section is None or section.read_at is None or section.read_at < a.raised_at + timedelta(seconds=1):
        return None
    host = next((h for h in snap.hosts if h.name == a.resource), None)
    if host is None or host.state != OPERATING:
        return None
    return f"host {a.resource} is {OPERATING} again"


def _node_answers(a: AlertRecord, snap: NodeSnapshot) -> str | None:
    if a.event != HOLDER_UNREACHABLE:
        return None
    ok = snap.health.last_success
    if ok is None or ok < a.raised_at:
        return None
    return f"node {a.node} answers again"


def resolved_by_snapshot(alerts: Iterable[AlertRecord], snap: NodeSnapshot) -> list[Resolution]:
    """The alerts (of ``snap``'s node, not resolved yet) this poll resolves."""
    out: list[Resolution] = []
    for a in _mine(alerts, snap.node):
        why = _clearing_event(a, snap) or _host_back(a, snap) or _node_answers(a, snap)
        if why is not None:
            out.append(Resolution(a.id, why))
    return out


def resolved_by_operation(alerts: Iterable[AlertRecord], *, op_id: int, node: str, op: Op, state: OpState,
                          finished_at: datetime | None) -> list[Resolution]:
    """The alerts (of ``node``, not resolved yet) an operation that ended
    resolves: see the module's docstring. An operation that finished before
    an alert was raised resolves nothing of it."""
    out: list[Resolution] = []
    for a in _mine(alerts, node):
        if _holder_op(a) == op_id:
            if state.finished:
                out.append(Resolution(a.id, f"operation #{op_id} ({op.value}) ended: {state.value}"))
            continue
        if state is not OpState.SUCCEEDED or finished_at is None or finished_at < a.raised_at:
            continue
        if op == a.proposal or op in REPAIRED_BY.get(a.event, frozenset()):
            out.append(Resolution(a.id, f"operation #{op_id} ({op.value}) succeeded"))
    return out
