"""Two consoles on one SQLite file: the database, not our code, decides who
holds a recovery host; fences only grow; a submit is durable when it returns."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ksystui.core.lifecycle import Op
from ksystui.store.engine import open_engine, read_connection
from ksystui.store.queue import Actor, NewOp, Queue
from tests.store.threads import race

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"
HOSTS = (SNORLAX, "8f2a5f4e-0000-4000-8000-00000000a002")
ALICE = Actor("alice", "noc1", "console-1")
BOB = Actor("bob", "noc2", "console-2")


def verify(tenant: str, node: str, host: str = SNORLAX) -> NewOp:
    return NewOp(tenant, node, Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"], recovery_hosts=[host])


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ks.db'}"


@pytest.fixture
def consoles(url):
    """Two consoles: two Queue objects, each with its own engine, on one file."""
    first = Queue.open(url)
    second = Queue(open_engine(url))
    yield first, second
    first.close()
    second.close()




def test_two_consoles_admitting_conflicting_operations_exactly_one_wins(consoles):
    one, two = consoles
    for round_ in range(15):
        a = one.submit(verify("customerA", f"a{round_}"), ALICE)
        b = two.submit(verify("customerB", f"b{round_}"), BOB)  # same shared recovery host
        fences = race(lambda a=a: one.admit(a.id, "console-1", ALICE), lambda b=b: two.admit(b.id, "console-2", BOB))
        winners = [f for f in fences if f is not None]
        assert len(winners) == 1, fences
        winner, loser = (a, b) if fences[0] is not None else (b, a)
        assert one.get(loser.id).state == "queued" and one.get(winner.id).state == "admitted"
        queue = one if winner is a else two
        assert queue.finish(winner.id, winners[0], "succeeded", 0, "ok", "", ALICE)
        assert queue.cancel(loser.id, ALICE, "next round")
    assert one.verify_audit() == []


def test_many_threads_never_hold_a_host_twice(consoles):
    """Four workers on two consoles admit and finish 40 operations over two
    hosts. A worker notes what it holds only after the database admitted it
    and forgets it before releasing: no two ever overlap."""
    queues = [*consoles, *consoles]
    ops = [queues[0].submit(verify(f"t{i % 5}", f"n{i}", HOSTS[i % 2]), ALICE) for i in range(40)]
    guard = threading.Lock()
    occupied: dict[str, int] = {}
    overlaps: list[tuple] = []
    done: list[int] = []

    failed = threading.Event()  # a worker that fails leaves its operation running: the others must stop too

    def worker(n: int) -> None:
        try:
            work(n)
        except BaseException:
            failed.set()
            raise

    def work(n: int) -> None:
        q = queues[n]
        actor = Actor("w", "h", f"console-{n}")
        while not failed.is_set():
            waiting = q.waiting()
            if not waiting:
                return
            for op in waiting:
                fence = q.admit(op.id, actor.console, actor)
                if fence is None:
                    continue
                with guard:
                    for c in op.claims():
                        if c in occupied:
                            overlaps.append((c, occupied[c], op.id))
                        occupied[c] = op.id
                assert q.mark_running(op.id, fence, actor)
                with guard:
                    for c in op.claims():
                        occupied.pop(c, None)
                assert q.finish(op.id, fence, "succeeded", 0, "ok", "", actor)
                done.append(op.id)

    race(*[lambda n=n: worker(n) for n in range(4)])
    assert overlaps == []
    assert sorted(done) == sorted(o.id for o in ops)
    with read_connection(consoles[0].engine) as conn:
        fences = conn.exec_driver_sql("SELECT fence FROM operations ORDER BY admitted_at, fence").scalars().all()
        assert len(set(fences)) == 40
        assert conn.exec_driver_sql("SELECT count(*) FROM claims WHERE held").scalar() == 0
    assert consoles[0].verify_audit() == []


STEP = st.tuples(
    st.sampled_from(["submit", "admit", "run", "finish", "doubt", "requeue", "resolve", "stale"]),
    st.integers(0, 50),
    st.integers(0, 1),
)


def test_fences_only_grow_over_any_interleaving(consoles):
    """Hypothesis drives both consoles through random interleavings of
    submissions, admissions, starts, ends, requeues, resolutions and stale
    calls. Each new fence exceeds every earlier one; the counter never goes
    back; every holder holds exactly its claims under its own fence; a stale
    fence never changes anything."""
    one, two = consoles
    state = {"max_fence": 0, "counter": 0, "n": 0}

    def counter() -> int:
        with read_connection(one.engine) as conn:
            return conn.exec_driver_sql("SELECT value FROM fence_counter").scalar_one()

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(STEP, max_size=20))
    def run(steps):
        for kind, k, which in steps:
            q, actor = (one, ALICE) if which == 0 else (two, BOB)
            active = q.active()
            holding = q.holding()
            if kind == "submit":
                state["n"] += 1
                q.submit(verify(f"t{k % 3}", f"n{k % 4}", HOSTS[k % 2]), actor)
            elif kind == "admit" and (waiting := q.waiting()):
                fence = q.admit(waiting[k % len(waiting)].id, actor.console, actor)
                if fence is not None:
                    assert fence > state["max_fence"]
                    state["max_fence"] = fence
            elif kind == "run" and active:
                op = active[k % len(active)]
                assert q.mark_running(op.id, op.fence, actor) == (op.state == "admitted")
            elif kind in ("finish", "doubt") and active:
                op = active[k % len(active)]
                assert q.finish(op.id, op.fence, "in_doubt" if kind == "doubt" else "succeeded", 0, "", "", actor)
            elif kind == "requeue" and active:
                op = active[k % len(active)]
                assert q.requeue(op.id, op.fence, "test", actor) == (op.state == "admitted")
            elif kind == "resolve" and holding:
                assert q.resolve(holding[k % len(holding)].id, "failed", actor, "operator decided")
            elif kind == "stale" and active:
                op = active[k % len(active)]
                assert not q.finish(op.id, op.fence - 1 - k % 3, "succeeded", 0, "", "", actor)
                assert not q.mark_running(op.id, op.fence + 1, actor)
            now = counter()
            assert now >= state["counter"]
            state["counter"] = now
            _holders_hold_exactly_their_claims(one)

    run()
    assert one.verify_audit() == []


def _holders_hold_exactly_their_claims(q: Queue) -> None:
    with read_connection(q.engine) as conn:
        rows = conn.execute(sa.text("SELECT operation_id, resource, fence FROM claims WHERE held")).all()
    by_op: dict[int, set[tuple[str, int]]] = {}
    for op_id, resource, fence in rows:
        by_op.setdefault(op_id, set()).add((resource, fence))
    holding = {o.id: o for o in q.holding()}
    assert set(by_op) == set(holding)
    for op_id, held in by_op.items():
        assert held == {(c, holding[op_id].fence) for c in holding[op_id].claims()}


def test_a_submitted_operation_is_on_disk_when_submit_returns(url):
    first = Queue.open(url)
    op = first.submit(verify("customerA", "r7r3m116"), ALICE)
    fresh = Queue(open_engine(url))  # another process would open it like this
    try:
        assert fresh.get(op.id) == op
        assert [e["action"] for e in fresh.export_audit()] == ["submit"]
    finally:
        fresh.close()
        first.close()


def test_a_process_killed_right_after_submit_loses_nothing(url, tmp_path):
    """The submitting process dies (os._exit: no clean-up, no engine dispose)
    the moment submit returns; the operation and its audit row are there."""
    code = (
        "import os, sys\n"
        "from ksystui.store.queue import Actor, NewOp, Queue\n"
        f"q = Queue.open({url!r})\n"
        f"op = q.submit(NewOp('customerA', 'r7r3m116', 'verify', ['ksysmgr', 'verify', 'site', 'Austin'],"
        f" recovery_hosts=[{SNORLAX!r}]), Actor('alice', 'noc1', 'console-1'))\n"
        "print(op.id, flush=True)\n"
        "os._exit(0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    op_id = int(res.stdout.strip())
    q = Queue.open(url)
    try:
        op = q.get(op_id)
        assert op is not None and op.state == "queued" and op.tenant == "customerA"
        assert [e["action"] for e in q.export_audit()] == ["submit"] and q.verify_audit() == []
    finally:
        q.close()
