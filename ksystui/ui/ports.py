"""What the console needs from the world around it, said by the console.

The UI is handed a source of snapshots (the fleet) and, when it may queue
operations, an arbiter client; it knows them only by these Protocols, so it
imports neither ``ksystui.fleet`` nor ``ksystui.arbiter`` (an import-linter
contract holds it to that) and a test can hand it anything that fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.readouts import AuditLine, Preview, QueueLine
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


class ArbiterClient(Protocol):
    """How this console queues operations and reads the queue and the audit
    trail (the arbiter's port offers exactly this; the values it returns are
    the core's ``readouts``)."""

    async def preview(self, node: str, op: Op, *, scope: str | None = None) -> Preview: ...

    async def submit(self, preview: Preview, typed: str | None = None) -> int: ...

    async def lines(self, scope: str | None = None) -> Sequence[QueueLine]: ...

    async def rehearsals_left(self, scope: str | None = None) -> list[str]: ...

    async def audit(self, scope: str | None, limit: int) -> Sequence[AuditLine]: ...

    async def audit_status(self, scope: str | None = None) -> str: ...

    async def cancel(self, op_id: int, reason: str) -> bool: ...

    async def raise_priority(self, op_id: int, reason: str) -> bool: ...
