"""Alerts as shared records: which events raise one, and what a stored alert
says (who acknowledged it, when and why; whether it resolved, and why; to
whom it was notified). Pure: the store keeps the rows.

An alert is identified like the event that raised it (``event_identity``:
node, the node's event id *and* the time it printed), so every service and
console that sees the event names the same alert, and a restarted node that
re-uses an event id at another time raises a new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ksystui.core.age import format_age
from ksystui.core.events import event_time, is_critical
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.opstate import OpState
from ksystui.core.recovery import propose, proposed_recovery
from ksystui.core.snapshot import NodeSnapshot, event_identity


@dataclass(frozen=True)
class NewAlert:
    """An alert to raise (not stored yet)."""

    identity: str
    tenant: str
    node: str
    event: str
    event_id: str | None
    event_time: str | None
    description: str | None
    resource: str | None
    proposal: Op | None  # the recovery the core proposes for it, if any


def alerts_for(node: str, tenant: str, events: Iterable[KsysEvent],
               snap: NodeSnapshot | None = None) -> list[NewAlert]:
    """One alert per critical event (``events.is_critical``), in the order
    given, with the recovery the core proposes: judged on the node's state
    when its snapshot is given (``recovery.propose``: never a move onto a
    failed recovery host), else by the event alone. An event listed twice
    raises one alert."""
    out: dict[str, NewAlert] = {}
    for ev in events:
        if not is_critical(ev):
            continue
        identity = event_identity(node, ev)
        out.setdefault(identity, NewAlert(
            identity=identity, tenant=tenant, node=node, event=ev.name, event_id=ev.event_id,
            event_time=ev.time, description=ev.description, resource=ev.resource,
            proposal=(propose(ev.name, ev.resource, snap, (snap,), at=event_time(ev)).op if snap is not None
                      else proposed_recovery(ev.name))))
    return list(out.values())


# ksystui's own alert (no KSYS event raises it): an operation holds its hosts while its node is silent
HOLDER_UNREACHABLE = "KSYSTUI_HOLDER_UNREACHABLE"


def unreachable_holder_alert(op_id: int, tenant: str, node: str, op: Op, state: OpState | str,
                             host_names: Sequence[str], since: datetime, now: datetime, error: str) -> NewAlert:
    """The alert for an operation that holds its claims (running, admitted or
    in doubt) while its node has not answered since ``since``: whoever waits
    for those hosts waits on it, and only the node answering again or an
    operator's decision frees them. One alert per operation."""
    held = ", ".join(host_names) or node
    description = (f"operation #{op_id} ({op.value}, {state}) holds {held}, but node {node} has not answered for "
                   f"{format_age((now - since).total_seconds())} ({error}); requests for {held} wait until it "
                   f"answers (it is then judged from its state and events) or an operator resolves it "
                   f"(ksystui resolve {op_id} succeeded|failed --reason ...)")
    return NewAlert(identity=f"{node}|{HOLDER_UNREACHABLE}|op{op_id}", tenant=tenant, node=node,
                    event=HOLDER_UNREACHABLE, event_id=None, event_time=since.isoformat(), description=description,
                    resource=held, proposal=None)


@dataclass(frozen=True)
class AlertRecord:
    """A stored alert: what raised it, its acknowledgement and resolution if
    any, and how its notifications went (``notified``: one short text per
    hook, e.g. "pager ✓" or "slack ✗ 3 tries: HTTP 500"; filled from the
    delivery log when read)."""

    id: int
    identity: str
    tenant: str
    node: str
    event: str
    event_id: str | None
    event_time: str | None
    description: str | None
    resource: str | None
    proposal: Op | None
    raised_at: datetime
    acked_by: str | None
    acked_at: datetime | None
    ack_reason: str | None
    resolved_at: datetime | None = None
    resolved_why: str | None = None
    notified: tuple[str, ...] = ()

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    @property
    def resolved(self) -> bool:
        """What raised it is over (``core.alert_resolution`` says when)."""
        return self.resolved_at is not None

    @property
    def needs_attention(self) -> bool:
        """Nobody acknowledged it and it has not resolved on its own."""
        return not self.acknowledged and not self.resolved


def notified_text(hook: str, states: Sequence[tuple[str, int, str | None]]) -> str:
    """How one hook's notifications of one alert went, in a few characters
    (the NOTIFIED column): ``states`` holds (state, attempts, last status) of
    each of its deliveries, oldest first. One given up shows (``slack ✗ 3
    tries: HTTP 500``), else one still being tried (``slack … 1 try: HTTP
    500``), else ``pager ✓``."""
    def tries(n: int, status: str | None) -> str:
        return f" {n} {'try' if n == 1 else 'tries'}" + (f": {status}" if status else "") if n else ""

    for wanted, mark in (("gave_up", "✗"), ("pending", "…")):
        for state, attempts, status in reversed(states):
            if state == wanted:
                return f"{hook} {mark}{tries(attempts, status)}"
    return f"{hook} ✓"
