"""The service in process (as ``ksystui demo`` runs it), on SQLite, against
the simulator: it leads alone, publishes every node, serves a console's
refresh request, steps down the moment its lease is someone else's,
releases the lease when it stops, and leaves a move it was running to its
node and to the next leader's judgement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ksystui.arbiter.service import plan_for, submit
from ksystui.config import Config, load_config
from ksystui.core.lifecycle import Op
from ksystui.service.serve import Service
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.feed import Feed
from ksystui.store.lease import LeaseStore
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from tests.service.conftest import Db, service_config
from tests.waiting import eventually


@pytest.fixture
async def fleet_config(world: SimWorld, sqlite_db: Db, tmp_path: Path) -> AsyncIterator[Config]:
    """The seed fleet served on loopback; its nodes polled once a minute
    (so that a poll in between is a refresh someone asked for)."""
    async with SimRunner(world, tmp_path / "state") as runner:
        assert runner.state_dir is not None
        path = service_config(runner.state_dir, sqlite_db.url, interval=60.0)
        yield load_config(path).config


async def test_a_lone_service_leads_publishes_every_node_and_serves_a_refresh(fleet_config, sqlite_db: Db, world):
    feed = Feed(sqlite_db.engine)
    async with Service(fleet_config, ttl=3.0) as service:
        await asyncio.wait_for(service.leading.wait(), 10)
        assert service.role == "leader" and await sqlite_db.leader() == service.id
        await eventually(lambda: set(feed.snapshots()) == set(world.nodes))
        polled = feed.snapshots(nodes=["r7r3m116"])["r7r3m116"].sequence

        feed.request_refresh("r7r3m116", "customerA")  # what a console's `r` writes
        await eventually(lambda: feed.snapshots(nodes=["r7r3m116"])["r7r3m116"].sequence > polled)
        members = await sqlite_db.members()
        assert members[service.id].role == "leader" and members[service.id].epoch == service.epoch
    assert service.role == "stopped"
    assert await sqlite_db.leader() is None and (await sqlite_db.members())[service.id].role == "stopped"


async def test_a_leader_whose_lease_is_taken_steps_down_then_leads_again_under_a_new_epoch(fleet_config,
                                                                                          sqlite_db: Db):
    async with Service(fleet_config, ttl=2.0) as service:
        await asyncio.wait_for(service.leading.wait(), 10)
        # another service takes the lease (as one holding PostgreSQL's lock would)
        other = LeaseStore(sqlite_db.engine, ttl=2.0)
        intruder = await asyncio.to_thread(other.take, "intruder:1:feedface", holds_lock=True)
        assert intruder is not None
        await eventually(lambda: service.role == "standby", timeout=5)
        assert service.term is None and not service.leading.is_set() and service.epoch is None
        # nobody renews the intruder's lease: once it expires, the service takes it again
        await asyncio.wait_for(service.leading.wait(), 10)
        assert service.epoch == intruder + 1


async def test_a_second_service_on_the_same_database_stands_by(fleet_config, sqlite_db: Db):
    async with Service(fleet_config, ttl=3.0) as first, Service(fleet_config, ttl=3.0) as second:
        await asyncio.wait_for(first.leading.wait(), 10)
        await eventually(lambda: _has_role(sqlite_db, second.id, "standby"))
        assert second.role == "standby" and second.term is None  # it polls no node
    assert await sqlite_db.leader() is None


async def _has_role(db: Db, member: str, role: str) -> bool:
    m = (await db.members()).get(member)
    return m is not None and m.role == role


async def test_stopping_mid_move_leaves_the_move_to_its_node_and_the_next_leader_judges_it(sqlite_db: Db,
                                                                                         tmp_path: Path):
    world = SimWorld.seed(speed=20)  # a move takes about 2 s
    async with SimRunner(world, tmp_path / "state") as runner:
        assert runner.state_dir is not None
        cfg = load_config(service_config(runner.state_dir, sqlite_db.url)).config
        queue = Queue(sqlite_db.engine)
        async with Service(cfg) as first:
            await asyncio.wait_for(first.leading.wait(), 10)
            assert first.term is not None
            planned = await plan_for(first.term.fleet, "r7r3m116", Op.MOVE_PLANNED, confirmed=True)
            op = await submit(AsyncQueue(queue), first.term.fleet, planned, priority=1, actor=first.actor,
                              confirmed=True)
            await eventually(lambda: queue.get(op.id).state == "running" and queue.progress(op.id))
        assert queue.get(op.id).state == "running"  # stopped at once: the move goes on on the node
        world.speed = 200  # and may end sooner: only its outcome matters from here
        assert await sqlite_db.leader() is None

        async with Service(cfg) as second:
            await eventually(lambda: queue.get(op.id).state.terminal, timeout=20)
            assert second.role == "leader"
        judged = queue.get(op.id)
        assert judged.state == "succeeded" and "after a crash" in (judged.outcome or ""), judged.outcome
        assert sum(1 for argv in world.nodes["r7r3m116"].command_log if "move" in argv) == 1
        assert world.collisions.entries() == [] and queue.verify_audit() == []
