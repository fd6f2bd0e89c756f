"""The queue for an event loop: the same calls as :class:`Queue`, each run in
a worker thread (the database drivers block; the console and dispatcher must
not)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import URL, Engine

from ksystui.core.actor import Actor
from ksystui.core.audit import AuditEntry, AuditRecord, ChainProblem
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.store.lease import Guard
from ksystui.store.queue import Queue
from ksystui.store.queue_types import Dispatcher, NewOp, QueuedOp

P = ParamSpec("P")
R = TypeVar("R")


class AsyncQueue:
    """The same calls for an event loop: each runs in a worker thread."""

    def __init__(self, queue: Queue | Engine):
        self.queue = queue if isinstance(queue, Queue) else Queue(queue)

    def fenced(self, guard: Guard) -> AsyncQueue:
        """An AsyncQueue over ``queue.fenced(guard)`` (same engine)."""
        return AsyncQueue(self.queue.fenced(guard))

    @classmethod
    async def open(cls, url: str | URL | None = None) -> AsyncQueue:
        return cls(await asyncio.to_thread(Queue.open, url))

    async def _run(self, fn: Callable[P, R], *args: P.args, **kw: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kw)

    async def close(self) -> None:
        await self._run(self.queue.close)

    async def submit(self, new: NewOp, actor: Actor) -> QueuedOp:
        return await self._run(self.queue.submit, new, actor)

    async def get(self, op_id: int) -> QueuedOp | None:
        return await self._run(self.queue.get, op_id)

    async def waiting(self) -> list[QueuedOp]:
        return await self._run(self.queue.waiting)

    async def active(self) -> list[QueuedOp]:
        return await self._run(self.queue.active)

    async def holding(self) -> list[QueuedOp]:
        return await self._run(self.queue.holding)

    async def operations(self, states: Iterable[OpState | str] | None = None, tenant: str | None = None,
                         limit: int | None = None, *, kinds: Iterable[Op | str] | None = None,
                         finished_since: datetime | None = None) -> list[QueuedOp]:
        return await self._run(self.queue.operations, None if states is None else tuple(states), tenant, limit,
                               kinds=None if kinds is None else tuple(kinds), finished_since=finished_since)

    async def operation_ids(self, tenant: str | None = None) -> list[int]:
        return await self._run(self.queue.operation_ids, tenant)

    async def admit(self, op_id: int, console: str, actor: Actor) -> int | None:
        return await self._run(self.queue.admit, op_id, console, actor)

    async def mark_running(self, op_id: int, fence: int, actor: Actor) -> bool:
        return await self._run(self.queue.mark_running, op_id, fence, actor)

    async def add_progress(self, op_id: int, fence: int, line: str, actor: Actor, milestone: bool = False) -> bool:
        return await self._run(self.queue.add_progress, op_id, fence, line, actor, milestone)

    async def finish(self, op_id: int, fence: int, state: OpState | str, rc: int | None, outcome: str, output_tail: str,
                     actor: Actor) -> bool:
        return await self._run(self.queue.finish, op_id, fence, state, rc, outcome, output_tail, actor)

    async def settle_doubt(self, op_id: int, fence: int, state: OpState | str, why: str, actor: Actor) -> bool:
        return await self._run(self.queue.settle_doubt, op_id, fence, state, why, actor)

    async def requeue(self, op_id: int, fence: int, reason: str, actor: Actor) -> bool:
        return await self._run(self.queue.requeue, op_id, fence, reason, actor)

    async def resolve(self, op_id: int, state: OpState | str, actor: Actor, reason: str) -> bool:
        return await self._run(self.queue.resolve, op_id, state, actor, reason)

    async def cancel(self, op_id: int, actor: Actor, reason: str = "") -> bool:
        return await self._run(self.queue.cancel, op_id, actor, reason)

    async def raise_priority(self, op_id: int, actor: Actor, reason: str) -> bool:
        return await self._run(self.queue.raise_priority, op_id, actor, reason)

    async def heartbeat(self, console_id: str, actor: Actor) -> None:
        await self._run(self.queue.heartbeat, console_id, actor)

    async def dispatchers(self, alive_within: float) -> list[Dispatcher]:
        return await self._run(self.queue.dispatchers, alive_within)

    async def orphans(self, alive_within: float) -> list[QueuedOp]:
        return await self._run(self.queue.orphans, alive_within)

    async def progress(self, op_id: int) -> list[str]:
        return await self._run(self.queue.progress, op_id)

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        return await self._run(self.queue.durations, op, node, limit)

    async def verify_audit(self) -> list[ChainProblem]:
        return await self._run(self.queue.verify_audit)

    async def export_audit(self, tenant: str | None = None) -> list[AuditEntry]:
        return await self._run(self.queue.export_audit, tenant)

    async def recent_audit(self, limit: int, tenant: str | None = None) -> list[AuditEntry]:
        return await self._run(self.queue.recent_audit, limit, tenant)

    async def record(self, actor: Actor, action: str, *, operation: int | None = None, tenant: str | None = None,
                     node: str | None = None, detail: Mapping[str, object] | None = None) -> AuditRecord:
        return await self._run(self.queue.record, actor, action, operation=operation, tenant=tenant, node=node,
                               detail=detail)
