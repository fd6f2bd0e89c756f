"""The shared records as they stood at an instant, for a replay: alerts,
operations (rebuilt from their audit records), output lines and the audit
trail; and the marks of a window. Read-only.

Nothing here needs a record of its own: an alert keeps when it was raised
and acknowledged, an operation's every transition is audited with its time,
an output line and an event keep theirs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from ksystui.core.alerts import AlertRecord
from ksystui.core.audit import AuditEntry
from ksystui.core.opstate import OpState
from ksystui.core.timeline import Mark, Transition, operation_at, utc
from ksystui.store.audit_log import _as_dict as audit_entry  # the trail's own reading of a row
from ksystui.store.engine import read_connection
from ksystui.store.feed import _alert
from ksystui.store.history import HistoryWindow
from ksystui.store.queue import _to_op
from ksystui.store.queue_tables import audit as _audit
from ksystui.store.queue_tables import operations as _ops
from ksystui.store.queue_tables import progress as _progress
from ksystui.store.queue_types import QueuedOp
from ksystui.store.service_tables import alerts as _alerts
from ksystui.store.tables import EventRow

__all__ = ["OperationsRecord", "alert_as_of", "alerts_at", "audit_at", "audit_iso", "audit_of_operation_at", "audit_record_at",
           "output_at", "read_marks", "read_operations"]

_events: sa.Table = EventRow.metadata.tables["events"]
# the audit actions that are operation transitions (the queue's; "refused"/"fenced" change nothing)
OPERATION_ACTIONS = frozenset({"submit", "admit", "start", "finish", "requeue", "cancel", "raise", "resolve",
                               "rejudge"})


def audit_iso(at: datetime) -> str:
    """An instant as the audit trail writes its times (comparable as text)."""
    return utc(at).isoformat(timespec="microseconds")


def _detail(text: object) -> Mapping[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- alerts -------------------------------------------------------------------------------
def alerts_at(engine: Engine, at: datetime, *, tenant: str | None = None, limit: int = 500) -> list[AlertRecord]:
    """The alerts raised by ``at`` (of ``tenant``), newest first, each as it
    stood then: an acknowledgement (or a resolution) made later is not there yet."""
    when = utc(at)
    query = sa.select(_alerts).where(_alerts.c.raised_at <= when).order_by(_alerts.c.id.desc()).limit(limit)
    if tenant is not None:
        query = query.where(_alerts.c.tenant == tenant)
    with read_connection(engine) as conn:
        records = [_alert(r) for r in conn.execute(query).all()]
    return [alert_as_of(a, when) for a in records]


def alert_as_of(alert: AlertRecord, when: datetime) -> AlertRecord:
    """``alert`` as it stood at ``when``: what was done to it later undone."""
    when = utc(when)
    later: dict[str, Any] = {}
    if alert.acked_at is not None and utc(alert.acked_at) > when:
        later.update(acked_by=None, acked_at=None, ack_reason=None)
    resolved = getattr(alert, "resolved_at", None)  # the alert lifecycle's fields, where this ksystui has them
    if resolved is not None and utc(resolved) > when:
        later.update(resolved_at=None, resolved_why=None)
    return dataclasses.replace(alert, **later) if later else alert


# --- operations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OperationsRecord:
    """Every operation submitted by the window's end (as its row says now)
    and its transitions, oldest first: enough to rebuild the queue at any
    instant of the window without reading the database again."""

    rows: tuple[QueuedOp, ...]
    transitions: Mapping[int, tuple[Transition, ...]]

    def at(self, at: datetime) -> list[QueuedOp]:
        """The operations as they stood at ``at`` (those submitted by then)."""
        when = utc(at)
        submitted = {o.id: o.submitted_at for o in self.rows}
        out = []
        for o in self.rows:
            if utc(o.submitted_at) > when:
                continue
            paired_at = submitted.get(o.pair_id) if o.pair_id is not None and o.pair_id > o.id else None
            then = operation_at(self.transitions.get(o.id, ()), when, pair_id=o.pair_id, paired_at=paired_at,
                                final_outcome=o.outcome)
            if then is None:  # submitted, but its records are not kept (a bundle's window): as its row says
                out.append(o)
                continue
            state = OpState(then.state)
            out.append(dataclasses.replace(
                o, state=state, fence=then.fence, holder=then.holder, admitted_at=then.admitted_at,
                started_at=then.started_at, finished_at=then.finished_at, rc=then.rc, outcome=then.outcome,
                output_tail=o.output_tail if state.finished and state is o.state else None, raised=then.raised,
                raise_reason=then.raise_reason, pair_id=then.pair_id))
        return out


def read_operations(engine: Engine, until: datetime, *, tenant: str | None = None) -> OperationsRecord:
    when = utc(until)
    query = sa.select(_ops).where(_ops.c.submitted_at <= when).order_by(_ops.c.id)
    records = sa.select(_audit.c.operation, _audit.c.at, _audit.c.action, _audit.c.detail).where(
        _audit.c.operation.is_not(None), _audit.c.action.in_(sorted(OPERATION_ACTIONS)),
        _audit.c.at <= audit_iso(when)).order_by(_audit.c.seq)
    if tenant is not None:
        query = query.where(_ops.c.tenant == tenant)
        records = records.where(_audit.c.tenant == tenant)
    transitions: dict[int, list[Transition]] = {}
    with read_connection(engine) as conn:
        rows = tuple(_to_op(r) for r in conn.execute(query).all())
        for r in conn.execute(records).all():
            transitions.setdefault(int(r.operation), []).append(
                Transition(datetime.fromisoformat(r.at), r.action, _detail(r.detail)))
    return OperationsRecord(rows, {k: tuple(v) for k, v in transitions.items()})


def output_at(engine: Engine, op_id: int, at: datetime) -> list[tuple[datetime, str]]:
    """The operation's output lines written by ``at``, in order."""
    with read_connection(engine) as conn:
        rows = conn.execute(sa.select(_progress.c.at, _progress.c.line).where(
            _progress.c.operation_id == op_id, _progress.c.at <= utc(at)).order_by(_progress.c.seq)).all()
    return [(r.at, r.line) for r in rows]


