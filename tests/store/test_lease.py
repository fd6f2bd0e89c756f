"""The leader's lease, fencing and the members, on SQLite and PostgreSQL:
one leader at a time, and a former leader's writes change nothing."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ksystui.core.actor import Actor
from ksystui.core.lease import LeaseDecision, decide_lease
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.store import (
    AdvisoryLock,
    AsyncLeaseStore,
    AsyncQueue,
    Fenced,
    LeaseStore,
    Member,
    NewOp,
    Queue,
)
from ksystui.store.engine import migrate, open_engine
from ksystui.store.lease import supports_advisory_lock
from tests.store.threads import race
from tests.waiting import eventually

ONE = "svc1:100:aa11"
TWO = "svc2:200:bb22"
ALICE = Actor("alice", "noc1", "svc1")


class Clock:
    """A clock the test moves (the lease's expiry is judged by it)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def leases(engines, clock):
    first, second = engines
    return LeaseStore(first, ttl=10, clock=clock), LeaseStore(second, ttl=10, clock=clock)


def test_a_free_lease_is_taken_and_a_live_one_is_not(leases, clock):
    one, two = leases
    assert one.state().holder is None and one.state().epoch == 0
    assert one.take(ONE) == 1
    state = two.state()
    assert (state.holder, state.epoch, state.expires_at) == (ONE, 1, clock.now + timedelta(seconds=10))
    assert decide_lease(state, TWO, None, clock.now, holds_lock=None) is LeaseDecision.WAIT
    assert two.take(TWO) is None  # it re-checks under the row's lock
    assert one.renew(ONE, 1)


def test_an_expired_lease_is_taken_under_a_new_epoch_and_the_old_holder_must_step_down(leases, clock):
    one, two = leases
    assert one.take(ONE) == 1
    clock.advance(9)
    assert one.renew(ONE, 1)  # renewed: 10 s from now
    clock.advance(9)
    assert two.take(TWO) is None
    clock.advance(2)  # expired
    assert two.take(TWO) == 2
    assert not one.renew(ONE, 1)  # not mine any more
    one.release(ONE, 1)  # a stale release changes nothing
    assert two.state().holder == TWO


def test_a_released_lease_is_taken_at_once(leases, clock):
    one, two = leases
    epoch = one.take(ONE)
    one.release(ONE, epoch)
    state = two.state()
    assert state.holder is None and state.expires_at == clock.now and state.epoch == epoch
    assert two.take(TWO) == epoch + 1


def test_holding_the_lock_takes_a_live_lease(leases):
    one, two = leases
    assert one.take(ONE) == 1
    assert two.take(TWO, holds_lock=True) == 2


def test_two_contenders_at_once_one_wins(engines):
    first, second = engines
    one, two = LeaseStore(first), LeaseStore(second)
    for _ in range(5):
        results = race(lambda: one.take(ONE), lambda: two.take(TWO))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        holder = one.state().holder
        (one if holder == ONE else two).release(holder, winners[0])
    assert one.state().epoch == 5


def test_a_guard_refuses_a_former_leaders_writes(leases):
    one, two = leases
    epoch = one.take(ONE)
    guard = one.guard(ONE, epoch)
    with one.engine.begin() as conn:
        guard(conn)  # mine: passes
    two.take(TWO, holds_lock=True)
    with pytest.raises(Fenced) as info, one.engine.begin() as conn:
        guard(conn)
    assert (info.value.me, info.value.epoch, info.value.holder, info.value.current_epoch) == (ONE, epoch, TWO,
                                                                                              epoch + 1)


def test_the_no_leader_guard_refuses_while_a_service_leads(leases, clock):
    one, _ = leases
    guard = one.no_leader_guard()
    with one.engine.begin() as conn:
        guard(conn)  # nobody leads
    epoch = one.take(ONE)
    with pytest.raises(Fenced, match="svc1:100:aa11 leads"), one.engine.begin() as conn:
        guard(conn)
    clock.advance(11)  # the service died and its lease expired
    with one.engine.begin() as conn:
        guard(conn)
    one.release(ONE, epoch)


def verify_op() -> NewOp:
    return NewOp("customerA", "n1", Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"], recovery_hosts=["u-1"])


def test_a_fenced_queue_changes_nothing_and_audits_each_refusal(engines, clock):
    first, _ = engines
    lease = LeaseStore(first, clock=clock)
    old = lease.take(ONE)
    queue = Queue(first, clock=clock)
    leading = queue.fenced(lease.guard(ONE, old))
    running = queue.submit(verify_op(), ALICE)
    fence = leading.admit(running.id, "svc1", ALICE)
    assert fence is not None and leading.mark_running(running.id, fence, ALICE)
    waiting = queue.submit(verify_op(), ALICE)
    lease.take(TWO, holds_lock=True)  # the standby took over: the old leader is fenced
    audit_before = len(queue.export_audit())
    state_before = [(o.id, o.state, o.fence) for o in queue.operations()]
    changes = queue.engine.connect()
    seq_before = changes.exec_driver_sql("SELECT max(seq) FROM changes").scalar_one()
    changes.close()

    assert leading.admit(waiting.id, "svc1", ALICE) is None
    assert not leading.add_progress(running.id, fence, "a line", ALICE)
    assert not leading.finish(running.id, fence, OpState.SUCCEEDED, 0, "done", "", ALICE)
    assert not leading.requeue(running.id, fence, "stepping down", ALICE)
    leading.heartbeat("svc1", ALICE)

    assert [(o.id, o.state, o.fence) for o in queue.operations()] == state_before
    assert queue.progress(running.id) == [] and queue.dispatchers(60) == []
    with queue.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT max(seq) FROM changes").scalar_one() == seq_before
    refusals = queue.export_audit()[audit_before:]
    assert [(r["action"], r["detail"]["refused"], r["detail"]["epoch"]) for r in refusals] == [
        ("fenced", a, old) for a in ("admit", "progress", "finish", "requeue", "heartbeat")]
    assert [r["operation"] for r in refusals] == [waiting.id, running.id, running.id, running.id, None]
    assert queue.verify_audit() == []


def test_mark_running_is_fenced_too_and_the_new_leader_dispatches(engines, clock):
    first, second = engines
    lease = LeaseStore(first, clock=clock)
    old = lease.take(ONE)
    queue = Queue(first, clock=clock)
    op = queue.submit(verify_op(), ALICE)
    fence = queue.fenced(lease.guard(ONE, old)).admit(op.id, "svc1", ALICE)
    new = lease.take(TWO, holds_lock=True)
    assert not queue.fenced(lease.guard(ONE, old)).mark_running(op.id, fence, ALICE)
    assert queue.get(op.id).state is OpState.ADMITTED
    successor = Queue(second, clock=clock).fenced(LeaseStore(second).guard(TWO, new))
    assert successor.requeue(op.id, fence, "the former leader never started it", ALICE)
    assert successor.admit(op.id, "svc2", ALICE) is not None
    assert queue.verify_audit() == []


async def test_the_async_queue_is_fenced_the_same_way(engines, clock):
    first, _ = engines
    lease = AsyncLeaseStore(LeaseStore(first, clock=clock))
    epoch = await lease.take(ONE)
    queue = AsyncQueue(Queue(first, clock=clock)).fenced(await lease.guard(ONE, epoch))
    op = await queue.submit(verify_op(), ALICE)
    await lease.release(ONE, epoch)
    assert await queue.admit(op.id, "svc1", ALICE) is None
    assert (await queue.recent_audit(1))[0]["action"] == "fenced"


def test_members_report_themselves(leases, clock):
    one, two = leases
    started = clock.now
    one.heartbeat(Member(ONE, "svc1", 100, "leader", started, started, 1, None))
    two.heartbeat(Member(TWO, "svc2", 200, "standby", started, started, None, None))
    clock.advance(3)
    one.heartbeat(Member(ONE, "svc1", 100, "leader", started, started, 1, 42))
    members = two.members()
    assert [(m.id, m.role, m.epoch, m.last_seq) for m in members] == [(ONE, "leader", 1, 42),
                                                                       (TWO, "standby", None, None)]
    assert members[0].last_seen == clock.now and members[0].started_at == started
    assert members[1].last_seen == started
    assert one.forget_members(clock.now - timedelta(seconds=1)) == 1
    assert [m.id for m in one.members()] == [ONE]


def test_audit_refusal_records_a_refused_action(leases):
    one, _ = leases
    epoch = one.take(ONE)
    one.audit_refusal(ONE, epoch - 1, "dispatch", {"op": 7})
    (record,) = one.audit.latest(1)
    assert record["action"] == "fenced" and record["actor"] == ONE
    assert record["detail"] == {"refused": "dispatch", "epoch": epoch - 1, "holder": ONE, "current_epoch": epoch,
                                "op": 7}
    assert one.audit.verify() == []


async def test_the_async_lease_store_runs_off_the_loop(engines):
    lease = AsyncLeaseStore(engines[0], ttl=5)
    epoch = await lease.take(ONE)
    assert epoch == 1 and await lease.renew(ONE, epoch)
    assert (await lease.state()).holder == ONE
    now = await lease.now()
    await lease.heartbeat(Member(ONE, "h", 1, "leader", now, now, epoch, 0))
    assert [m.id for m in await lease.members()] == [ONE]
    guard = await lease.no_leader_guard()
    with pytest.raises(Fenced), lease.store.engine.begin() as conn:
        guard(conn)
    await lease.audit_refusal(ONE, epoch, "publish", {})
    assert await lease.forget_members(now + timedelta(days=1)) == 1
    await lease.release(ONE, epoch)


# --- PostgreSQL: the advisory lock ---------------------------------------------------------------
def _lock_holders(engine: sa.Engine, key: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :low"),
            {"low": key & 0xFFFFFFFF}).scalars())


def test_sqlite_has_no_advisory_lock(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ks.db'}")
    assert not supports_advisory_lock(engine)
    with pytest.raises(ValueError, match="PostgreSQL"):
        AdvisoryLock(engine)


def test_one_session_holds_the_advisory_lock_and_a_dead_session_loses_it(pg_engines):
    first, second = pg_engines
    assert supports_advisory_lock(first)
    a, b = AdvisoryLock(first), AdvisoryLock(second)
    try:
        assert a.try_acquire() and a.try_acquire()  # again: still held, not stacked
        assert not b.try_acquire()
        assert a.healthy() and not b.healthy()
        (pid,) = _lock_holders(first, a.key)
        with first.connect() as conn:  # the leader's session dies (kill -9, network)
            # the backend gone, not only signalled (the timeout waits: PostgreSQL 14+), as after a kill -9
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        assert not a.healthy() and not a.held
        assert b.try_acquire()
        assert not a.try_acquire()
        b.release()
        assert _lock_holders(first, a.key) == []
        assert a.try_acquire()
    finally:
        a.release()
        b.release()


def _lock_sessions(engine: sa.Engine) -> set[int]:
    """The server processes of the sessions open on this database (but the asker's)."""
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid()")).scalars())


def test_a_standby_keeps_one_session_while_it_tries_for_the_lock(pg_engines):
    first, second = pg_engines
    a, b = AdvisoryLock(first), AdvisoryLock(second)
    try:
        assert a.try_acquire() and not b.try_acquire()
        before = _lock_sessions(first)
        for _ in range(5):  # a standby tries every second
            assert not b.try_acquire()
        assert _lock_sessions(first) == before  # the same sessions each time: none opened and dropped
        a.release()
        assert b.try_acquire()
    finally:
        a.release()
        b.release()


def test_two_services_contending_at_once_with_the_lock_one_leads_and_a_dead_leader_is_replaced(pg_engines):
    first, second = pg_engines
    locks = AdvisoryLock(first), AdvisoryLock(second)
    stores = LeaseStore(first), LeaseStore(second)
    try:
        results = race(lambda: stores[0].contend(ONE, None, locks[0]), lambda: stores[1].contend(TWO, None, locks[1]))
        (epoch,) = [r for r in results if r is not None]
        leader = 0 if results[0] else 1
        me, other = (ONE, TWO) if leader == 0 else (TWO, ONE)
        assert stores[0].state().holder == me
        assert stores[leader].contend(me, epoch, locks[leader]) == epoch  # KEEP: renewed
        assert stores[1 - leader].contend(other, None, locks[1 - leader]) is None  # WAIT
        (pid,) = _lock_holders(first, locks[leader].key)
        with first.connect() as conn:  # the leader dies (kill -9): its session, and the lock, go
            # the backend gone, not only signalled (the timeout waits: PostgreSQL 14+), as after a kill -9
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        # the lease has not expired, but holding the lock proves the old leader is gone
        assert stores[1 - leader].contend(other, None, locks[1 - leader]) == epoch + 1
        assert stores[leader].contend(me, epoch, locks[leader]) is None  # it must step down
    finally:
        for lock in locks:
            lock.release()


def test_a_hung_leader_whose_session_still_holds_the_lock_is_evicted_once_its_lease_is_long_expired(pg_engines):
    first, second = pg_engines
    clock = Clock()
    hung_lock, live_lock = AdvisoryLock(first), AdvisoryLock(second)
    hung, live = LeaseStore(first, ttl=10, clock=clock), LeaseStore(second, ttl=10, clock=clock)
    try:
        epoch = hung.contend(ONE, None, hung_lock)
        assert epoch == 1
        clock.advance(15)  # it stopped renewing (SIGSTOP): expired, but its session holds the lock
        assert live.contend(TWO, None, live_lock) is None  # not yet: the lock holder may still take it
        clock.advance(6)  # expired for more than a whole ttl
        assert live.contend(TWO, None, live_lock) == epoch + 1
        assert _lock_holders(first, live_lock.key) != []
        # the hung one wakes: its lock is gone, so it stands by (and its writes are fenced)
        assert hung.contend(ONE, epoch, hung_lock) is None
        assert live.contend(TWO, epoch + 1, live_lock) == epoch + 1
    finally:
        hung_lock.release()
        live_lock.release()


def test_a_lock_holder_about_to_take_a_never_taken_lease_is_left_alone(pg_engines):
    first, second = pg_engines
    taking, other = AdvisoryLock(first), AdvisoryLock(second)
    try:
        assert taking.try_acquire()  # between its look and its take
        assert LeaseStore(second).contend(TWO, None, other) is None
        assert taking.healthy()
        assert LeaseStore(first).contend(ONE, None, taking) == 1
    finally:
        taking.release()
        other.release()


def test_contending_without_a_lock_takes_only_an_expired_lease(leases, clock):
    one, two = leases
    epoch = one.contend(ONE, None)
    assert epoch == 1 and two.contend(TWO, None) is None
    assert one.contend(ONE, epoch) == epoch
    clock.advance(11)
    assert two.contend(TWO, None) == 2
    assert one.contend(ONE, epoch) is None


def test_a_take_waits_for_a_guarded_write_in_flight_and_fences_the_next(pg_engines):
    """FOR SHARE against FOR UPDATE: the old leader's write in flight
    commits under its epoch; the take then fences every later write."""
    first, second = pg_engines
    one, two = LeaseStore(first), LeaseStore(second)
    epoch = one.take(ONE)
    guard = one.guard(ONE, epoch)
    taken: list[int | None] = []
    with first.begin() as conn:
        guard(conn)
        thread = threading.Thread(target=lambda: taken.append(two.take(TWO, holds_lock=True)))
        thread.start()

        def take_is_waiting() -> bool:
            with first.connect() as probe:
                return bool(probe.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar_one())

        asyncio.run(eventually(take_is_waiting))
        assert taken == []
    thread.join(10)
    assert taken == [epoch + 1]
    with pytest.raises(Fenced), first.begin() as conn:
        guard(conn)


def test_a_leader_hung_in_the_middle_of_a_write_is_evicted_whole(pg_url):
    """CI (test_ha, a leader SIGSTOPped under load): the standby terminated
    the session holding the lock, then waited forever in its take — the
    hung leader's other session was stopped inside a fenced write and held
    the lease row. Every session of the hung service goes now (a service
    names its sessions after itself), and the lease passes."""
    import concurrent.futures

    from ksystui.service.members import member_url

    clock = Clock()
    first, second = open_engine(member_url(pg_url, ONE)), open_engine(member_url(pg_url, TWO))
    migrate(first)
    hung_lock, live_lock = AdvisoryLock(first), AdvisoryLock(second)
    hung, live = LeaseStore(first, ttl=10, clock=clock), LeaseStore(second, ttl=10, clock=clock)
    mid_write = first.connect()
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        epoch = hung.contend(ONE, None, hung_lock)
        assert epoch == 1
        mid_write.begin()
        hung.guard(ONE, epoch)(mid_write)  # a fenced write begun: the lease row is locked until it ends
        clock.advance(21)  # it stopped (SIGSTOP) there: its lease expired more than a whole ttl ago
        taken = pool.submit(live.contend, TWO, None, live_lock)
        assert taken.result(timeout=20) == epoch + 1
        with pytest.raises(sa.exc.DBAPIError):  # the hung write's session is gone: nothing it does lands
            mid_write.execute(sa.text("SELECT 1"))
    finally:
        with contextlib.suppress(Exception):
            mid_write.close()  # a failed test must not leave the take blocked
        pool.shutdown(wait=True)
        hung_lock.release()
        live_lock.release()
        first.dispose()
        second.dispose()
