"""The queue's value types: a new request, a queued row, a dispatcher's
heartbeat (no database code here). States are the core's ``OpState``,
re-exported here for older imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from ksystui.core.arbitration import Request
from ksystui.core.lifecycle import Op
from ksystui.core.operations import PlannedOp
from ksystui.core.opstate import OpState

__all__ = ["Dispatcher", "DuplicateRequest", "NewOp", "OpState", "QueuedOp"]


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
    # works on (and claims) the recovery hosts too: the planner's decision
    # (PlannedOp.on_recovery_hosts); None: as its kind of operation does
    on_recovery_hosts: bool | None = None
    # one request per intent (``unique_intent``): an identical one queued, running or in
    # doubt refuses this one, unless a written reason says why another is wanted (audited)
    unique_intent: bool = False
    duplicate_reason: str | None = None
    # a move or DR test that does not fit its recovery hosts, queued anyway: the
    # operator's written reason (kept on the row: the dispatcher honours it; audited)
    capacity_override: str | None = None
    capacity_lines: Sequence[str] = ()  # the capacity verdict when it was queued (audited with it)

    @classmethod
    def planned(cls, planned: PlannedOp, *, priority: int, confirmed: bool, pair_id: int | None = None,
                duplicate_reason: str | None = None, capacity_override: str | None = None,
                capacity_lines: Sequence[str] = ()) -> NewOp:
        """The request for an operation the core planned, with its decisions."""
        return cls(tenant=planned.tenant, node=planned.node, op=planned.op, argv=planned.argv, site=planned.site,
                   to_site=planned.to_site, recovery_hosts=planned.recovery_hosts, host_names=planned.host_names,
                   priority=priority, confirmed=confirmed, pair_id=pair_id,
                   # a node-wide setting (no site: the schedule's) is no intent to deduplicate
                   on_recovery_hosts=planned.on_recovery_hosts, unique_intent=planned.site is not None,
                   duplicate_reason=duplicate_reason, capacity_override=capacity_override,
                   capacity_lines=tuple(capacity_lines))


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
    on_recovery_hosts: bool
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
    # queued although it did not fit its recovery hosts: the written reason (None: it must fit)
    capacity_override: str | None = None

    @cached_property
    def _request(self) -> Request:
        return Request(id=self.id, tenant=self.tenant, node=self.node, op=self.op, priority=self.priority,
                       arrival=self.arrival, recovery_hosts=frozenset(self.recovery_hosts), raised=self.raised,
                       on_recovery_hosts=self.on_recovery_hosts)

    def to_request(self) -> Request:
        """As arbitration sees it (built once per row: admission asks often)."""
        return self._request

    def claims(self) -> tuple[str, ...]:
        """The resources it holds while admitted: "node:<name>", "host:<uuid>"
        (the core's claims rule, ``Request.claims``)."""
        return tuple(sorted(c.resource for c in self.to_request().claims))


class DuplicateRequest(ValueError):
    """An identical request (tenant, node, operation, sites) is already
    queued, running or in doubt: ``existing`` is that one."""

    def __init__(self, existing: QueuedOp):
        self.existing = existing
        by = existing.submitted_by
        at = existing.submitted_at.strftime("%Y-%m-%d %H:%M:%S")
        sites = " ".join(f"{k} {v}" for k, v in (("site", existing.site), ("to", existing.to_site)) if v)
        super().__init__(f"the same request is already {existing.state}: #{existing.id} {existing.op.value} of "
                         f"{existing.tenant} on {existing.node}" + (f" ({sites})" if sites else "") +
                         f", submitted by {by} at {at}")


@dataclass(frozen=True)
class Dispatcher:
    """A console that dispatches, as it last reported itself."""

    console_id: str
    user: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
