"""What does a console's poll of the queue cost once the history is long?

The queue view reads the queue every few seconds and the drill view every
second; the operations table only grows (finished operations are the audit
trail's evidence, not pruned). This builds an SQLite queue with a history of
about N operations (default 16,384; built by doubling 500 rows, so 16,001:
500 tenants with a month of daily verifies and a few drills each come to
about that), half DR tests and moves with their cleanups, half verifies, all finished a week ago, plus one DR test that ended
a minute ago, and times, median of several runs, in the same run:

- ``full``: reading the whole history, as every one of these reads did before
  (``Queue.operations()``);
- ``lines``: the queue view's read (``ArbiterPort.lines``);
- ``drill`` / ``drills``: the drill view's and the drill history's reads;
- the same three for a console scoped to one tenant.

Last line: ``queue_reads ops=N full_ms=X lines_ms=Y drill_ms=Z drills_ms=W
scoped_drill_ms=V``.

    .venv/bin/python bench/queue_reads.py [--ops 16384] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ksystui.arbiter.port import ArbiterPort  # noqa: E402
from ksystui.core.actor import Actor  # noqa: E402
from ksystui.core.lifecycle import Op  # noqa: E402
from ksystui.core.opstate import OpState  # noqa: E402
from ksystui.store.queue import Queue  # noqa: E402
from ksystui.store.queue_async import AsyncQueue  # noqa: E402
from ksystui.store.queue_tables import OperationRow  # noqa: E402
from ksystui.store.queue_types import NewOp  # noqa: E402

ACTOR = Actor("bench", "localhost", "bench")
KINDS = (Op.VERIFY, Op.DR_TEST, Op.DR_TEST_CLEANUP, Op.VERIFY, Op.MOVE_PLANNED, Op.VERIFY)


class NoFleet:
    monitors: dict[str, Any] = {}
    snapshots: dict[str, Any] = {}


def build(queue: Queue, count: int) -> None:
    """``count`` operations of 500 tenants, as many rows as the submits would
    make (copied in SQL by doubling: submitting each would take minutes)."""
    seeds = [queue.submit(NewOp(f"tenant{t:03d}", f"node{t:03d}", KINDS[t % len(KINDS)], ("ksysmgr", "x"),
                                recovery_hosts=(f"host{t % 50}",), host_names=(f"host{t % 50}",)), ACTOR)
             for t in range(min(count, 500))]
    table = OperationRow.__table__
    week_ago = datetime.now(UTC) - timedelta(days=7)
    with queue.engine.begin() as conn:
        conn.execute(sa.update(table).values(state=OpState.SUCCEEDED.value, finished_at=week_ago,
                                             started_at=week_ago - timedelta(minutes=10)))
        columns = [c.name for c in table.columns if c.name != "id"]
        picked = ", ".join(columns)
        copied = ", ".join("arrival + (SELECT max(arrival) FROM operations)" if c == "arrival" else c
                           for c in columns)
        while conn.execute(sa.text("SELECT count(*) FROM operations")).scalar_one() * 2 <= count:
            conn.execute(sa.text(f"INSERT INTO operations ({picked}) SELECT {copied} FROM operations"))
    assert seeds
    latest = queue.submit(NewOp("tenant001", "node001", Op.DR_TEST, ("ksysmgr", "x"), recovery_hosts=("host1",),
                                host_names=("host1",)), ACTOR)
    fence = queue.admit(latest.id, ACTOR.console, ACTOR)
    assert fence is not None and queue.mark_running(latest.id, fence, ACTOR)
    queue.finish(latest.id, fence, OpState.SUCCEEDED, 0, "exit 0", "", ACTOR)


def median_ms(call: Callable[[], Awaitable[object]], runs: int) -> float:
    async def timed() -> float:
        await call()  # warm: the reader's caches, the page cache
        took = []
        for _ in range(runs):
            start = time.perf_counter()
            await call()
            took.append(time.perf_counter() - start)
        return statistics.median(took) * 1000

    return asyncio.run(timed())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=16384)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        queue = Queue.open(f"sqlite:///{Path(tmp) / 'ks.db'}")
        try:
            build(queue, args.ops)
            total = len(queue.operation_ids())
            aq = AsyncQueue(queue)
            everyone = ArbiterPort(aq, NoFleet(), ACTOR, {}, readonly=True)
            one = ArbiterPort(aq, NoFleet(), ACTOR, {}, scope="tenant001", readonly=True)

            async def full() -> object:
                return await aq.operations()

            figures = {
                "full": median_ms(full, args.runs),
                "lines": median_ms(everyone.lines, args.runs),
                "drill": median_ms(everyone.drill, args.runs),
                "drills": median_ms(everyone.drills, args.runs),
                "scoped_lines": median_ms(one.lines, args.runs),
                "scoped_drill": median_ms(one.drill, args.runs),
            }
        finally:
            queue.close()
    for name, ms in figures.items():
        print(f"{name:>13}: {ms:8.1f} ms")
    print(f"queue_reads ops={total} full_ms={figures['full']:.0f} lines_ms={figures['lines']:.0f} "
          f"drill_ms={figures['drill']:.0f} drills_ms={figures['drills']:.0f} "
          f"scoped_drill_ms={figures['scoped_drill']:.0f}")


if __name__ == "__main__":
    main()
