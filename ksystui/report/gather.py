"""Putting a report together through the arbiter client the console and
the verbs already hold (``ui.ports.ArbiterClient`` fits): the operation's
detail, and for a DR test the cleanup that closed it. What the client cannot
give (the anchor's hash in a tenant's scope, the RPO measured when it
started) the caller may hand in; without it the report says what is missing.
No database here: the console imports this too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ksystui.core.lifecycle import Op
from ksystui.core.op_detail import OperationDetail
from ksystui.core.operations import OP_LABEL
from ksystui.core.readouts import QueueLine
from ksystui.core.report import Report, RpoAtStart, build_report, newest_record

DR_TEST, CLEANUP = OP_LABEL[Op.DR_TEST], OP_LABEL[Op.DR_TEST_CLEANUP]


class OperationReader(Protocol):
    """The part of the arbiter client a report reads."""

    async def operation(self, op_id: int, scope: str | None = None) -> OperationDetail | None: ...

    async def lines(self, scope: str | None = None) -> Sequence[QueueLine]: ...


async def find_cleanup(reader: OperationReader, detail: OperationDetail, scope: str | None) -> OperationDetail | None:
    """The cleanup queued for this DR test, among the operations the queue
    still lists (its submit record names the DR test it cleans up)."""
    if detail.line.op != DR_TEST:
        return None
    names = {str(detail.line.id), detail.line.shown}
    for line in await reader.lines(scope):
        if line.op != CLEANUP or line.node != detail.line.node or line.id <= detail.line.id:
            continue
        found = await reader.operation(line.id, scope)
        submit = next((r for r in found.audit if r.action == "submit"), None) if found is not None else None
        pair = next((v for k, v in submit.detail if k == "pair_id"), "") if submit is not None else ""
        if pair in names:
            return found
    return None


async def gather_report(reader: OperationReader, op_id: int, *, scope: str | None = None,
                        agreed_rto: timedelta | None = None, agreed_rpo: timedelta | None = None,
                        foreign_names: Sequence[str] = (), cleanup_id: int | None = None,
                        anchor_of: Callable[[int], Awaitable[str]] | None = None,
                        rpo_at_start: Callable[[OperationDetail], Awaitable[RpoAtStart | None]] | None = None,
                        now: datetime | None = None) -> Report | None:
    """The report of operation ``op_id`` as ``scope`` may see it; None when
    there is no such operation (or it is another tenant's). ``cleanup_id``:
    the DR test's cleanup when the caller knows it (else it is looked for);
    ``anchor_of(seq)``: the hash of the audit record ``seq`` when the
    client's records carry none (a tenant's scope hides them)."""
    detail = await reader.operation(op_id, scope)
    if detail is None:
        return None
    cleanup = None
    if detail.line.op == DR_TEST:
        cleanup = await reader.operation(cleanup_id, scope) if cleanup_id is not None else \
            await find_cleanup(reader, detail, scope)
    newest = newest_record([detail, cleanup])
    anchor, why = "", "no audit record covers this operation"
    if newest is not None:
        anchor = newest.hash or (await anchor_of(newest.seq) if anchor_of is not None else "")
        why = (f"audit record {newest.seq} is no longer in the trail" if anchor_of is not None else
               "a tenant's console shows no audit hashes: the provider's `ksystui report` prints the anchor")
    rpo = await rpo_at_start(detail) if rpo_at_start is not None else None
    return build_report(detail, generated_at=now or datetime.now(UTC), cleanup=cleanup, agreed_rto=agreed_rto,
                        agreed_rpo=agreed_rpo, rpo_at_start=rpo, anchor=anchor, scoped=scope is not None,
                        foreign_names=foreign_names, no_anchor_why=why)
