"""What the console needs from the world around it, said by the console.

The UI is handed a source of snapshots (the fleet) and, when it may queue
operations, an arbiter client; it knows them only by these Protocols, so it
imports neither ``ksystui.fleet`` nor ``ksystui.arbiter`` (an import-linter
contract holds it to that) and a test can hand it anything that fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.operations import PlannedOp
from ksystui.core.snapshot import NodeSnapshot


class FleetNotice(Protocol):
    """One poll's news, as the fleet publishes it: all the console reads of it."""

    @property
    def snapshot(self) -> NodeSnapshot: ...

    @property
    def new_events(self) -> tuple[KsysEvent, ...]: ...


class SnapshotSource(Protocol):
    """What the console reads from the fleet."""

    @property
    def snapshots(self) -> Mapping[str, NodeSnapshot]: ...

    def subscribe(self, fn: Callable[[FleetNotice], None]) -> Callable[[], None]: ...

    def start(self) -> None: ...

    def refresh_now(self, node: str) -> None: ...


class PreviewView(Protocol):
    """What the confirmation shows before anything is queued."""

    @property
    def planned(self) -> PlannedOp: ...

    @property
    def label(self) -> str: ...

    @property
    def priority(self) -> int: ...

    @property
    def position(self) -> int: ...

    @property
    def holders(self) -> tuple[str, ...]: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...

    @property
    def needs_typed_confirmation(self) -> bool: ...


class QueueLineView(Protocol):
    """One line of the queue view."""

    @property
    def id(self) -> int: ...

    @property
    def host(self) -> str: ...

    @property
    def tenant(self) -> str: ...

    @property
    def node(self) -> str: ...

    @property
    def op(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def position(self) -> int | None: ...

    @property
    def tier_priority(self) -> int: ...

    @property
    def detail(self) -> str: ...


class AuditLineView(Protocol):
    """One record of the audit trail."""

    @property
    def seq(self) -> int: ...

    @property
    def at(self) -> str: ...

    @property
    def actor(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def operation(self) -> int | None: ...

    @property
    def tenant(self) -> str: ...

    @property
    def node(self) -> str: ...

    @property
    def what(self) -> str: ...


P = TypeVar("P", bound=PreviewView)


class ArbiterClient(Protocol[P]):
    """How this console queues operations and reads the queue and the audit
    trail (the arbiter's port offers exactly this). ``P`` is the arbiter's
    own preview type: what ``preview`` gives, ``submit`` takes back."""

    async def preview(self, node: str, op: Op, *, scope: str | None = None) -> P: ...

    async def submit(self, preview: P, typed: str | None = None) -> int: ...

    async def lines(self, scope: str | None = None) -> Sequence[QueueLineView]: ...

    async def rehearsals_left(self, scope: str | None = None) -> list[str]: ...

    async def audit(self, scope: str | None, limit: int) -> Sequence[AuditLineView]: ...

    async def audit_status(self, scope: str | None = None) -> str: ...

    async def cancel(self, op_id: int, reason: str) -> bool: ...

    async def raise_priority(self, op_id: int, reason: str) -> bool: ...


AnyArbiter = ArbiterClient[Any]
