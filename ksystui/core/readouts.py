"""What the arbiter tells a console, as plain values: the preview of an
operation before it is queued, a line of the queue, a record of the audit
trail. They live in the core so that the console (which may not import the
arbiter) and the arbiter (which builds them) share one definition."""

from __future__ import annotations

from dataclasses import dataclass

from ksystui.core.capacity import CapacityVerdict
from ksystui.core.lifecycle import Op
from ksystui.core.operations import PlannedOp


@dataclass(frozen=True)
class Preview:
    """Everything the confirmation says before anything is queued."""

    planned: PlannedOp
    label: str
    priority: int
    position: int  # where it would stand among the waiting, 1-based
    holders: tuple[str, ...]  # who holds what it needs, right now
    warnings: tuple[str, ...]  # why it would be refused if dispatched now
    needs_typed_confirmation: bool  # unplanned move: type the tenant's name
    # whether a move or DR test fits its recovery hosts (None: not checked for this operation);
    # its lines name no tenant, so a scoped console shows them as they are
    capacity: CapacityVerdict | None = None

    @property
    def over_capacity(self) -> bool:
        """It does not fit: queuing it takes a written reason (audited)."""
        return self.capacity is not None and not self.capacity.fits

    @property
    def dangerous(self) -> bool:
        return self.planned.op is not Op.DISCOVER


@dataclass(frozen=True)
class QueueLine:
    """One line of the queue view / `ksystui queue`."""

    id: int
    host: str  # the shared recovery host it needs (names), or "-"
    tenant: str
    node: str
    op: str
    state: str  # an OpState's value: plain text for the table it lands in
    position: int | None  # 1-based place among the waiting
    tier_priority: int
    detail: str  # elapsed / ETA for the running; why it waits for the waiting
    command: str
    ref: str = ""  # how the console names it: "#42", or a scoped console's own number ("#3")

    @property
    def shown(self) -> str:
        return self.ref or f"#{self.id}"

    @property
    def place(self) -> str:
        """Its position among the waiting, or a mark: ✓ ✗ – for what ended,
        ▶ for what runs (or waits for an operator)."""
        return str(self.position) if self.position else ENDED_MARK.get(self.state, "▶")

    @property
    def ended(self) -> bool:
        return self.state in ENDED_MARK


ENDED_MARK = {"succeeded": "✓", "failed": "✗", "cancelled": "–"}


@dataclass(frozen=True)
class AuditLine:
    """One record of the audit trail, as a console lists it."""

    seq: int
    at: str  # UTC, to the second
    actor: str  # OS user@host/console
    action: str
    operation: int | None
    tenant: str
    node: str
    what: str  # the record's detail, as key=value pairs
    # what the console shows for the record's place and its operation: the global
    # seq and id, or in a scoped console nothing and the tenant's own number
    shown_seq: str = ""
    shown_operation: str = ""
