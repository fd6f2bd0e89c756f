"""The arbiter's queue in the store: schema, state machine, fencing, claims."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ksystui.core.arbitration import ordered
from ksystui.core.lifecycle import Op
from ksystui.store import queue_tables, tables
from ksystui.store.audit_log import SecretRefused
from ksystui.store.engine import head_revision, read_connection
from ksystui.store.queue import Actor, NewOp, OpState, Queue
from ksystui.store.queue_async import AsyncQueue
from tests.store.schema_tables import STORE_TABLES

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"  # a shared recovery host (CEC UUID)
PIKACHU = "8f2a5f4e-0000-4000-8000-00000000a002"
ALICE = Actor("alice", "noc1", "console-1")
BOB = Actor("bob", "noc2", "console-2")


def verify_op(tenant: str = "customerA", node: str = "r7r3m116", hosts=(SNORLAX,), **kw) -> NewOp:
    return NewOp(tenant=tenant, node=node, op=kw.pop("op", Op.VERIFY), argv=kw.pop("argv", ["ksysmgr", "-t", "verify",
                 "site", "Austin"]), recovery_hosts=hosts, host_names=kw.pop("host_names", ("snorlax",)), **kw)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ks.db"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def q(db: Path, clock: Clock):
    queue = Queue.open(f"sqlite:///{db}", clock=clock)
    yield queue
    queue.close()


def actions(q: Queue) -> list[tuple[str, int | None]]:
    return [(e["action"], e["operation"]) for e in q.export_audit()]


def snapshot(q: Queue) -> dict:
    """Everything a fenced call could change."""
    with read_connection(q.engine) as conn:
        return {t: conn.execute(sa.select(queue_tables.__dict__[t]).order_by(*queue_tables.__dict__[t].primary_key))
                .all() for t in ("operations", "claims", "progress", "audit", "audit_head", "fence_counter")}


def only_refusals_since(q: Queue, before: dict) -> list:
    """Nothing changed since ``before`` but audit rows, and those are all
    refusals; returns them."""
    after = snapshot(q)
    added = after["audit"][len(before["audit"]):]
    assert after["audit"][:len(before["audit"])] == before["audit"]
    assert {k: v for k, v in after.items() if not k.startswith("audit")} == \
        {k: v for k, v in before.items() if not k.startswith("audit")}
    assert all(r.action == "refused" for r in added)
    return added


def held(q: Queue) -> list[tuple[str, int, int]]:
    with read_connection(q.engine) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT resource, operation_id, fence FROM claims WHERE held ORDER BY resource")).all()]


# --- schema ----------------------------------------------------------------------------------
def test_the_migration_makes_what_queue_tables_describes(q):
    assert head_revision() >= "0004"
    md = sa.MetaData()
    for name in STORE_TABLES:
        tables.metadata.tables[name].to_metadata(md)
    with read_connection(q.engine) as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(ctx, md) == []
        ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
        assert conn.exec_driver_sql("SELECT id, value FROM fence_counter").all() == [(1, 0)]
        assert conn.exec_driver_sql("SELECT id, last_seq, last_hash FROM audit_head").all() == [(1, 0, "0" * 64)]
    assert ddl["uq_claims_held_resource"] == "CREATE UNIQUE INDEX uq_claims_held_resource ON claims (resource) WHERE held"
    assert "(state, raised DESC, class_rank, priority, arrival, id)" in ddl["ix_operations_waiting"]


def test_the_database_refuses_a_second_held_claim_on_a_resource(q, db):
    """Exclusivity is the index's: a raw INSERT, bypassing every line of our
    code, cannot hold a held resource twice — but released history can repeat."""
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)
    fence = q.admit(a.id, "console-1", ALICE)
    assert fence is not None
    with pytest.raises(sa.exc.IntegrityError, match="UNIQUE constraint failed: claims.resource"), \
            q.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO claims (operation_id, resource, fence, held) "
                             f"VALUES ({b.id}, 'host:{SNORLAX}', 99, 1)")
    raw = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            raw.execute("INSERT INTO claims (operation_id, resource, fence, held) VALUES (?, ?, 99, 1)",
                        (b.id, f"host:{SNORLAX}"))
        raw.execute("INSERT INTO claims (operation_id, resource, fence, held) VALUES (?, ?, 99, 0)",
                    (b.id, f"host:{SNORLAX}"))  # not held: history, allowed
        raw.rollback()
    finally:
        raw.close()
    assert held(q) == [(f"host:{SNORLAX}", a.id, fence), ("node:r7r3m116", a.id, fence)]


def test_without_the_index_nothing_in_the_code_would_stop_a_second_holder(q):
    """Guard for the test above: the code does not look before it inserts, so
    it is the index alone that keeps admission exclusive."""
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)
    with q.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX uq_claims_held_resource")
    assert q.admit(a.id, "console-1", ALICE) == 1
    assert q.admit(b.id, "console-2", BOB) == 2  # both hold snorlax: what the index prevents


# --- submit and read ---------------------------------------------------------------------------
def test_submit_keeps_everything_assigns_arrival_and_audits(q, clock):
    first = q.submit(verify_op(priority=2, site="Austin", confirmed=True), ALICE)
    second = q.submit(verify_op("customerB", "r7r3m200", hosts=(SNORLAX, PIKACHU, SNORLAX)), BOB)
    assert (first.arrival, second.arrival) == (1, 2)
    assert first.state is OpState.QUEUED and first.state == "queued"
    assert first.op is Op.VERIFY and first.argv == ("ksysmgr", "-t", "verify", "site", "Austin")
    assert first.recovery_hosts == (SNORLAX,) and first.host_names == ("snorlax",)
    assert (first.priority, first.confirmed, first.site, first.raised, first.fence, first.holder) == (
        2, True, "Austin", 0, None, None)
    assert first.submitted_by == "alice@noc1/console-1" and first.submitted_at == clock.now
    assert second.recovery_hosts == (SNORLAX, PIKACHU)  # de-duplicated
    assert q.get(first.id) == first and q.get(999) is None
    assert actions(q) == [("submit", first.id), ("submit", second.id)]
    entry = q.export_audit()[0]
    assert entry["detail"]["argv"] == list(first.argv) and entry["actor"] == "alice@noc1/console-1"


def test_claims_follow_the_arbitration_rules(q):
    verify = q.submit(verify_op(hosts=(SNORLAX, PIKACHU)), ALICE)
    discover = q.submit(NewOp("customerA", "r7r3m116", Op.DISCOVER, ["ksysmgr", "discover", "site", "Austin"]), ALICE)
    with_verify = q.submit(NewOp("customerB", "r7r3m200", "discover",
                                 ["ksysmgr", "discover", "site", "Dallas", "verify=yes"], recovery_hosts=[SNORLAX],
                                 on_recovery_hosts=True),
                           BOB)
    assert verify.claims() == (f"host:{SNORLAX}", f"host:{PIKACHU}", "node:r7r3m116")
    assert discover.claims() == ("node:r7r3m116",)
    assert with_verify.claims() == (f"host:{SNORLAX}", "node:r7r3m200")
    assert (verify.on_recovery_hosts, discover.on_recovery_hosts, with_verify.on_recovery_hosts) == (True, False, True)
    assert q.export_audit()[-1]["detail"]["on_recovery_hosts"] is True


def test_what_an_operation_works_on_is_the_planners_word_not_its_command_line(q):
    """The store keeps the decision it is given; it reads nothing back from
    the argv (a discover whose argv says verify=yes but was planned without
    the recovery hosts claims only its node)."""
    told = q.submit(NewOp("customerB", "r7r3m200", Op.DISCOVER,
                          ["ksysmgr", "discover", "site", "Dallas", "verify=yes"], recovery_hosts=[SNORLAX],
                          on_recovery_hosts=False), BOB)
    assert told.claims() == ("node:r7r3m200",) and q.get(told.id).on_recovery_hosts is False
    fence = q.admit(told.id, "c", BOB)
    assert fence is not None and held(q) == [("node:r7r3m200", told.id, fence)]


def test_submit_refuses_what_it_cannot_arbitrate_or_must_not_store(q):
    with pytest.raises(ValueError, match="not an operation"):
        q.submit(verify_op(op="reboot"), ALICE)
    with pytest.raises(ValueError, match="works on recovery hosts"):
        q.submit(verify_op(hosts=()), ALICE)
    with pytest.raises(ValueError, match="argv"):
        q.submit(verify_op(argv=[]), ALICE)
    with pytest.raises(SecretRefused):
        q.submit(verify_op(argv=["ksysmgr", "add", "hmc", "h1", "login=hscroot", "password=abc123"]), ALICE)
    with pytest.raises(ValueError, match="pair_id 42"):
        q.submit(verify_op(pair_id=42), ALICE)
    assert q.operations() == [] and q.export_audit() == []


def test_waiting_is_in_arbitration_order(q):
    subs = [
        verify_op("t1", "n1", priority=3),
        NewOp("t2", "n2", Op.DISCOVER, ["ksysmgr", "discover", "site", "A"], priority=1),
        NewOp("t3", "n3", Op.MOVE_UNPLANNED, ["ksysmgr", "move", "site", "from=A", "to=B", "dr_type=unplanned"],
              recovery_hosts=[PIKACHU], priority=5),
        verify_op("t4", "n4", priority=1),
        NewOp("t5", "n5", Op.DR_TEST, ["ksysmgr", "move", "site", "from=A", "to=B", "dr_test=yes"],
              recovery_hosts=[SNORLAX], priority=1),
        verify_op("t6", "n6", priority=1),
    ]
    ids = [q.submit(s, ALICE).id for s in subs]
    assert q.raise_priority(ids[5], BOB, "customer t6's contract review is in an hour")
    waiting = q.waiting()
    assert [o.id for o in waiting] == [r.id for r in ordered(o.to_request() for o in waiting)]
    assert [o.id for o in waiting] == [ids[5], ids[2], ids[3], ids[0], ids[4], ids[1]]


def test_list_filters_and_keeps_the_newest(q):
    ids = [q.submit(verify_op(f"t{i % 2}", f"n{i}"), ALICE).id for i in range(5)]
    assert q.cancel(ids[1], ALICE, "duplicate")
    assert [o.id for o in q.operations()] == ids
    assert [o.id for o in q.operations(tenant="t1")] == [ids[1], ids[3]]
    assert [o.id for o in q.operations(states=["cancelled"])] == [ids[1]]
    assert [o.id for o in q.operations(limit=2)] == ids[-2:]



def test_a_reader_asks_for_kinds_recent_ends_or_only_ids(q, clock):
    ids = [q.submit(verify_op(f"t{i % 2}", f"n{i}"), ALICE).id for i in range(4)]
    drill = q.submit(verify_op("t0", "n9", op=Op.DR_TEST, argv=["ksysmgr", "move"]), ALICE).id
    assert q.cancel(ids[0], ALICE, "an hour ago")
    clock.advance(hours=2)
    assert q.cancel(ids[2], ALICE, "now")
    assert [o.id for o in q.operations(finished_since=clock.now - timedelta(hours=1))] == [ids[2]]
    assert [o.id for o in q.operations(kinds=[Op.DR_TEST, "dr-test-cleanup"])] == [drill]
    assert [o.id for o in q.operations(tenant="t0", kinds=[Op.VERIFY], limit=1)] == [ids[2]]
    assert q.operation_ids() == [*ids, drill] and q.operation_ids("t1") == [ids[1], ids[3]]


# --- the state machine ----------------------------------------------------------------------------
def test_submit_admit_run_progress_finish(q, clock):
    op = q.submit(verify_op(), ALICE)
    clock.advance(seconds=5)
    fence = q.admit(op.id, "console-1", ALICE)
    assert fence == 1
    admitted = q.get(op.id)
    assert (admitted.state, admitted.fence, admitted.holder, admitted.admitted_at) == (
        "admitted", 1, "console-1", clock.now)
    assert held(q) == [(f"host:{SNORLAX}", op.id, 1), ("node:r7r3m116", op.id, 1)]
    assert [o.id for o in q.active()] == [op.id] and q.waiting() == []
    clock.advance(seconds=1)
    assert q.mark_running(op.id, fence, ALICE)
    assert q.get(op.id).state == "running" and q.get(op.id).started_at == clock.now
    assert q.add_progress(op.id, fence, "Verification has started for site Austin", ALICE, milestone=True)
    assert q.add_progress(op.id, fence, "  vm1 verified", ALICE)
    clock.advance(seconds=94)
    assert q.finish(op.id, fence, "succeeded", 0, "exit 0", "  vm1 verified", ALICE)
    done = q.get(op.id)
    assert (done.state, done.rc, done.outcome, done.output_tail, done.finished_at) == (
        "succeeded", 0, "exit 0", "  vm1 verified", clock.now)
    assert held(q) == [] and q.active() == []
    assert q.progress(op.id) == ["Verification has started for site Austin", "  vm1 verified"]
    assert q.durations("verify", "r7r3m116") == [94.0]
    assert actions(q) == [("submit", op.id), ("admit", op.id), ("start", op.id), ("progress", op.id),
                          ("finish", op.id)]
    assert q.verify_audit() == []


def test_admit_only_from_queued_and_only_once(q):
    op = q.submit(verify_op(), ALICE)
    assert q.admit(op.id, "console-1", ALICE) == 1
    assert q.admit(op.id, "console-2", BOB) is None
    assert q.admit(12345, "console-2", BOB) is None
    assert q.get(op.id).holder == "console-1"


def test_a_conflicting_admit_gets_none_and_changes_nothing(q):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)  # same recovery host
    other = q.submit(verify_op("customerC", "r7r3m300", hosts=(PIKACHU,)), BOB)
    assert q.admit(a.id, "console-1", ALICE) == 1
    before = snapshot(q)
    assert q.admit(b.id, "console-2", BOB) is None
    assert snapshot(q) == before  # not even the fence counter moved
    assert q.admit(other.id, "console-2", BOB) == 2  # unrelated host: admitted at once
    assert q.finish(a.id, 1, "failed", 3, "exit 3", "", ALICE)
    assert q.admit(b.id, "console-2", BOB) == 3


def test_cancel_only_queued(q):
    op = q.submit(verify_op(), ALICE)
    running = q.submit(verify_op("customerB", "r7r3m200", hosts=(PIKACHU,)), BOB)
    fence = q.admit(running.id, "console-2", BOB)
    assert q.cancel(op.id, ALICE, "wrong site")
    assert q.get(op.id).state == "cancelled" and "wrong site" in q.get(op.id).outcome
    assert not q.cancel(op.id, ALICE)
    assert not q.cancel(running.id, ALICE)
    assert q.mark_running(running.id, fence, BOB) and not q.cancel(running.id, ALICE)
    assert [a for a in actions(q) if a[0] == "cancel"] == [("cancel", op.id)]
    assert q.export_audit()[-2]["detail"]["reason"] == "wrong site"


def test_raising_needs_a_written_reason(q):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)
    for reason in ("", "   ", None):
        with pytest.raises(ValueError, match="reason"):
            q.raise_priority(b.id, ALICE, reason)  # type: ignore[arg-type]
    assert q.get(b.id).raised == 0 and len(q.export_audit()) == 2
    assert q.raise_priority(b.id, ALICE, "customer B's SLA breach review")
    assert q.raise_priority(a.id, ALICE, "A's auditors are on site") and q.get(a.id).raised == 2
    assert q.raise_priority(b.id, BOB, "B again") and q.get(b.id).raised == 3
    assert [o.id for o in q.waiting()] == [b.id, a.id]
    assert q.get(b.id).raise_reason == "B again"
    last = q.export_audit()[-1]
    assert (last["action"], last["detail"]) == ("raise", {"raised": 3, "reason": "B again"})
    q.admit(b.id, "console-1", ALICE)
    assert not q.raise_priority(b.id, ALICE, "too late: admitted")


def test_requeue_releases_and_keeps_the_place(q):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)
    fence = q.admit(a.id, "console-1", ALICE)
    assert not q.requeue(a.id, fence + 1, "wrong fence", ALICE)
    assert q.requeue(a.id, fence, "node unreachable before sending", ALICE)
    back = q.get(a.id)
    assert (back.state, back.fence, back.holder, back.admitted_at, back.arrival) == ("queued", None, None, None, 1)
    assert held(q) == []
    assert [o.id for o in q.waiting()] == [a.id, b.id]
    again = q.admit(a.id, "console-2", BOB)
    assert again == fence + 1
    assert q.mark_running(a.id, again, BOB)
    assert not q.requeue(a.id, again, "started already", BOB)  # only admitted, never started


def test_finish_in_doubt_keeps_the_claims_until_an_operator_resolves(q):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)
    fence = q.admit(a.id, "console-1", ALICE)
    q.mark_running(a.id, fence, ALICE)
    assert q.finish(a.id, fence, "in_doubt", None, "connection lost mid-command", "", ALICE)
    assert q.get(a.id).state == "in_doubt"
    assert [r[0] for r in held(q)] == [f"host:{SNORLAX}", "node:r7r3m116"]
    assert [o.id for o in q.holding()] == [a.id] and q.active() == []
    assert q.admit(b.id, "console-2", BOB) is None  # the host stays taken
    assert not q.finish(a.id, fence, "succeeded", 0, "", "", ALICE)  # only an operator settles it now
    with pytest.raises(ValueError, match="reason"):
        q.resolve(a.id, "succeeded", BOB, " ")
    with pytest.raises(ValueError):
        q.resolve(a.id, "running", BOB, "nope")
    assert q.resolve(a.id, "succeeded", BOB, "checked on the HMC: all VMs verified")
    settled = q.get(a.id)
    assert settled.state == "succeeded" and "checked on the HMC" in settled.outcome
    assert "connection lost" in settled.outcome and held(q) == []
    assert not q.resolve(a.id, "failed", BOB, "twice")
    assert q.admit(b.id, "console-2", BOB) is not None
    entry = [e for e in q.export_audit() if e["action"] == "resolve"][0]
    assert entry["actor"] == "bob@noc2/console-2"
    assert entry["detail"]["reason"] == "checked on the HMC: all VMs verified"
    assert entry["detail"]["from"] == "in_doubt" and len(entry["detail"]["released"]) == 2


def test_resolve_settles_an_orphan_and_not_a_queued_op(q):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200", hosts=(PIKACHU,)), BOB)
    fence = q.admit(a.id, "console-1", ALICE)
    assert q.mark_running(a.id, fence, ALICE)
    assert not q.resolve(b.id, "cancelled", BOB, "queued ones are cancelled, not resolved")
    assert q.resolve(a.id, "cancelled", BOB, "console-1's machine died before sending")
    assert q.get(a.id).state == "cancelled" and held(q) == []


@pytest.mark.parametrize("call", ["mark_running", "add_progress", "finish", "requeue"])
def test_a_wrong_fence_returns_false_and_changes_nothing(q, call):
    op = q.submit(verify_op(), ALICE)
    fence = q.admit(op.id, "console-1", ALICE)
    if call in ("add_progress", "finish"):
        q.mark_running(op.id, fence, ALICE)
    before = snapshot(q)
    for wrong in (fence - 1, fence + 1):
        args = {
            "mark_running": (op.id, wrong, BOB),
            "add_progress": (op.id, wrong, "forged line", BOB, True),
            "finish": (op.id, wrong, "succeeded", 0, "forged", "", BOB),
            "requeue": (op.id, wrong, "forged", BOB),
        }[call]
        assert getattr(q, call)(*args) is False
    refusals = only_refusals_since(q, before)
    # who tried is recorded (not every forged progress line: the finish under it is refused too)
    if call == "add_progress":
        assert refusals == []
    else:
        assert [(r.action, r.actor, json.loads(r.detail)["attempted"]) for r in refusals] == \
            [("refused", str(BOB), call_action(call))] * 2
        assert json.loads(refusals[0].detail)["current_fence"] == fence


def call_action(call: str) -> str:
    return {"mark_running": "start", "finish": "finish", "requeue": "requeue"}[call]


def test_a_console_that_lost_its_hold_cannot_complete_fail_or_release_it(q):
    op = q.submit(verify_op(), ALICE)
    old = q.admit(op.id, "console-1", ALICE)
    # console-1 pauses; a reconciler sees it gone and requeues; console-2 admits again
    assert q.requeue(op.id, old, "console-1 is gone; never sent", BOB)
    new = q.admit(op.id, "console-2", BOB)
    assert new > old
    before = snapshot(q)
    assert not q.mark_running(op.id, old, ALICE)
    assert not q.add_progress(op.id, old, "stale line", ALICE)
    assert not q.finish(op.id, old, "failed", 1, "stale", "", ALICE)
    assert not q.requeue(op.id, old, "stale", ALICE)
    refusals = only_refusals_since(q, before)
    assert [json.loads(r.detail)["attempted"] for r in refusals] == ["start", "finish", "requeue"]
    assert {json.loads(r.detail)["holder"] for r in refusals} == {"console-2"}
    # an operator resolves it: the holder's own fence no longer completes it either
    assert q.mark_running(op.id, new, BOB)
    assert q.resolve(op.id, "failed", ALICE, "operator stopped it on the HMC")
    assert not q.finish(op.id, new, "succeeded", 0, "late", "", BOB)
    assert not q.add_progress(op.id, new, "late line", BOB)
    assert q.get(op.id).state == "failed" and held(q) == []


def test_no_hold_is_released_because_time_passed(q, clock):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200"), BOB)
    q.heartbeat("console-1", ALICE)
    fence = q.admit(a.id, "console-1", ALICE)
    q.mark_running(a.id, fence, ALICE)
    assert q.orphans(alive_within=30) == []
    clock.advance(hours=4)  # a four-hour move; console-1 went silent long ago
    assert [o.id for o in q.orphans(alive_within=30)] == [a.id]
    assert q.get(a.id).state == "running" and len(held(q)) == 2  # reported, not released
    assert q.admit(b.id, "console-2", BOB) is None
    clock.advance(days=-3)  # and a clock jumping back releases nothing either
    assert q.admit(b.id, "console-2", BOB) is None
    assert q.finish(a.id, fence, "succeeded", 0, "exit 0", "", ALICE)  # the holder still may


def test_heartbeats_dispatchers_and_orphans(q, clock):
    a = q.submit(verify_op(), ALICE)
    b = q.submit(verify_op("customerB", "r7r3m200", hosts=(PIKACHU,)), BOB)
    c = q.submit(verify_op("customerC", "r7r3m300", hosts=("cec-3",)), BOB)
    q.heartbeat("console-1", ALICE)
    q.heartbeat("console-2", BOB)
    q.admit(a.id, "console-1", ALICE)
    q.admit(b.id, "console-2", BOB)
    q.admit(c.id, "console-9", BOB)  # never heartbeated
    first = q.dispatchers(alive_within=30)
    assert [(d.console_id, d.user, d.host) for d in first] == [("console-1", "alice", "noc1"),
                                                               ("console-2", "bob", "noc2")]
    started = first[0].started_at
    clock.advance(seconds=20)
    q.heartbeat("console-2", BOB)
    clock.advance(seconds=20)
    assert [d.console_id for d in q.dispatchers(alive_within=30)] == ["console-2"]
    assert [o.id for o in q.orphans(alive_within=30)] == [a.id, c.id]
    q.heartbeat("console-1", ALICE)
    again = {d.console_id: d for d in q.dispatchers(alive_within=30)}
    assert again["console-1"].started_at == started and again["console-1"].last_seen == clock.now
    assert [o.id for o in q.orphans(alive_within=30)] == [c.id]
    assert actions(q).count(("heartbeat", None)) == 0  # heartbeats are not transitions


def test_durations_newest_last(q, clock):
    for minutes in (3, 5, 8, 13):
        op = q.submit(verify_op(), ALICE)
        fence = q.admit(op.id, "c", ALICE)
        q.mark_running(op.id, fence, ALICE)
        clock.advance(minutes=minutes)
        q.finish(op.id, fence, "succeeded", 0, "ok", "", ALICE)
    failed = q.submit(verify_op(), ALICE)
    fence = q.admit(failed.id, "c", ALICE)
    q.mark_running(failed.id, fence, ALICE)
    q.finish(failed.id, fence, "failed", 1, "exit 1", "", ALICE)
    assert q.durations("verify", "r7r3m116") == [180.0, 300.0, 480.0, 780.0]
    assert q.durations("verify", "r7r3m116", limit=2) == [480.0, 780.0]
    assert q.durations("move", "r7r3m116") == [] and q.durations("verify", "elsewhere") == []


def test_a_dr_test_and_its_cleanup_point_at_each_other(q):
    test = q.submit(NewOp("customerA", "r7r3m116", Op.DR_TEST, ["ksysmgr", "move", "site", "from=A", "to=B",
                                                               "dr_test=yes"], recovery_hosts=[SNORLAX]), ALICE)
    cleanup = q.submit(NewOp("customerA", "r7r3m116", Op.DR_TEST_CLEANUP, ["ksysmgr", "cleanup", "site", "A",
                                                                          "dr_test=yes"], recovery_hosts=[SNORLAX],
                             pair_id=test.id), ALICE)
    assert cleanup.pair_id == test.id and q.get(test.id).pair_id == cleanup.id


def test_progress_lines_that_look_secret_are_redacted(q):
    op = q.submit(verify_op(), ALICE)
    fence = q.admit(op.id, "c", ALICE)
    q.mark_running(op.id, fence, ALICE)
    assert q.add_progress(op.id, fence, "HMC h1 login ok password=hunter2", ALICE, milestone=True)
    assert q.progress(op.id) == ["HMC h1 login ok password=[redacted]"]
    assert "hunter2" not in str(q.export_audit())


async def test_the_async_facade_runs_the_same_calls(db):
    aq = await AsyncQueue.open(f"sqlite:///{db}")
    try:
        op = await aq.submit(verify_op(), ALICE)
        fence = await aq.admit(op.id, "console-1", ALICE)
        assert await aq.mark_running(op.id, fence, ALICE)
        assert await aq.add_progress(op.id, fence, "started", ALICE, milestone=True)
        assert await aq.finish(op.id, fence, "succeeded", 0, "exit 0", "", ALICE)
        await aq.heartbeat("console-1", ALICE)
        assert [d.console_id for d in await aq.dispatchers(60)] == ["console-1"]
        assert (await aq.get(op.id)).state == "succeeded"
        assert await aq.progress(op.id) == ["started"]
        assert await aq.operations(states=["succeeded"]) == [await aq.get(op.id)]
        assert await aq.verify_audit() == []
        assert [e["action"] for e in await aq.export_audit("customerA")] == ["submit", "admit", "start",
                                                                             "progress", "finish"]
    finally:
        await aq.close()


def test_recent_audit_is_newest_first_limited_and_scoped(q):
    q.submit(verify_op(), ALICE)
    q.submit(verify_op("customerB", "r7r3m200", hosts=(PIKACHU,)), BOB)
    q.record(ALICE, "note", detail={"text": "no tenant"})
    assert [e["seq"] for e in q.recent_audit(2)] == [3, 2]
    assert [(e["seq"], e["tenant"]) for e in q.recent_audit(10, "customerA")] == [(1, "customerA")]
    assert q.recent_audit(10) == list(reversed(q.export_audit()))
