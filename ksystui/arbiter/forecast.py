"""When each waiting request is predicted to start: the queue played
forward by the same model as the disaster planner (``core.disaster.
predicted_starts``: the arbitration rules, what holds resources now, and
how long each operation took before on its node). For the queue view:
a waiting request gets a predicted start, not only the running one an ETA.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from ksystui.arbiter.disaster import UNKNOWN_RUN_SECONDS, busy_now
from ksystui.core.disaster import predicted_starts as play_forward
from ksystui.core.planning import estimate_seconds
from ksystui.store.queue_types import QueuedOp


class QueueHistory(Protocol):
    """What the forecast reads of the queue (an ``AsyncQueue`` fits)."""

    async def durations(self, op: str, node: str, limit: int = 10) -> list[float]: ...

    async def holding(self) -> list[QueuedOp]: ...

    async def waiting(self) -> list[QueuedOp]: ...


async def expected_seconds(queue: QueueHistory, ops: Sequence[QueuedOp]) -> dict[int, float]:
    """How long each operation is expected to run: the median of its kind's
    past runs on its node (none: ``UNKNOWN_RUN_SECONDS``). One history read
    per kind and node, however long the queue."""
    known: dict[tuple[str, str], float] = {}
    out: dict[int, float] = {}
    for o in ops:
        key = (o.op.value, o.node)
        if key not in known:
            known[key] = estimate_seconds(await queue.durations(o.op, o.node),
                                          default=UNKNOWN_RUN_SECONDS) or UNKNOWN_RUN_SECONDS
        out[o.id] = known[key]
    return out


async def predicted_starts(queue: QueueHistory, now: datetime, *, holding: Sequence[QueuedOp] | None = None,
                           waiting: Sequence[QueuedOp] | None = None) -> dict[int, datetime | None]:
    """Every waiting request's predicted start (None: it cannot be told,
    e.g. it waits behind something that never ends in the model).
    ``holding`` / ``waiting``: the queue as the caller has just read it (the
    queue view has), not read again."""
    waiting = await queue.waiting() if waiting is None else waiting
    if not waiting:
        return {}
    # behind one in doubt: nobody can tell when
    busy = await busy_now(queue, now, in_doubt_holds=True, holding=holding)
    seconds = await expected_seconds(queue, waiting)
    starts = play_forward(busy, [o.to_request() for o in waiting], seconds)
    return {o.id: now + timedelta(seconds=s) if (s := starts.get(o.id)) is not None and math.isfinite(s) else None
            for o in waiting}

