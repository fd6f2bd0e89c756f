"""High availability, driving real ``ksystui serve`` processes as a service
manager would: two on PostgreSQL, the leader killed with -9 in the middle of
a move; one on SQLite stopped with SIGTERM. The simulator's command log and
collision log are the oracle for what reached the nodes. On SQLite the
verbs a script runs one after another (``service status``, ``submit
--wait``) run in this process (``aksystui``: the real entry point, its own
event loop in a thread), sparing a Python start each."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from ksystui.config import load_config
from ksystui.core.actor import Actor
from ksystui.service.term import LeaderTerm
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.feed import Feed
from ksystui.store.queue import NewOp, Queue
from tests.cli.conftest import aksystui
from tests.service.conftest import Db, ksystui, service_config
from tests.waiting import eventually

TAKEOVER_WITHIN = 15.0  # seconds, the promise
SLOW = 8.0  # the simulator's speed: a move of customerA's five VMs takes about 6 s
FAST = 60.0  # once the leader is killed mid-move


def moves_sent(world: SimWorld) -> int:
    return sum(1 for argv in world.nodes["r7r3m116"].command_log if "move" in argv)


async def test_kill_9_of_the_leader_mid_move_the_standby_takes_over_and_judges_the_move(pg_db: Db, serve,
                                                                                        tmp_path: Path):
    world = SimWorld.seed(speed=SLOW)
    async with SimRunner(world, tmp_path / "state") as runner:
        assert runner.state_dir is not None
        cfg = service_config(runner.state_dir, pg_db.url)
        first = await serve(cfg)
        await eventually(lambda: _led_by(pg_db, first), timeout=30)
        old_lease = await pg_db.state()
        second = await serve(cfg)
        await eventually(lambda: _standby(pg_db, second), timeout=30)

        # customerA's move; customerB's verify, which needs snorlax too, asked for meanwhile
        queue = Queue(pg_db.engine)
        move_submitted = asyncio.create_task(ksystui("submit", "move", "customerA", "--config", str(cfg)))
        await eventually(lambda: _running_with_progress(queue, "move"), timeout=30)
        verify_submitted = asyncio.create_task(ksystui("submit", "verify", "customerB", "--config", str(cfg)))

        first.kill()  # kill -9, mid-move
        killed = time.monotonic()
        await eventually(lambda: _led_by(pg_db, second), timeout=TAKEOVER_WITHIN + 5)
        takeover = time.monotonic() - killed
        assert takeover < TAKEOVER_WITHIN, f"the standby took {takeover:.1f} s to lead"
        world.speed = FAST  # the move was cut in the middle; what is left of it, and the verify, need not be slow
        (rc, out, err), (verify_rc, _, verify_err) = await asyncio.gather(move_submitted, verify_submitted)
        assert rc == 0 and "provider service" in out, (out, err)
        assert verify_rc == 0, verify_err
        move_id, verify_id = (o.id for o in queue.operations())

        await eventually(lambda: all(o.state.terminal for o in queue.operations()), timeout=60)
        ops = {o.id: o for o in queue.operations()}
        assert sorted(ops) == [move_id, verify_id], "a request was lost or duplicated"
        move, verify = ops[move_id], ops[verify_id]
        assert move.state == "succeeded" and "after a crash" in (move.outcome or ""), move.outcome  # judged
        assert moves_sent(world) == 1, "the move was sent again"
        assert verify.state == "succeeded", verify.outcome
        assert world.collisions.entries() == []
        (rc, out, _), (status_rc, status_out, _) = await asyncio.gather(
            ksystui("audit", "verify", "--config", str(cfg)),
            ksystui("service", "status", "--json", "--config", str(cfg)))
        assert rc == 0 and "intact" in out, out
        status = json.loads(status_out)
        assert status_rc == 0 and second.is_me(status["leader"])
        roles = {m["id"]: m["role"] for m in status["members"]}
        assert roles[status["leader"]] == "leader" and roles[old_lease.holder] in ("fenced", "lost")

        # the standby-turned-leader stops cleanly: the lease is free at once
        assert await second.terminate() == 0
        assert await pg_db.leader() is None
        assert (await pg_db.members())[status["leader"]].role == "stopped"

        await _the_old_leader_wakes_up_fenced(pg_db, cfg, old_lease.holder, old_lease.epoch, world)


async def _the_old_leader_wakes_up_fenced(db: Db, cfg: Path, old: str | None, epoch: int,
                                          world: SimWorld) -> None:
    """The killed leader's term, with its id and epoch, as if it had only
    been paused: it polls and dispatches as before, and nothing it tries
    changes anything; every attempt is audited as refused."""
    assert old is not None
    queue = Queue(db.engine)
    op = queue.submit(NewOp(tenant="customerA", node="r7r3m116", op="discover",
                            argv=("ksysmgr", "-t", "discover", "site", "customerA")), Actor("ops", "test", "cli"))
    before = Feed(db.engine).snapshots(nodes=["r7r3m116"])["r7r3m116"]
    refusals: list[str] = []
    term = LeaderTerm(load_config(cfg).config, db.engine, db.lease.guard(old, epoch), Actor("ksystui", "test", old),
                      epoch=epoch, on_fenced=lambda: refusals.append("publish"))
    try:
        assert await term.dispatcher.step() == []  # admits nothing
        await term.fleet.refresh_all(["r7r3m116"])  # reads the node, publishes nothing
    finally:
        await term.stop()
    assert refusals == ["publish"]  # the service would step down here
    assert queue.get(op.id).state == "queued"
    assert Feed(db.engine).snapshots(nodes=["r7r3m116"])["r7r3m116"].sequence == before.sequence

    fenced = [e for e in queue.export_audit() if e["action"] == "fenced" and e["actor"].endswith(old)]
    assert {e["detail"]["refused"] for e in fenced} >= {"admit", "publish"}, fenced
    assert all(e["detail"]["epoch"] == epoch for e in fenced)
    assert queue.verify_audit() == []
    assert moves_sent(world) == 1 and world.collisions.entries() == []
    assert not any("discover" in argv for argv in world.nodes["r7r3m116"].command_log)


async def test_a_leader_that_hangs_is_replaced_and_rejoins_as_a_standby(pg_db: Db, serve, tmp_path: Path):
    """A stopped process keeps its connection, so its advisory lock: the
    expired lease is what tells the standby to end that session."""
    world = SimWorld.seed(speed=60)
    async with SimRunner(world, tmp_path / "state") as runner:
        assert runner.state_dir is not None
        cfg = service_config(runner.state_dir, pg_db.url)
        first = await serve(cfg, "--lease-ttl", "3")
        await eventually(lambda: _led_by(pg_db, first), timeout=30)
        second = await serve(cfg, "--lease-ttl", "3")
        await eventually(lambda: _standby(pg_db, second), timeout=30)

        first.pause()
        paused = time.monotonic()
        await eventually(lambda: _led_by(pg_db, second), timeout=TAKEOVER_WITHIN + 5)
        assert time.monotonic() - paused < TAKEOVER_WITHIN

        first.resume()  # it wakes up believing it leads: fenced, it steps down and stands by
        await eventually(lambda: _standby(pg_db, first), timeout=15)
        assert await _led_by(pg_db, second)
        assert any("stepping down" in line for line in first.log.read_text().splitlines())


async def test_one_service_on_sqlite_leads_and_stops_cleanly_on_sigterm(sqlite_db: Db, serve, tmp_path: Path):
    world = SimWorld.seed(speed=60)
    async with SimRunner(world, tmp_path / "state") as runner:
        assert runner.state_dir is not None
        cfg = service_config(runner.state_dir, sqlite_db.url)
        served = await serve(cfg)
        await eventually(lambda: _led_by(sqlite_db, served), timeout=30)
        feed = Feed(sqlite_db.engine)
        await eventually(lambda: asyncio.to_thread(lambda: set(feed.snapshots()) == set(world.nodes)), timeout=30)

        shown = await aksystui("service", "status", "--json", "--config", str(cfg))
        assert shown.rc == 0, shown.err
        status = json.loads(shown.out)
        assert served.is_me(status["leader"]) and status["last_seq"] > 0
        assert [(m["id"], m["role"]) for m in status["members"]] == [(status["leader"], "leader")]

        # a script's `submit --wait` follows the service, which dispatches it
        submitted = await aksystui("submit", "verify", "customerA", "--wait", "--config", str(cfg))
        assert submitted.rc == 0, (submitted.out, submitted.err)
        assert f"the provider service ({status['leader']}) dispatches it" in submitted.out, submitted.out
        assert "5 out of 5 VMs have been successfully verified" in submitted.out
        (verify,) = Queue(sqlite_db.engine).operations()
        assert verify.state == "succeeded" and verify.holder == status["leader"]

        assert await served.terminate() == 0
        assert await sqlite_db.leader() is None  # released, not left to expire
        assert (await sqlite_db.members())[status["leader"]].role == "stopped"
        log = served.log.read_text().splitlines()
        assert log and all(line.startswith("ts=") and " level=" in line and " msg=" in line for line in log), log
        assert any('msg="lease released"' in line for line in log)
        assert any('msg="retention applied"' in line for line in log)

        shown = await aksystui("service", "status", "--config", str(cfg))
        assert shown.rc == 1 and "no provider service leads" in shown.out


async def _led_by(db: Db, served) -> bool:
    return served.is_me(await db.leader())


async def _standby(db: Db, served) -> bool:
    return any(served.is_me(m.id) and m.role == "standby" for m in (await db.members()).values())


async def _running_with_progress(queue: Queue, op: str) -> bool:
    """An operation ``op`` (its word: ``move``) has started and said something."""
    running = [o for o in await asyncio.to_thread(queue.operations) if o.op.value == op and o.state == "running"]
    return bool(running) and bool(await asyncio.to_thread(queue.progress, running[0].id))
