"""How much does the record (snapshot history) cost per hour?

Polls the seed scenario's nodes (in process, no network) as the provider
service would for one hour of polls (``--interval`` seconds apart: 10 by
default, 360 rounds), a host failure injected a third of the way in, and
publishes every poll through the feed, which records it (``store.history``).
Prints the rows and bytes the record took, per hour, against what keeping
every poll's snapshot whole (compressed) would have taken.

    .venv/bin/python bench/history_size.py [--interval 10] [--hours 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ksystui.core.model import Flavour  # noqa: E402
from ksystui.fleet.fleet import Fleet  # noqa: E402
from ksystui.fleet.monitor import NodeMonitor  # noqa: E402
from ksystui.sim.world import SimWorld  # noqa: E402
from ksystui.store import Feed  # noqa: E402
from ksystui.store.codec import snapshot_to_data  # noqa: E402
from ksystui.store.engine import migrate, open_engine, read_connection  # noqa: E402
from ksystui.store.history import compress  # noqa: E402
from ksystui.store.history_tables import poll_history, snapshot_history  # noqa: E402
from tests.in_process import InProcessTransport  # noqa: E402


async def measure(interval: float, hours: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{Path(tmp) / 'ks.db'}")
        migrate(engine)
        clock = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
        feed = Feed(engine, clock=lambda: clock[0])
        world = SimWorld.seed()
        fleet = Fleet()
        for name, node in world.nodes.items():
            fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                                  interval=interval, jitter=0.0))
        rounds = int(hours * 3600 / interval)
        whole = 0
        polls = 0
        try:
            for i in range(rounds):
                if i == rounds // 3:
                    snaps = fleet.snapshots if hasattr(fleet, "snapshots") else {}
                    host = next((h.name for s in snaps.values() for h in s.hosts if h.pair), None)
                    if host:
                        world.faults.inject("host_failure", host)
                clock[0] += timedelta(seconds=interval)
                snaps = await fleet.refresh_all()
                feed.publish_many(list(snaps.values()))
                whole += sum(len(compress(snapshot_to_data(s))) for s in snaps.values())
                polls += len(snaps)
        finally:
            await fleet.stop()
        with read_connection(engine) as conn:
            content_rows, content_bytes = conn.execute(sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.length(snapshot_history.c.data)), 0))).one()
            poll_rows, poll_bytes = conn.execute(sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.length(poll_history.c.times)), 0))).one()
            pages = {name: conn.exec_driver_sql(
                f"SELECT SUM(pgsize) FROM dbstat WHERE name LIKE '%{name}%'").scalar() or 0
                for name in ("snapshot_history", "poll_history")} if _has_dbstat(conn) else {}
        engine.dispose()
    per_hour = 1 / hours
    return {"nodes": len(world.nodes), "polls": polls * per_hour, "content_rows": content_rows * per_hour,
            "content_bytes": content_bytes * per_hour, "poll_rows": poll_rows * per_hour,
            "poll_bytes": poll_bytes * per_hour, "on_disk": sum(pages.values()) * per_hour,
            "every_poll_whole": whole * per_hour}


def _has_dbstat(conn: sa.Connection) -> bool:
    try:
        conn.exec_driver_sql("SELECT 1 FROM dbstat LIMIT 1")
    except sa.exc.DBAPIError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    m = asyncio.run(measure(args.interval, args.hours))
    kib = 1024
    print(f"seed scenario, {m['nodes']} nodes polled every {args.interval:g} s: {m['polls']:.0f} polls an hour")
    print(f"  snapshot_history: {m['content_rows']:.0f} rows/h, {m['content_bytes'] / kib:.1f} KiB/h (compressed)")
    print(f"  poll_history:     {m['poll_rows']:.0f} rows/h, {m['poll_bytes'] / kib:.1f} KiB/h (times only)")
    if m["on_disk"]:
        print(f"  on disk (SQLite pages, with indexes): {m['on_disk'] / kib:.0f} KiB/h")
    print(f"  every poll kept whole, compressed, would be {m['every_poll_whole'] / kib:.0f} KiB/h")
    total = m["content_bytes"] + m["poll_bytes"]
    print(f"history_size rows_per_hour={m['content_rows'] + m['poll_rows']:.0f} kib_per_hour={total / kib:.1f} "
          f"vs_whole={m['every_poll_whole'] / max(total, 1):.1f}x")


if __name__ == "__main__":
    main()
