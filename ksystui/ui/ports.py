"""What the console needs from the world around it, said by the console.

The UI is handed a source of snapshots (the provider service's, read from
the database; or a fleet of its own in tests), what it shares with every
other console (the alert records, whether a service runs), and, when it may
queue operations, an arbiter client; it knows them only by these Protocols,
so it imports neither ``ksystui.fleet``, ``ksystui.arbiter`` nor
``ksystui.store`` (an import-linter contract holds it to that) and a test
can hand it anything that fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ksystui.core.alerts import AlertRecord
from ksystui.core.disaster_report import DisasterReport
from ksystui.core.drills import DrillLive, DrillRun
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.op_detail import AuditRecordView, OperationDetail
from ksystui.core.readouts import AuditLine, Preview, QueueLine
from ksystui.core.snapshot import NodeSnapshot


class FleetNotice(Protocol):
    """One poll's news, as the fleet publishes it: all the console reads of it."""

    @property
    def snapshot(self) -> NodeSnapshot: ...

    @property
    def new_events(self) -> tuple[KsysEvent, ...]: ...


class SnapshotSource(Protocol):
    """What the console reads of the nodes' state."""

    @property
    def snapshots(self) -> Mapping[str, NodeSnapshot]: ...

    def subscribe(self, fn: Callable[[FleetNotice], None]) -> Callable[[], None]: ...

    def start(self) -> None: ...

    def refresh_now(self, node: str) -> None: ...


class SharedNews(Protocol):
    """What changed in the records every console shares."""

    @property
    def alerts(self) -> Sequence[AlertRecord]:
        """Every alert record in this console's reach now, newest first."""
        ...

    @property
    def new_alerts(self) -> Sequence[AlertRecord]:
        """The alerts raised since the last news (each told once)."""
        ...

    @property
    def service_note(self) -> str | None:
        """None while a provider service runs; else what to tell the operator."""
        ...

    @property
    def queue_changed(self) -> bool: ...


class SharedState(Protocol):
    """The records a console shares with every other one (the provider
    service raises the alerts; whoever acknowledges one, every console shows
    it), and whether a provider service runs at all."""

    @property
    def alerts(self) -> Sequence[AlertRecord]: ...

    @property
    def service_note(self) -> str | None: ...

    def subscribe_shared(self, fn: Callable[[SharedNews], None]) -> Callable[[], None]: ...


class ArbiterClient(Protocol):
    """How this console queues operations and reads the queue and the audit
    trail (the arbiter's port offers exactly this; the values it returns are
    the core's ``readouts``)."""

    async def preview(self, node: str, op: Op, *, scope: str | None = None) -> Preview: ...

    async def submit(self, preview: Preview, typed: str | None = None, capacity_reason: str | None = None) -> int:
        """Queue what ``preview`` showed; one that does not fit its recovery
        hosts (``preview.over_capacity``) needs ``capacity_reason``, the
        operator's written reason (audited)."""
        ...

    async def lines(self, scope: str | None = None) -> Sequence[QueueLine]: ...

    async def rehearsals_left(self, scope: str | None = None) -> list[str]: ...

    async def audit(self, scope: str | None, limit: int) -> Sequence[AuditLine]: ...

    async def audit_status(self, scope: str | None = None) -> str: ...

    async def running_here(self, scope: str | None = None) -> Sequence[QueueLine]:
        """The operations that run in this process: quitting leaves them to
        another dispatcher or to crash recovery."""
        ...

    async def operation(self, op_id: int, scope: str | None = None) -> OperationDetail | None:
        """One operation whole: command, output with times, exit code, outcome, audit records."""
        ...

    async def audit_record(self, seq: int, scope: str | None = None) -> AuditRecordView | None:
        """One audit record whole."""
        ...

    async def drill(self, ref: str = "", scope: str | None = None, *, op_id: int | None = None) -> DrillLive | None:
        """One drill as it runs: ``op_id`` (as ``submit`` returned it), or
        ``ref`` naming an operation as the console shows it ("#42"); neither:
        the newest drill that runs or waits, else the newest that ran."""
        ...

    async def drills(self, scope: str | None = None) -> Sequence[DrillRun]:
        """Every DR test and move in scope, oldest first."""
        ...

    async def plan(self, fail: Sequence[str] = (), scope: str | None = None) -> DisasterReport:
        """The disaster plan if ``fail`` failed now (none: every production
        host in scope), told as the scope may see it (``:plan``)."""
        ...

    async def cancel(self, op_id: int, reason: str) -> bool: ...

    async def raise_priority(self, op_id: int, reason: str) -> bool: ...

    async def acknowledge(self, alert_id: int, reason: str, *, scope: str | None = None) -> bool:
        """Acknowledge a shared alert (who, when, why: audited); False when it
        is no longer open (another console was first)."""
        ...
