"""Soak: kill the arbiter with -9 at random moments, cycle after cycle, and
check the oracle every time (issue 16, deliverable 7).

Each cycle, against the simulated fleet on loopback: every on-premises tenant
gets one request (discover, verify or move, chosen by the seed) through
``ksystui submit``; a headless ``ksystui arbiter`` starts dispatching and is
killed with SIGKILL, either at the n-th named kill point it passes
(``KSYSTUI_KILL_AT=any:n``) or after a random delay; a fresh arbiter then
settles the queue (an operation left in doubt is resolved as the node shows
it, as an operator would). The oracle, per cycle:

* lost: an acknowledged request (``submit`` said ``queued``) missing, or never
  finished;
* duplicate_sends: a node received more commands than it had requests;
* collisions: the simulator saw two operations on a shared host at once;
* audit_ok: ``ksystui audit verify`` (keyed chain, anchor log, operations) passed.

Last line: ``soak cycles=N killed=K lost=0 duplicate_sends=0 collisions=0 audit_ok=N``.

    .venv/bin/python bench/soak.py [--cycles 200] [--seed 16]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.process
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from ksystui.cli.main import main
from ksystui.killpoints import ENV
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.queue import Queue

TENANTS = {"customerA": "r7r3m116", "customerB": "r7r3m108"}  # the seed fleet's on-premises tenants
OPS = ("discover", "verify", "move")
FINAL = {"succeeded", "failed", "cancelled"}
SETTLE_S = 90.0


@dataclass
class Soak:
    cycles: int = 0
    killed: int = 0
    lost: int = 0
    duplicate_sends: int = 0
    collisions: int = 0
    audit_ok: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"soak cycles={self.cycles} killed={self.killed} lost={self.lost} "
                f"duplicate_sends={self.duplicate_sends} collisions={self.collisions} audit_ok={self.audit_ok}")


def cli(*args: str) -> tuple[int, str, str]:
    """``ksystui ARGS`` in this process (in a worker thread: the simulator
    keeps serving on the main loop). The kill variable is never set here."""
    with CliRunner().isolation() as (out, err, _):
        try:
            rc = main(list(args))
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
    return rc, out.getvalue().decode(), err.getvalue().decode()


async def acli(*args: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(cli, *args)


def write_config(state: Path, db: Path) -> Path:
    cfg = state / "config.toml"
    cfg.write_text(cfg.read_text().replace(f'url = "sqlite:///{state}/ksystui.db"', f'url = "sqlite:///{db}"'))
    return cfg


class Arbiter:
    """A headless ``ksystui arbiter``, forked from this process (no start-up
    cost: the modules are imported already) and killed for real."""

    def __init__(self, proc: multiprocessing.process.BaseProcess):
        self.proc = proc

    @property
    def returncode(self) -> int | None:
        return self.proc.exitcode

    def kill(self) -> None:
        if self.proc.exitcode is None and self.proc.pid is not None:
            os.kill(self.proc.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc.exitcode is None and self.proc.pid is not None:
            os.kill(self.proc.pid, signal.SIGTERM)
        await self.wait()

    async def wait(self) -> int | None:
        await asyncio.to_thread(self.proc.join)
        return self.proc.exitcode


def _arbiter_child(cfg: str, kill_at: str | None) -> None:
    os.environ.pop(ENV, None)
    if kill_at is not None:
        os.environ[ENV] = kill_at
    log = os.environ.get("SOAK_TRACE", "")
    out = os.open(log if log.startswith("/") else os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(out, 1)
    os.dup2(out, 2)
    main(["arbiter", "--config", cfg])


async def arbiter(cfg: Path, *, kill_at: str | None = None) -> Arbiter:
    """Forked from a worker thread: the child has no running event loop to inherit."""
    proc = multiprocessing.get_context("fork").Process(target=_arbiter_child, args=(str(cfg), kill_at), daemon=True)
    await asyncio.to_thread(proc.start)
    return Arbiter(proc)


async def until(check: Callable[[], bool], timeout: float, proc: Arbiter | None = None) -> bool:
    """Poll ``check`` until it holds (or the process ends, or the time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check() or (proc is not None and proc.returncode is not None):
            return check()
        await asyncio.sleep(0.1)
    return False


def states(db: Path, ids: list[int]) -> dict[int, str]:
    q = Queue.open(f"sqlite:///{db}")
    try:
        return {o.id: str(o.state) for o in q.operations() if o.id in ids}
    finally:
        q.close()


def trace(*what: object) -> None:
    if os.environ.get("SOAK_TRACE"):
        print(f"{time.monotonic():.1f}", *what, file=sys.stderr, flush=True)


async def cycle(n: int, rng: random.Random, world: SimWorld, cfg: Path, db: Path, result: Soak) -> None:
    sent_before = {node: len(world.nodes[node].command_log) for node in TENANTS.values()}
    acknowledged: dict[int, str] = {}  # op id -> node
    for tenant, node in TENANTS.items():
        rc, out, _err = await acli("submit", rng.choice(OPS), tenant, "--config", str(cfg))
        found = re.search(r"queued #(\d+)", out)
        if rc == 0 and found:
            acknowledged[int(found.group(1))] = node
    ids = list(acknowledged)
    trace("submitted", acknowledged)

    def settled() -> bool:
        now = states(db, ids)
        return len(now) == len(ids) and all(s in FINAL for s in now.values())

    # a dispatcher dies with -9: at the n-th named point it passes, or at a random moment
    by_point = rng.random() < 0.5
    proc = await arbiter(cfg, kill_at=f"any:{rng.randint(1, 60)}" if by_point else None)
    if by_point:
        await until(settled, SETTLE_S, proc)
    else:
        await asyncio.sleep(rng.uniform(0.2, 4.0))
    proc.kill()
    await proc.wait()
    result.killed += proc.returncode == -signal.SIGKILL
    trace("killed", "by point" if by_point else "at random", proc.returncode, states(db, ids))

    # a fresh dispatcher settles the queue; doubt is resolved as the node shows it
    proc = await arbiter(cfg)
    try:
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and not settled():
            for op_id, state in states(db, ids).items():
                if state == "in_doubt":
                    node = acknowledged[op_id]
                    ran = len(world.nodes[node].command_log) > sent_before[node]
                    await acli("resolve", str(op_id), "succeeded" if ran else "failed", "--reason",
                               f"soak cycle {n}: the node's command log says so", "--config", str(cfg))
            await asyncio.sleep(0.2)
    finally:
        await proc.stop()
    trace("settled", states(db, ids))

    final = states(db, ids)
    lost = [i for i in ids if final.get(i) not in FINAL]
    result.lost += len(lost)
    for node in TENANTS.values():
        allowed = sum(1 for n_ in acknowledged.values() if n_ == node)
        result.duplicate_sends += max(0, _commands(world, node, sent_before[node]) - allowed)
    result.collisions = len(world.collisions.entries())
    rc, out, _ = await acli("audit", "verify", "--config", str(cfg))
    result.audit_ok += rc == 0
    if lost or rc != 0:
        result.notes.append(f"cycle {n}: lost {lost} final {final} audit {out.strip()[:300]}")
    result.cycles += 1


def _commands(world: SimWorld, node: str, since: int) -> int:
    """Operation commands the node received since ``since`` (reads are not operations)."""
    return sum(1 for argv in world.nodes[node].command_log[since:] if _is_operation(argv))


def _is_operation(argv: tuple[str, ...]) -> bool:
    words = [w for w in argv if not w.startswith("-")]
    return len(words) > 1 and words[1] in ("discover", "verify", "move", "cleanup", "recover")


async def soak(cycles: int, seed: int, workdir: Path, speed: float = 600.0) -> Soak:
    rng = random.Random(seed)
    world = SimWorld.seed(speed=speed)
    state = workdir / "state"
    result = Soak()
    async with SimRunner(world, state):
        db = workdir / "soak.db"
        cfg = write_config(state, db)
        for n in range(1, cycles + 1):
            await cycle(n, rng, world, cfg, db, result)
    return result


def run(cycles: int, seed: int) -> Soak:
    with tempfile.TemporaryDirectory(prefix="ksystui-soak-") as tmp:
        os.environ.setdefault("KSYSTUI_AUDIT_DIR", str(Path(tmp) / "audit"))
        return asyncio.run(soak(cycles, seed, Path(tmp)))


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    started = time.monotonic()
    result = run(args.cycles, args.seed)
    for note in result.notes:
        print(note)
    print(f"{time.monotonic() - started:.0f} s")
    print(result.line())


if __name__ == "__main__":
    main_()
