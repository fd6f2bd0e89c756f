"""The arbiter's command line and crash safety, driving the real `ksystui`
program against the simulator, as cron or an operator would: in subprocesses
where the process matters (two dispatchers at once, a process that kills
itself at a kill point, the headless arbiter restarted after it), and in
this process otherwise (``here``: the real entry point with its own event
loop in a thread, as the rest of tests/cli does), sparing a Python start
per command."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from ksystui.arbiter.killpoints import ENV, POINTS
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.queue import Queue
from tests.cli.conftest import aksystui
from tests.sim_config import write_config

TERMINAL = {"succeeded", "failed", "cancelled", "in_doubt"}


async def ksystui(*args: str, env: dict | None = None, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksystui", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


async def here(*args: str) -> tuple[int, str, str]:
    """``ksystui ARGS`` in this process: exit code, standard output, standard error."""
    run = await aksystui(*args)
    return run.rc, run.out, run.err


@pytest.fixture
async def served(tmp_path: Path):
    world = SimWorld.seed(speed=60)
    state = tmp_path / "state"
    async with SimRunner(world, state):
        db = tmp_path / "k.db"
        yield world, write_config(state, db), db


async def test_submit_wait_for_both_tenants_at_once_runs_one_after_the_other(served):
    world, cfg, db = served
    (rc_a, out_a, err_a), (rc_b, out_b, err_b) = await asyncio.gather(
        ksystui("submit", "verify", "customerA", "--wait", "--config", str(cfg)),
        ksystui("submit", "verify", "customerB", "--wait", "--config", str(cfg)),
    )
    assert rc_a == 0 and rc_b == 0, (err_a, err_b)
    assert "5 out of 5 VMs have been successfully verified" in out_a and "succeeded" in out_a
    assert "5 out of 5 VMs have been successfully verified" in out_b
    assert world.collisions.entries() == []
    q = Queue.open(f"sqlite:///{db}")
    try:
        a, b = sorted(q.operations(), key=lambda o: o.started_at)
        assert a.finished_at <= b.started_at
    finally:
        q.close()


async def test_submit_without_wait_warns_when_nobody_dispatches_and_queue_shows_it(served):
    _, cfg, _ = served
    rc, out, err = await here("submit", "dr-test", "customerB", "--config", str(cfg))
    assert rc == 0 and "queued #1" in out and "dr_test=yes" in out
    assert "no dispatcher is running" in err
    rc, out, _ = await here("queue", "--config", str(cfg))
    assert "customerB" in out and "DR test" in out and "snorlax" in out
    rc, out, _ = await here("queue", "--json", "--tenant", "customerA", "--config", str(cfg))
    assert out.strip() == "[]"
    rc, out, _ = await here("cancel", "1", "--reason", "drill postponed", "--config", str(cfg))
    assert rc == 0 and "cancelled" in out
    rc, _, err = await here("cancel", "1", "--config", str(cfg))
    assert rc == 1 and "only queued operations can be cancelled" in err


async def test_bad_input_gets_a_clear_message(served):
    _, cfg, _ = served
    rc, _, err = await here("submit", "verify", "nobody", "--config", str(cfg))
    assert rc == 2 and "no tenant 'nobody'" in err
    rc, _, err = await here("submit", "verify", "customerC", "--config", str(cfg))
    assert rc == 2 and "no verify" in err  # PowerVS has none
    rc, _, err = await here("raise", "99", "--reason", "x", "--config", str(cfg))
    assert rc == 1


@pytest.mark.parametrize("kind", ["update", "delete-middle", "delete-last", "insert"])
async def test_audit_verify_names_the_tampered_row(served, kind):
    _, cfg, db = served
    rc, _, err = await here("submit", "verify", "customerA", "--wait", "--config", str(cfg))
    assert rc == 0, err
    rc, out, _ = await here("audit", "verify", "--config", str(cfg))
    assert rc == 0 and "intact" in out
    con = sqlite3.connect(db)
    n = con.execute("select max(seq) from audit").fetchone()[0]
    if kind == "update":
        con.execute("update audit set detail = '{}' where seq = 2")
        row = "seq 2"
    elif kind == "delete-middle":
        con.execute("delete from audit where seq = 3")
        row = "seq 4"
    elif kind == "delete-last":
        con.execute(f"delete from audit where seq = {n}")
        row = "head"
    else:
        con.execute("insert into audit (seq, at, actor, action, operation, tenant, node, detail, prev_hash, hash) "
                    f"values ({n + 1}, 'x', 'mallory', 'override', 1, 'customerA', 'r7r3m116', '{{}}', 'x', 'y')")
        row = f"seq {n + 1}"
    con.commit()
    con.close()
    rc, out, _ = await here("audit", "verify", "--config", str(cfg))
    assert rc == 1 and "TAMPERED" in out and row in out, out


# --- kill -9 at every named point --------------------------------------------------------
async def settle(cfg: Path, db: Path, timeout: float = 60.0, done=None) -> list:
    """Restart: run the headless arbiter until every request has an outcome
    (or until ``done(ops)`` says so)."""
    done = done or (lambda ops: ops and all(o.state in TERMINAL for o in ops))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ksystui", "arbiter", "--config", str(cfg),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    q = Queue.open(f"sqlite:///{db}")
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ops = q.operations()
            if done(ops):
                return ops
            await asyncio.sleep(0.2)
        raise AssertionError(f"not settled: {[(o.id, o.op, o.state) for o in q.operations()]}")
    finally:
        q.close()
        proc.terminate()
        await proc.communicate()


@pytest.mark.parametrize("point", POINTS)
async def test_kill_9_at_each_point_loses_nothing_and_never_moves_twice(served, point):
    world, cfg, db = served
    rc, _, err = await here("submit", "verify", "customerB", "--config", str(cfg))  # waits its turn
    assert rc == 0, err
    rc, out, err = await ksystui("submit", "move", "customerA", "--wait", "--config", str(cfg), env={ENV: point})
    assert rc == -9, (point, rc, out, err)  # it really died there
    if point == "after_start":
        # marked running, maybe sent: nobody can tell, so it stays in doubt and keeps
        # snorlax; customerB's verify must wait until an operator decides
        ops = await settle(cfg, db, done=lambda ops: any(o.state == "in_doubt" for o in ops))
        assert {o.op.value: o.state for o in ops} == {"move": "in_doubt", "verify": "queued"}
        rc, out, err = await here("resolve", "2", "failed", "--reason", "checked r7r3m116: no move ran",
                                  "--config", str(cfg))
        assert rc == 0, err
    ops = await settle(cfg, db)
    by = {o.op.value: o for o in ops}
    assert set(by) == {"verify", "move"}, "a request was lost"
    assert len(ops) == 2, "a request was duplicated"
    moves = sum(1 for argv in world.nodes["r7r3m116"].command_log if "move" in argv)
    assert moves <= 1, "a move was sent twice"
    if point in ("after_submit", "after_admit"):
        assert moves == 1 and by["move"].state == "succeeded"  # never sent before: sent once now
    elif point == "after_start":
        assert moves == 0 and by["move"].state == "failed"  # never resent; settled by the operator
    else:
        assert moves == 1 and by["move"].state == "succeeded"  # the node finished it; the record caught up
    assert by["verify"].state == "succeeded"  # the queued request survived and ran
    assert world.collisions.entries() == []
    rc, out, _ = await here("audit", "verify", "--config", str(cfg))
    assert rc == 0, out


async def test_schedule_staggers_nodes_that_share_a_recovery_host(served):
    world, cfg, _ = served
    rc, out, err = await here("schedule", "plan", "--config", str(cfg))
    assert rc == 0, err
    times = {line.split()[0]: line.split()[2] for line in out.splitlines() if "auto_discovery_time" in line}
    assert set(times) == {"r7r3m116", "r7r3m108", "ksysorch-dal12"}
    assert times["r7r3m116"] != times["r7r3m108"]  # both use snorlax
    rc, out, err = await here("schedule", "apply", "--yes", "--config", str(cfg))
    assert rc == 0, (out, err)
    for node, hhmm in times.items():
        assert world.nodes[node].state.system["auto_discovery_time"] == hhmm
    rc, out, _ = await here("audit", "export", "--config", str(cfg))
    assert "auto_discovery_time=" in out
