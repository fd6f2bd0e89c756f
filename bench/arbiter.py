"""How long does one admission decision take with a long queue?

Builds N queued requests (default 10,000) over 200 KSYS nodes and 50 shared
recovery hosts (four tenants per host), a few operations running, and times
the dispatcher's decision — which waiting requests may start now — against
the baseline of the same rules applied naively (sort the whole queue and
explain every request), in the same run. Also times reading the queue back
from SQLite, which the dispatcher does before deciding.

Last line: ``arbiter queued=N admission_ms_p95=X`` (target X < 5).

    .venv/bin/python bench/arbiter.py [--queued 10000] [--decisions 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

from ksystui.core.arbitration import Request, decide, ordered
from ksystui.core.lifecycle import Op

OPS = [Op.DISCOVER, Op.VERIFY, Op.MOVE_PLANNED, Op.MOVE_UNPLANNED, Op.DR_TEST, Op.CLEANUP]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def workload(n: int, nodes: int = 200, seed: int = 11) -> tuple[list[Request], list[Request]]:
    rng = random.Random(seed)
    waiting = []
    for i in range(n):
        k = rng.randrange(nodes)
        waiting.append(Request(i, f"tenant{k:03d}", f"ksys{k:03d}", rng.choice(OPS), 1 + k % 5, i,
                               frozenset({f"host{k // 4:03d}"}), raised=1 if rng.random() < 0.001 else 0))
    running = [Request(10**6 + k, f"tenant{k:03d}", f"ksys{k:03d}", Op.VERIFY, 1, 0, frozenset({f"host{k // 4:03d}"}))
               for k in range(0, nodes, 9)]
    return running, waiting


def time_ms(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def store_read_ms(n: int) -> float:
    """Reading N waiting operations back from SQLite (the dispatcher's query)."""
    from ksystui.store.audit_log import current_actor
    from ksystui.store.queue import NewOp, Queue

    with tempfile.TemporaryDirectory() as tmp:
        q = Queue.open(f"sqlite:///{tmp}/bench.db")
        actor = current_actor("bench")
        rng = random.Random(3)
        for i in range(n):
            k = rng.randrange(200)
            q.submit(NewOp(tenant=f"tenant{k:03d}", node=f"ksys{k:03d}", op=Op.VERIFY,
                           argv=("ksysmgr", "-t", "verify", "site", f"site{k:03d}"),
                           recovery_hosts=(f"host{k // 4:03d}",), priority=1 + k % 5), actor)
            if i and i % 2000 == 0:
                print(f"  … {i} operations submitted", flush=True)
        times = time_ms(lambda: q.waiting(), 5)
        q.close()
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queued", type=int, default=10_000)
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--store", action="store_true", help="also time reading the queue from SQLite (slow to fill)")
    args = ap.parse_args()

    running, waiting = workload(args.queued)
    presorted = ordered(waiting)
    nodes = {r.node for r in waiting}  # the store answers this from its index (SELECT DISTINCT node …)
    fast = time_ms(lambda: decide(running, presorted, presorted=True, explain=False, waiting_nodes=nodes),
                   args.decisions)
    naive = time_ms(lambda: decide(running, waiting), max(10, args.decisions // 10))
    same = [r.id for r in decide(running, presorted, presorted=True, explain=False).admit] == \
        [r.id for r in decide(running, waiting).admit]
    print(f"{args.queued} queued over 200 nodes / 50 shared hosts, {len(running)} running; "
          f"same admissions as the naive decision: {same}")
    print(f"naive decision (sort + explain all): median {statistics.median(naive):.2f} ms, p95 {p95(naive):.2f} ms")
    print(f"dispatcher decision:                 median {statistics.median(fast):.2f} ms, p95 {p95(fast):.2f} ms "
          f"(x{statistics.median(naive) / statistics.median(fast):.0f} faster)")
    if args.store:
        print(f"reading {args.queued} waiting operations from SQLite: median {store_read_ms(args.queued):.1f} ms")
    print(f"arbiter queued={args.queued} admission_ms_p95={p95(fast):.2f}")


if __name__ == "__main__":
    main()
