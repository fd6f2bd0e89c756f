"""Alerts as shared records: which events raise one, and what a stored alert
says (who acknowledged it, when and why). Pure: the store keeps the rows.

An alert is identified like the event that raised it (``event_identity``:
node, the node's event id *and* the time it printed), so every service and
console that sees the event names the same alert, and a restarted node that
re-uses an event id at another time raises a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ksystui.core.events import is_critical
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.recovery import proposed_recovery
from ksystui.core.snapshot import event_identity


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


def alerts_for(node: str, tenant: str, events: Iterable[KsysEvent]) -> list[NewAlert]:
    """One alert per critical event (``events.is_critical``), in the order
    given, with the recovery the core proposes (``recovery.proposed_recovery``).
    An event listed twice raises one alert."""
    out: dict[str, NewAlert] = {}
    for ev in events:
        if not is_critical(ev):
            continue
        identity = event_identity(node, ev)
        out.setdefault(identity, NewAlert(
            identity=identity, tenant=tenant, node=node, event=ev.name, event_id=ev.event_id,
            event_time=ev.time, description=ev.description, resource=ev.resource,
            proposal=proposed_recovery(ev.name)))
    return list(out.values())


@dataclass(frozen=True)
class AlertRecord:
    """A stored alert: what raised it, and its acknowledgement if any."""

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

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None
