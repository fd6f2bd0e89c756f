"""What the service tells the outside world, before it is shaped for any
receiver: a ``Notice`` per alert raised, acknowledged or resolved, per
operation finished, and per test. Pure: which notices a hook wants, how long
to wait before trying a failed delivery again; sending is ``ksystui.notify``.

The three notices of one alert share its ``incident`` (the alert's identity),
so a receiver that threads by incident (PagerDuty's ``dedup_key``,
Alertmanager's fingerprint) acknowledges and resolves what it opened. Each
notice has its own ``delivery_key`` (incident + kind): at-least-once delivery
may send one twice, and a receiver drops the second by that key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from ksystui.config_oncall import NotifyConfig
from ksystui.core.alerts import AlertRecord
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState

__all__ = [  # what the service's notifier and `ksystui notify test` build on
    "FinishedOperation", "Notice", "alert_acknowledged", "alert_raised", "alert_resolved", "hook_test_notice",
    "operation_finished", "operation_severity", "retry_delay", "wanted",
]

TEST = "test"
ALERT_RAISED = "alert.raised"
ALERT_ACKNOWLEDGED = "alert.acknowledged"
ALERT_RESOLVED = "alert.resolved"
OPERATION_FINISHED = "operation.finished"

# an alert is raised by a critical event (``events.is_critical``) or by ksystui's own
# critical condition: each of its notices carries that severity, so a hook that
# takes only critical notices hears the acknowledgement and resolution of what it paged
ALERT_SEVERITY = "critical"
# a failed or half-done move or recovery leaves production where nobody can be sure it runs
_CRITICAL_WHEN_NOT_DONE = frozenset({Op.MOVE_PLANNED, Op.MOVE_UNPLANNED, Op.RECOVER})
REFUSED_PREFIX = "refused before sending"  # the dispatcher's outcome of an operation it never sent

SUMMARY_MAX = 200  # a phone's lock screen shows about this much


@dataclass(frozen=True)
class Notice:
    """One thing worth telling a receiver, in receiver-neutral terms."""

    kind: str  # one of config_oncall.NOTIFY_EVENTS, or "test"
    tenant: str | None
    node: str | None
    severity: str  # "critical" | "warning" | "info"
    summary: str  # one line a human reads on a phone
    at: datetime  # when it happened (UTC)
    incident: str  # stable key shared by the notices of one alert / operation / test
    ref: int | None = None  # alert id / operation id
    # event, event_id, proposal, op, state, outcome, by, reason, … (strings only: every format can carry them)
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def delivery_key(self) -> str:
        """The receiver-side dedup key of this one notification."""
        return f"{self.incident}:{self.kind}"


def _one_line(text: str, limit: int = SUMMARY_MAX) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def _details(**values: object) -> dict[str, str]:
    """Only what is known, each as text (an absent value is no key, not "None")."""
    return {k: (v.isoformat() if isinstance(v, datetime) else str(v)) for k, v in values.items()
            if v is not None and v != ""}


def _alert_incident(a: AlertRecord) -> str:
    return f"ksystui:alert:{a.identity}"


def _where(a: AlertRecord) -> str:
    return f"{a.event} on {a.resource or a.node} ({a.tenant}, node {a.node})"


def _alert_details(a: AlertRecord) -> dict[str, str]:
    return _details(event=a.event, event_id=a.event_id, event_time=a.event_time, resource=a.resource,
                    description=a.description, proposal=a.proposal.value if a.proposal else None,
                    raised_at=a.raised_at)


def alert_raised(a: AlertRecord) -> Notice:
    proposal = f" — proposed: {a.proposal.value}" if a.proposal else ""
    return Notice(kind=ALERT_RAISED, tenant=a.tenant, node=a.node, severity=ALERT_SEVERITY,
                  summary=_one_line(_where(a) + proposal), at=a.raised_at, incident=_alert_incident(a),
                  ref=a.id, details=_alert_details(a))


def alert_acknowledged(a: AlertRecord) -> Notice:
    """The acknowledgement of ``a`` (which must carry it: ``acked_at``)."""
    if a.acked_at is None:
        raise ValueError(f"alert {a.id} is not acknowledged")
    reason = f" — {a.ack_reason}" if a.ack_reason else ""
    return Notice(kind=ALERT_ACKNOWLEDGED, tenant=a.tenant, node=a.node, severity=ALERT_SEVERITY,
                  summary=_one_line(f"acknowledged by {a.acked_by or 'someone'}: {_where(a)}{reason}"),
                  at=a.acked_at, incident=_alert_incident(a), ref=a.id,
                  details={**_alert_details(a), **_details(by=a.acked_by, reason=a.ack_reason,
                                                           acked_at=a.acked_at)})


def alert_resolved(a: AlertRecord, *, at: datetime | None = None) -> Notice:
    """The resolution of ``a``: when and why from the record (``resolved_at``,
    ``resolved_why``) where it keeps them, else ``at``."""
    when: datetime | None = getattr(a, "resolved_at", None) or at
    if when is None:
        raise ValueError(f"alert {a.id}: no time of resolution")
    why: str | None = getattr(a, "resolved_why", None)
    reason = f" — {why}" if why else ""
    return Notice(kind=ALERT_RESOLVED, tenant=a.tenant, node=a.node, severity=ALERT_SEVERITY,
                  summary=_one_line(f"resolved: {_where(a)}{reason}"), at=when, incident=_alert_incident(a),
                  ref=a.id, details={**_alert_details(a), **_details(reason=why, resolved_at=when)})


class FinishedOperation(Protocol):
    """What a notice needs of an operation (the queue's ``QueuedOp`` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def tenant(self) -> str: ...
    @property
    def node(self) -> str: ...
    @property
    def op(self) -> Op: ...
    @property
    def state(self) -> OpState: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def rc(self) -> int | None: ...
    @property
    def submitted_by(self) -> str: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...


def operation_severity(op: Op | str, state: OpState | str, outcome: str | None) -> str:
    """succeeded or cancelled: info; failed, refused or in doubt: warning;
    a move or a recovery that failed or may be half done: critical (a refused
    one sent nothing: warning)."""
    st = OpState(state)
    if st in (OpState.SUCCEEDED, OpState.CANCELLED):
        return "info"
    refused = (outcome or "").startswith(REFUSED_PREFIX)
    if not refused and op in _CRITICAL_WHEN_NOT_DONE and st in (OpState.FAILED, OpState.IN_DOUBT):
        return "critical"
    return "warning"


def operation_finished(op: FinishedOperation, tenant: str | None = None, *, at: datetime | None = None) -> Notice:
    """The end of operation ``op`` (succeeded, failed, cancelled or in doubt),
    for ``tenant`` (default: the operation's). When it ended: its
    ``finished_at``, else ``at`` (an operation left in doubt may have none),
    else when it started or was submitted."""
    name = op.op.value if isinstance(op.op, Op) else str(op.op)
    state = str(op.state)
    outcome = f": {op.outcome}" if op.outcome else ""
    when = op.finished_at or at or op.started_at or op.submitted_at
    who = tenant or op.tenant
    return Notice(kind=OPERATION_FINISHED, tenant=who, node=op.node,
                  severity=operation_severity(op.op, op.state, op.outcome),
                  summary=_one_line(f"operation #{op.id} {name} for {who} {state.replace('_', ' ')}{outcome}"),
                  at=when, incident=f"ksystui:op:{op.id}", ref=op.id,
                  details=_details(op=name, state=state, outcome=op.outcome, rc=op.rc, by=op.submitted_by,
                                   started_at=op.started_at, finished_at=op.finished_at))


def hook_test_notice(hook: str, at: datetime, token: str) -> Notice:
    """What ``ksystui notify test HOOK`` sends; ``token`` (a fresh uuid) makes
    each test its own incident, so a receiver never folds two tests into one."""
    return Notice(kind=TEST, tenant=None, node=None, severity="info",
                  summary=f"ksystui test notification for hook {hook}: nothing is wrong",
                  at=at, incident=f"ksystui:test:{token}", details={"hook": hook})


def wanted(hook: NotifyConfig, notice: Notice) -> bool:
    """Whether ``hook`` takes ``notice`` by its filters (event kinds, tenants,
    severities). A test always goes through. A hook limited to tenants takes
    nothing without a tenant: it may belong to a customer."""
    if notice.kind == TEST:
        return True
    if notice.kind not in hook.events or notice.severity not in hook.severities:
        return False
    return not hook.tenants or notice.tenant in hook.tenants


RETRY_FIRST = timedelta(seconds=5)
RETRY_CAP = timedelta(minutes=10)


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after the ``attempt``-th failed attempt (1-based)
    before the next: 5 s, doubling, at most 10 min. Deterministic: the caller
    adds jitter when many deliveries fail at once."""
    exponent = min(max(attempt, 1) - 1, 20)  # 5 s · 2^20 is far past the cap already
    delay: timedelta = RETRY_FIRST * (2 ** exponent)
    return min(delay, RETRY_CAP)
