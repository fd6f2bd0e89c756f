"""The same queue on PostgreSQL (several consoles, one arbiter): the
migration, exclusivity by the database across engines, fencing, audit."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ksystui.core.lifecycle import Op
from ksystui.store import history_tables, queue_tables, service_tables, tables
from ksystui.store.engine import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    open_engine,
    read_connection,
)
from ksystui.store.queue import Actor, NewOp, Queue
from tests.store import pg
from tests.store.migration_0003 import check_upgrade_backfills_and_downgrade_keeps_rows
from tests.store.migration_0004 import (
    check_upgrade_rewrites_identities_and_downgrade_keeps_the_first,
)
from tests.store.threads import race

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"
ALICE = Actor("alice", "noc1", "console-1")
BOB = Actor("bob", "noc2", "console-2")
_names = itertools.count()


@pytest.fixture
def url(pg_server) -> str:
    return pg_server.create_database(f"ksystui_test_{next(_names)}")


@pytest.fixture
def consoles(url):
    first = Queue.open(url)
    second = Queue(open_engine(url))
    yield first, second
    first.close()
    second.close()


def verify(tenant: str, node: str) -> NewOp:
    return NewOp(tenant, node, Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"], recovery_hosts=[SNORLAX])




def test_the_migration_runs_on_postgresql_and_agrees_with_the_models(url):
    engine = open_engine(url)
    try:
        assert migrate(engine) == head_revision() == current_revision(engine)
        assert migrate(engine) == head_revision()  # again: nothing to do
        md = sa.MetaData()
        for name in (*tables.TABLES, *queue_tables.TABLES, *service_tables.TABLES, *history_tables.TABLES):
            tables.metadata.tables[name].to_metadata(md)
        with read_connection(engine) as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, md) == []
            ddl = dict(conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes").all())
        assert ddl["uq_claims_held_resource"].endswith("USING btree (resource) WHERE held")
        assert "raised DESC" in ddl["ix_operations_waiting"]
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert "claims" not in sa.inspect(engine).get_table_names()
        assert migrate(engine) == head_revision()
    finally:
        engine.dispose()


def test_0003_backfills_existing_operations_and_downgrades_on_postgresql(url):
    engine = open_engine(url)
    try:
        check_upgrade_backfills_and_downgrade_keeps_rows(engine)
    finally:
        engine.dispose()


def test_two_engines_admitting_conflicting_operations_exactly_one_wins(consoles):
    one, two = consoles
    for round_ in range(15):
        a = one.submit(verify("customerA", f"a{round_}"), ALICE)
        b = two.submit(verify("customerB", f"b{round_}"), BOB)
        fences = race(lambda a=a: one.admit(a.id, "console-1", ALICE), lambda b=b: two.admit(b.id, "console-2", BOB))
        winners = [f for f in fences if f is not None]
        assert len(winners) == 1, fences
        winner, loser = (a, b) if fences[0] is not None else (b, a)
        assert one.get(loser.id).state == "queued"
        assert one.finish(winner.id, winners[0], "succeeded", 0, "ok", "", ALICE)
        assert two.cancel(loser.id, BOB, "next round")
    assert one.verify_audit() == []


def test_the_index_alone_refuses_a_second_holder_even_between_open_transactions(consoles, url):
    """No code of ours involved: two raw transactions each insert a held claim
    on snorlax. The second waits for the first, then is refused."""
    one, _two = consoles
    a = one.submit(verify("customerA", "r7r3m116"), ALICE)
    b = one.submit(verify("customerB", "r7r3m200"), BOB)
    dsn = dict(host="127.0.0.1", port=sa.make_url(url).port, user=pg.SUPERUSER, dbname=sa.make_url(url).database)
    insert = "INSERT INTO claims (operation_id, resource, fence, held) VALUES (%s, %s, %s, true)"
    with psycopg.connect(**dsn) as first, psycopg.connect(**dsn) as second:
        first.execute(insert, (a.id, f"host:{SNORLAX}", 100))
        outcome: list = []

        def blocked_insert():
            try:
                second.execute(insert, (b.id, f"host:{SNORLAX}", 101))
                second.commit()
                outcome.append("committed")
            except psycopg.errors.UniqueViolation as exc:
                second.rollback()
                outcome.append(exc.diag.constraint_name)

        t = threading.Thread(target=blocked_insert)
        t.start()
        t.join(0.5)
        assert t.is_alive() and outcome == []  # waiting on the first transaction's row
        first.commit()
        t.join(10)
        assert outcome == ["uq_claims_held_resource"]
    assert one.admit(b.id, "console-2", BOB) is None  # and the queue sees the same
    with pytest.raises(sa.exc.IntegrityError, match="uq_claims_held_resource"), one.engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO claims (operation_id, resource, fence, held) "
                             f"VALUES ({b.id}, 'host:{SNORLAX}', 102, true)")


def test_many_submissions_from_two_engines_get_distinct_arrivals_and_a_whole_chain(consoles):
    one, two = consoles

    def submit_many(q, actor, tenant):
        return [q.submit(verify(tenant, f"{tenant}-{i}"), actor).arrival for i in range(15)]

    arrivals = race(lambda: submit_many(one, ALICE, "customerA"), lambda: submit_many(two, BOB, "customerB"))
    assert sorted(arrivals[0] + arrivals[1]) == list(range(1, 31))
    assert one.verify_audit() == [] and one.audit.head()[0] == 30


def test_lifecycle_fencing_and_audit_verify_on_postgresql(consoles, url):
    one, two = consoles
    a = one.submit(verify("customerA", "r7r3m116"), ALICE)
    fence = one.admit(a.id, "console-1", ALICE)
    assert not two.mark_running(a.id, fence + 1, BOB)
    assert one.mark_running(a.id, fence, ALICE)
    assert one.add_progress(a.id, fence, "Verification has started", ALICE, milestone=True)
    assert one.finish(a.id, fence, "in_doubt", None, "connection lost", "", ALICE)
    assert two.admit(two.submit(verify("customerB", "r7r3m200"), BOB).id, "console-2", BOB) is None
    assert two.resolve(a.id, "succeeded", BOB, "the HMC shows it verified")
    one.heartbeat("console-1", ALICE)
    assert [d.console_id for d in two.dispatchers(alive_within=60)] == ["console-1"]
    assert one.verify_audit() == []
    assert [e["action"] for e in one.export_audit("customerA")] == ["submit", "admit", "refused", "start",
                                                                    "progress", "finish", "resolve"]
    with one.engine.begin() as conn:  # an intruder edits one row
        conn.exec_driver_sql("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    problems = one.verify_audit()
    assert any(p.seq == 3 and p.row_id == 3 for p in problems)


def test_0004_rewrites_event_identities_and_downgrades_on_postgresql(url):
    engine = open_engine(url)
    try:
        check_upgrade_rewrites_identities_and_downgrade_keeps_the_first(engine)
    finally:
        engine.dispose()
