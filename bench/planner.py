"""How long does a disaster plan over a large provider take?

Builds a synthetic fleet: N tenants (default 500), each one KSYS node with
its own production host paired with one of H shared recovery hosts (default
50, so ten tenants share each), five to twelve VMs a tenant with sizes and
target flex, a few operations already running, a past of unplanned and
planned moves for most nodes (a ``dr_average_time`` or nothing for the
rest), RTOs from 30 minutes to 4 hours and agreement priorities 1..5.
Recovery hosts are sized so that about one in five cannot hold everyone who
fails over onto it, so the plan has refusals and capacity what-ifs to make.

Then times, from the nodes' snapshots to the finished plan, what ``ksystui
plan disaster`` does once it has its inputs: the capacity model of every
recovery host (``capacity.host_loads``), every failed node's unplanned-move
demand and duration estimate, and ``disaster.plan_disaster`` with its
what-ifs (every production host fails). The median of several runs counts,
in CPU time of this process (the work is single-threaded and pure, and CPU
time does not count the waits of a machine shared with other work; wall
time is printed beside it), with the share of the capacity model and of
the planner itself printed before.

Last line: ``planner tenants=N hosts=H plan_ms=X`` (goal X < 200).

    .venv/bin/python bench/planner.py [--tenants 500] [--hosts 50] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ksystui.core import capacity
from ksystui.core.capacity import ZERO, Size, total
from ksystui.core.disaster import Busy, DisasterPlan, Recovery, estimate_recovery, plan_disaster
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
T = TypeVar("T")


def fleet(tenants: int, hosts: int, seed: int = 14) -> tuple[list[NodeSnapshot], dict[str, dict], list[Busy]]:
    """The snapshots of every tenant's node, what the queue and the
    agreements say about each node, and the operations running now."""
    rng = random.Random(seed)
    snaps: list[NodeSnapshot] = []
    facts: dict[str, dict] = {}
    need_on: dict[int, Size] = {}
    for k in range(tenants):
        tenant, node, prod, shared = f"tenant{k:03d}", f"ksys{k:03d}", f"prod{k:03d}", k % hosts
        vms = tuple(
            Vm(f"t{k:03d}_vm{v:02d}", state="READY_TO_MOVE", status="ACTIVE", host=prod,
               memory_capacity=str(rng.choice((8, 16, 32, 64, 128))), processors=str(rng.choice((0.5, 1, 2, 4, 8))),
               target_flex_mem=rng.choice((None, None, "80", "50")))
            for v in range(rng.randint(5, 12)))
        need_on[shared] = need_on.get(shared, ZERO) + total(capacity.booted_size(vm) or ZERO for vm in vms)
        snaps.append(NodeSnapshot(node, tenant, Flavour.ONPREM, 30, {
            "vm": Section("vm", vms, NOW),
            "site": Section("site", (Site(tenant, "ACTIVE"), Site("service_provider", "BACKUP")), NOW),
            "host": Section("host", (Host(prod, uuid=f"u-{prod}", site=tenant, pair=f"shared{shared:02d}"),
                                     Host(f"shared{shared:02d}", uuid=f"u-shared{shared:02d}", site="service_provider",
                                          pair=prod)), NOW),
        }, NodeHealth(last_success=NOW)))
        past = rng.random()
        facts[node] = {
            "priority": 1 + k % 5,
            "rto": timedelta(minutes=rng.choice((30, 60, 120, 240))),
            "unplanned": [rng.uniform(300, 1500) for _ in range(rng.randint(1, 6))] if past < 0.6 else [],
            "planned": [rng.uniform(300, 1500) for _ in range(rng.randint(1, 6))] if past < 0.8 else [],
            "dr_average": rng.uniform(60, 200) if past < 0.9 else None,
            "vm_count": len(vms),
        }
    # each host reports its size on the first of its tenants' snapshots: about
    # one host in five is 20 % too small for everyone
    sized: set[int] = set()
    for i, snap in enumerate(snaps):
        shared = i % hosts
        if shared in sized:
            continue
        sized.add(shared)
        factor = 0.8 if rng.random() < 0.2 else 1.25
        need = need_on[shared]
        hosts_now = tuple(h if h.name != f"shared{shared:02d}" else
                          Host(h.name, uuid=h.uuid, site=h.site, pair=h.pair,
                               memory_capacity=f"{need.memory_gb * factor:.0f}", processors=f"{need.cpu * 1.5:.0f}")
                          for h in snap.hosts)
        snaps[i] = NodeSnapshot(snap.node, snap.tenant, snap.flavour, snap.interval,
                                {**snap.sections, "host": Section("host", hosts_now, NOW)}, snap.health)
    busy = [Busy(10_000 + h, f"tenant{h:03d}", f"ksys{h:03d}", frozenset({f"u-shared{h % hosts:02d}"}),
                 rng.uniform(0, 600)) for h in range(0, tenants, 37)]
    return snaps, facts, busy


def plan(snaps: list[NodeSnapshot], facts: dict[str, dict], busy: list[Busy]) -> DisasterPlan:
    """What the command does once it has read its inputs: from the
    snapshots to the plan."""
    loads, recoveries = inputs(snaps, facts)
    return plan_disaster(recoveries, loads, busy)


def time_ms(fn: Callable[[], T], runs: int) -> tuple[list[float], list[float], T]:
    """CPU and wall milliseconds of each of ``runs`` calls (after one
    warm-up call, not counted), and the last result."""
    cpu, wall = [], []
    result = fn()
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return cpu, wall, result


def inputs(snaps: list[NodeSnapshot], facts: dict[str, dict]) -> tuple[dict[str, capacity.HostLoad], list[Recovery]]:
    """The capacity model and every failed node's recovery."""
    loads = capacity.host_loads(snaps)
    recoveries = []
    for snap in snaps:
        f = facts[snap.node]
        demands = tuple(capacity.demand(Op.MOVE_UNPLANNED, snap))
        dr_time = None if f["dr_average"] is None else f["dr_average"] * f["vm_count"]  # core.rpo.dr_recovery_time
        seconds, basis = estimate_recovery(f["unplanned"], f["planned"], dr_time, f["vm_count"])
        recoveries.append(Recovery(snap.tenant, snap.node, f["priority"], f["rto"], demands,
                                   frozenset(d.uuid for d in demands), seconds, basis))
    return loads, recoveries


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=500)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args(argv)
    med = statistics.median
    snaps, facts, busy = fleet(args.tenants, args.hosts)
    model_cpu, _, (loads, recoveries) = time_ms(lambda: inputs(snaps, facts), args.runs)
    planner_cpu, _, _ = time_ms(lambda: plan_disaster(recoveries, loads, busy), args.runs)
    total_cpu, total_wall, result = time_ms(lambda: plan(snaps, facts, busy), args.runs)
    scoped_cpu, _, _ = time_ms(lambda: result.for_tenant("tenant000"), args.runs)
    refused = sum(not o.fits for o in result.outcomes)
    breaches = sum(o.breach_s is not None for o in result.outcomes)
    short = sum(not h.fits for h in result.hosts)
    print(f"fleet: {len(snaps)} nodes, {args.hosts} shared recovery hosts ({short} too small for everyone), "
          f"{len(loads)} hosts in the capacity model, {len(busy)} operations running")
    print(f"plan: {refused} recoveries do not fit, {breaches} breach their RTO, {len(result.what_ifs)} what-ifs; "
          f"last finish {max((o.finish_s or 0) for o in result.outcomes) / 60:.0f} min")
    print(f"median CPU ms: capacity model and recoveries {med(model_cpu):.1f}, planner with what-ifs "
          f"{med(planner_cpu):.1f}, a tenant's scoped view {med(scoped_cpu):.1f}")
    print(f"snapshots to plan, CPU ms: {', '.join(f'{t:.1f}' for t in total_cpu)}; "
          f"wall ms median {med(total_wall):.1f} (load average {os.getloadavg()[0]:.1f})")
    print(f"planner tenants={args.tenants} hosts={args.hosts} plan_ms={med(total_cpu):.1f}")


if __name__ == "__main__":
    main()