# --- the audit trail ----------------------------------------------------------------------
def audit_at(engine: Engine, at: datetime, limit: int, *, tenant: str | None = None) -> list[AuditEntry]:
    """The newest ``limit`` records written by ``at`` (of ``tenant``), newest first."""
    query = sa.select(_audit).where(_audit.c.at <= audit_iso(at)).order_by(_audit.c.seq.desc()).limit(limit)
    if tenant is not None:
        query = query.where(_audit.c.tenant == tenant)
    with read_connection(engine) as conn:
        return [audit_entry(r) for r in conn.execute(query).all()]


def audit_of_operation_at(engine: Engine, op_id: int, at: datetime) -> list[Any]:
    """The operation's audit rows written by ``at``, oldest first."""
    with read_connection(engine) as conn:
        return list(conn.execute(sa.select(_audit).where(
            _audit.c.operation == op_id, _audit.c.at <= audit_iso(at)).order_by(_audit.c.seq)).all())


def audit_record_at(engine: Engine, seq: int, at: datetime, *, tenant: str | None = None) -> Any | None:
    query = sa.select(_audit).where(_audit.c.seq == seq, _audit.c.at <= audit_iso(at))
    if tenant is not None:
        query = query.where(_audit.c.tenant == tenant)
    with read_connection(engine) as conn:
        return conn.execute(query).first()


# --- the marks of a window ----------------------------------------------------------------
def read_marks(engine: Engine, window: HistoryWindow, *, tenant: str | None = None) -> list[Mark]:
    """Every instant of the window worth stopping at (``core.timeline``)."""
    start, end = window.start, window.end
    marks = [Mark(f.at, "snapshot", f.tenant, f.node, f"{f.node}: its data changed") for f in window.content_changes()]
    scoped = (lambda t: (t.c.tenant == tenant,)) if tenant is not None else (lambda t: ())
    with read_connection(engine) as conn:
        for r in conn.execute(sa.select(_events.c.first_seen, _events.c.tenant, _events.c.node, _events.c.name,
                                        _events.c.id).where(_events.c.first_seen.between(start, end),
                                                            *scoped(_events))):
            marks.append(Mark(r.first_seen, "event", r.tenant, r.node, f"{r.node}: {r.name}", r.id))
        alert_cols = [_alerts.c.id, _alerts.c.tenant, _alerts.c.node, _alerts.c.event, _alerts.c.raised_at,
                      _alerts.c.acked_at, _alerts.c.acked_by]
        resolved = _alerts.c.get("resolved_at")  # the alert lifecycle's column, where this ksystui has it
        alert_cols += [resolved] if resolved is not None else []
        for a in conn.execute(sa.select(*alert_cols).where(_alerts.c.raised_at <= end, *scoped(_alerts))):
            if start <= a.raised_at <= end:
                marks.append(Mark(a.raised_at, "alert", a.tenant, a.node, f"alert raised: {a.event} on {a.node}",
                                  a.id))
            if a.acked_at is not None and start <= a.acked_at <= end:
                marks.append(Mark(a.acked_at, "ack", a.tenant, a.node, f"alert acknowledged by {a.acked_by}", a.id))
            when = getattr(a, "resolved_at", None) if resolved is not None else None
            if when is not None and start <= when <= end:
                marks.append(Mark(when, "resolve", a.tenant, a.node, f"alert resolved: {a.event} on {a.node}", a.id))
        for rec in conn.execute(sa.select(_audit.c.seq, _audit.c.at, _audit.c.action, _audit.c.operation,
                                        _audit.c.tenant, _audit.c.node).where(
                _audit.c.at.between(audit_iso(start), audit_iso(end)), *scoped(_audit)).order_by(_audit.c.seq)):
            at = datetime.fromisoformat(rec.at)
            if rec.operation is not None and rec.action in OPERATION_ACTIONS:
                marks.append(Mark(at, "operation", rec.tenant, rec.node, f"{rec.node}: operation {rec.action}",
                                  rec.operation))
            else:
                marks.append(Mark(at, "audit", rec.tenant, rec.node, f"audit: {rec.action}", rec.seq))
    return marks
