"""How fast does ksystui refresh a whole fleet of KSYS nodes?

Starts a simulated fleet (``ksystui sim``, in its own process) of N nodes
with M VMs each on loopback, then times one full refresh of every node —
every monitor query of every node — three ways, in the same run:

* ksystui's fleet: one persistent SSH connection per node, all nodes at once;
* (a) sequential: the same queries one node after another with the stock
  ``ssh`` client, as an operator's shell loop does;
* (b) a pool of stock ``ssh`` processes (32 at a time, pssh's default).

Prints CPU seconds per refresh cycle of this process, and as its last line
``fleet_refresh speedup_vs_sequential=X speedup_vs_ssh_pool=Y``.

    .venv/bin/python bench/fleet_refresh.py [--nodes 100] [--vms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ksystui.config import load_config
from ksystui.core.ksysmgr.commands import build_query
from ksystui.core.model import Flavour
from ksystui.fleet.connect import build_fleet, close_fleet
from ksystui.fleet.monitor import QUERIES
from ksystui.sim.scale import generate_scale_scenario


async def start_sim(scenario: Path, state: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksystui", "sim", "--scenario", str(scenario), "--state-dir", str(state),
        "--speed", "100", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=300)
        if not line:
            err = await proc.stderr.read() if proc.stderr else b""
            raise SystemExit(f"simulator did not start: {err.decode()[-2000:]}")
        if line.startswith(b"admin "):
            return proc


def ssh_argv(state: Path, port: int, command: list[str]) -> list[str]:
    return [
        "ssh", "-F", "/dev/null", "-i", str(state / "id_ed25519"), "-o", f"UserKnownHostsFile={state / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-p", str(port), "root@127.0.0.1", *command,
    ]


async def one_ssh(argv: list[str]) -> int:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"ssh failed ({proc.returncode}): {err.decode()[-500:]}")
    return len(out)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--vms", type=int, default=100, help="VMs per node")
    ap.add_argument("--pool", type=int, default=32, help="parallel stock ssh processes for baseline (b)")
    ap.add_argument("--cycles", type=int, default=3, help="fleet refresh cycles to time (median)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="ksystui-bench-") as tmp:
        tmpd = Path(tmp)
        scenario = tmpd / "scale.toml"
        scenario.write_text(generate_scale_scenario(args.nodes, args.vms))
        state = tmpd / "state"
        print(f"fleet of {args.nodes} nodes x {args.vms} VMs on loopback; starting the simulator...", flush=True)
        sim = await start_sim(scenario, state)
        try:
            cfg = load_config(state / "config.toml").config
            ports = {n.name: n.ssh.port for _, n in cfg.nodes()}
            queries = [build_query(k) for k in QUERIES[Flavour.ONPREM]]

            # ksystui's fleet (connections opened by a first, untimed refresh)
            fleet = build_fleet(cfg)
            await fleet.refresh_all()
            bad = [n for n, s in fleet.snapshots.items() if s.health.consecutive_failures]
            if bad:
                raise SystemExit(f"nodes failed to refresh: {bad[:5]}")
            walls, cpus = [], []
            for _ in range(args.cycles):
                c0, t0 = time.process_time(), time.perf_counter()
                await fleet.refresh_all()
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            vms = sum(len(s.vms) for s in fleet.snapshots.values())
            await close_fleet(fleet)
            t_fleet = statistics.median(walls)
            print(f"ksystui fleet:        {t_fleet:8.2f} s per refresh ({vms} VMs read), "
                  f"cpu {statistics.median(cpus):.2f} s per cycle in this process", flush=True)

            # (b) pool of stock ssh processes
            sem = asyncio.Semaphore(args.pool)

            async def pooled(argv):
                async with sem:
                    return await one_ssh(argv)

            jobs = [ssh_argv(state, ports[n], q) for n in ports for q in queries]
            c0, t0 = os.times(), time.perf_counter()
            await asyncio.gather(*(pooled(a) for a in jobs))
            t_pool = time.perf_counter() - t0
            c1 = os.times()
            print(f"ssh pool ({args.pool} procs):  {t_pool:8.2f} s per refresh "
                  f"(child cpu {c1.children_user + c1.children_system - c0.children_user - c0.children_system:.1f} s)",
                  flush=True)

            # (a) sequential, one node after another
            t0 = time.perf_counter()
            for a in jobs:
                await one_ssh(a)
            t_seq = time.perf_counter() - t0
            print(f"sequential ssh loop:  {t_seq:8.2f} s per refresh", flush=True)
        finally:
            sim.terminate()
            await sim.wait()
    print(f"fleet_refresh speedup_vs_sequential={t_seq / t_fleet:.1f} speedup_vs_ssh_pool={t_pool / t_fleet:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
