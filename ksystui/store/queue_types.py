"""The queue's value types: states, a new request, a queued row, a
dispatcher's heartbeat (no database code here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ksystui.core.arbitration import Request, claims
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState

# plain strings for SQL parameters (drivers need not know our enum)
ACTIVE: tuple[str, ...] = (OpState.ADMITTED.value, OpState.RUNNING.value)
HOLDING: tuple[str, ...] = (*ACTIVE, OpState.IN_DOUBT.value)


def _with_verify(op: Op, argv: Sequence[str]) -> bool:
    """``discover … verify=yes`` also works on the recovery hosts."""
    return op is Op.DISCOVER and "verify=yes" in argv


@dataclass(frozen=True)
class NewOp:
    """An operation to submit. ``argv`` is the exact ksysmgr command line."""

    tenant: str
    node: str
    op: Op | str
    argv: Sequence[str]
    site: str | None = None
    to_site: str | None = None
    recovery_hosts: Sequence[str] = ()  # CEC UUIDs it works on at the target site
    host_names: Sequence[str] = ()  # their names, for display
    priority: int = 1  # the tenant's agreement priority: 1 is served first
    confirmed: bool = False  # the operator confirmed: the command may carry -f
    pair_id: int | None = None  # the DR test this cleanup belongs to (or the reverse)


@dataclass(frozen=True)
class QueuedOp:
    """An operation as the store holds it (a row of ``operations``)."""

    id: int
    tenant: str
    node: str
    op: Op
    argv: tuple[str, ...]
    site: str | None
    to_site: str | None
    recovery_hosts: tuple[str, ...]
    host_names: tuple[str, ...]
    priority: int
    class_rank: int
    arrival: int
    raised: int
    raise_reason: str | None
    state: OpState
    fence: int | None
    holder: str | None
    confirmed: bool
    pair_id: int | None
    submitted_by: str
    submitted_at: datetime
    admitted_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    rc: int | None
    outcome: str | None
    output_tail: str | None

    def to_request(self) -> Request:
        return Request(id=self.id, tenant=self.tenant, node=self.node, op=self.op, priority=self.priority,
                       arrival=self.arrival, recovery_hosts=frozenset(self.recovery_hosts), raised=self.raised,
                       with_verify=_with_verify(self.op, self.argv))

    def claims(self) -> tuple[str, ...]:
        """The resources it holds while admitted: "node:<name>", "host:<uuid>"."""
        return tuple(sorted(f"{c.kind}:{c.name}" for c in claims(self.to_request())))


@dataclass(frozen=True)
class Dispatcher:
    """A console that dispatches, as it last reported itself."""

    console_id: str
    user: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
