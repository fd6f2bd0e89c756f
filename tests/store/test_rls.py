"""Tenant isolation by PostgreSQL row-level security: under customerA's role,
raw SQL sees none of customerB's rows in any table, and all of customerA's."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import ksystui.store.queue_tables
import ksystui.store.service_tables
import ksystui.store.tables  # noqa: F401  (each registers its tables in SQLModel.metadata)
from ksystui.core.actor import Actor
from ksystui.core.events import KsysEvent
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Site, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.store.engine import StoreError, migrate, open_engine
from ksystui.store.feed import Feed
from ksystui.store.lease import LeaseStore, Member
from ksystui.store.queue import NewOp, Queue
from ksystui.store.repository import Store
from ksystui.store.rls import RlsError, grant_tenant, role_name, scram_verifier

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")

A, B = "customerA", "customerB"
NODES = {A: "nodeA", B: "nodeB"}
SHARED_HOST = "8f2a5f4e-0000-4000-8000-00000000a001"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_names = itertools.count()

# Tables with no tenant a tenant's role may still read (no tenant's data in them).
READABLE = {"alembic_version", "service_lease"}


@pytest.fixture
def url(pg_server) -> str:
    return pg_server.create_database(f"ksystui_rls_{next(_names)}")


def snapshot(tenant: str) -> NodeSnapshot:
    host_down = KsysEvent("HOST_FAILURE", "error", f"{tenant} host down", "2026-11-30T09:00:00Z", "h1", event_id="7")
    return NodeSnapshot(
        NODES[tenant], tenant, Flavour.ONPREM, 10,
        sections={"vm": Section("vm", (Vm(f"{tenant}_vm1", state="READY_TO_MOVE"),), T0),
                  "site": Section("site", (Site(f"{tenant}_site", "ACTIVE"),), T0),
                  "event": Section("event", (host_down,), T0)},
        health=NodeHealth(last_attempt=T0, last_success=T0, latency_ms=3.0),
        sequence=1,
    )


def populate(url: str) -> None:
    """Rows of both tenants in every table, written the way ksystui writes them."""
    store = Store.open(url)
    queue, feed, lease = Queue(store.engine), Feed(store.engine), LeaseStore(store.engine)
    try:
        store.sync_config([(A, 1, "gold"), (B, 2, "silver")], [(NODES[A], A, "onprem"), (NODES[B], B, "onprem")])
        me = "noc1:4242:beef"
        assert lease.take(me) == 1
        lease.heartbeat(Member(me, "noc1", 4242, "leader", T0, T0, 1, None))
        for tenant, node in NODES.items():
            # snapshot, event, alert and change rows, as the service publishes a poll
            published = feed.publish(snapshot(tenant))
            [alert] = published.new_alerts
            feed.publish(snapshot(tenant))  # the next poll, nothing changed: a poll_history row
            actor = Actor(f"op_{tenant}", "noc", f"console-{tenant}")
            assert feed.acknowledge(alert.id, actor, "seen")
            feed.request_refresh(node, tenant)
            op = queue.submit(NewOp(tenant, node, Op.VERIFY, ["ksysmgr", "verify", "site", "s"],
                                    recovery_hosts=[f"{SHARED_HOST[:-1]}{len(tenant)}{tenant[-1]}"]), actor)
            fence = queue.admit(op.id, actor.console, actor)
            assert fence is not None
            assert queue.mark_running(op.id, fence, actor)
            assert queue.add_progress(op.id, fence, f"{tenant}: verifying", actor)
            queue.heartbeat(actor.console, actor)
    finally:
        store.close()


def tables_of_the_schema() -> list[str]:
    return sorted([*SQLModel.metadata.tables, "alembic_version"])


def owner_sql(table: str, columns: set[str], tenant: str) -> str | None:
    """WHERE clause selecting ``tenant``'s rows of ``table`` (None: a table of no tenant)."""
    if table == "tenants":
        return f"name = '{tenant}'"
    if "tenant" in columns:
        return f"tenant = '{tenant}'"
    if "operation_id" in columns:
        return f"operation_id IN (SELECT id FROM operations WHERE tenant = '{tenant}')"
    return None


def counts(engine: sa.Engine, table: str, where: str | None) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")))
                   .scalar_one())


@pytest.fixture
def granted(url) -> Iterator[str]:
    engine = open_engine(url)
    migrate(engine)
    populate(url)
    first = grant_tenant(engine, A)
    again = grant_tenant(engine, A)  # idempotent: the same role and policies
    grant_tenant(engine, B)
    # roles belong to the server, not the database: only the first test's grant creates it
    assert not again.created and first.role == again.role == "ksystui_tenant_customera"
    assert set(first.tables) == set(again.tables) >= set(tables_of_the_schema())
    engine.dispose()
    yield url


def test_under_a_tenant_role_no_table_shows_another_tenants_rows(granted) -> None:
    admin = open_engine(granted)
    scoped = open_engine(granted, tenant_role=A)
    try:
        with scoped.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar_one() == role_name(A)
        columns = {t: {c.name for c in SQLModel.metadata.tables[t].columns} for t in SQLModel.metadata.tables}
        columns["alembic_version"] = {"version_num"}
        checked = []
        for table in tables_of_the_schema():
            mine, theirs = owner_sql(table, columns[table], A), owner_sql(table, columns[table], B)
            everything = counts(admin, table, None)
            assert everything > 0, f"{table}: the test wrote no row in it"
            if mine is None or theirs is None:
                expected = everything if table in READABLE else 0
                assert counts(scoped, table, None) == expected, table
            else:
                assert counts(admin, table, theirs) > 0 and counts(admin, table, mine) > 0, table
                assert counts(scoped, table, theirs) == 0, f"{table}: customerB's rows visible to customerA"
                assert counts(scoped, table, None) == counts(admin, table, mine), f"{table}: customerA's rows"
            checked.append(table)
        assert checked == tables_of_the_schema()
    finally:
        scoped.dispose()
        admin.dispose()


def test_a_tenant_role_reads_only(granted) -> None:
    scoped = open_engine(granted, tenant_role=A)
    try:
        for statement in ("DELETE FROM events", "UPDATE operations SET state = 'cancelled'",
                          "INSERT INTO tenants (name, priority, tier) VALUES ('customerA2', 1, 'gold')",
                          # global sequences would tell how much the other tenants did
                          "SELECT last_value FROM operations_id_seq", "SELECT last_value FROM changes_seq_seq"):
            with scoped.connect() as conn:
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text(statement))
    finally:
        scoped.dispose()


def test_the_queue_and_store_read_through_the_role(granted) -> None:
    scoped = open_engine(granted, tenant_role=A)
    try:
        assert migrate(scoped)  # a console migrates on start: at head, it reads the revision only
        assert {op.tenant for op in Queue(scoped).operations()} == {A}
        assert set(Store(scoped).load_snapshots()) == {NODES[A]}
    finally:
        scoped.dispose()


def test_a_tenant_name_with_quotes_colons_and_percents_is_a_literal(granted) -> None:
    odd = "O'Brien: 50% DR"
    engine = open_engine(granted)
    try:
        assert grant_tenant(engine, odd).role == "ksystui_tenant_o_brien__50__dr"
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO tenants (name, priority, tier) VALUES (:n, 9, 'bronze')"), {"n": odd})
    finally:
        engine.dispose()
    scoped = open_engine(granted, tenant_role=odd)
    try:
        assert counts(scoped, "tenants", None) == 1 and counts(scoped, "operations", None) == 0
    finally:
        scoped.dispose()


def test_a_missing_role_names_the_command_that_makes_it(url) -> None:
    engine = open_engine(url, tenant_role="customerC")
    try:
        with pytest.raises(StoreError) as caught:
            engine.connect().close()
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "\n" not in message and "ksystui_tenant_customerc does not exist" in message
    assert "`ksystui db grant-tenant customerC`" in message


def test_sqlite_is_refused_plainly(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'k.db'}")
    with pytest.raises(RlsError, match="only what the console shows"):
        grant_tenant(engine, A)
    with pytest.raises(StoreError, match="needs PostgreSQL"):
        open_engine(f"sqlite:///{tmp_path / 'k.db'}", tenant_role=A)


def test_a_role_with_a_password_logs_in_with_it_only(pg_server, granted) -> None:
    engine = open_engine(granted)
    try:
        done = grant_tenant(engine, A, password="s3cret-A")
    finally:
        engine.dispose()
    assert done.login
    database = granted.rsplit("/", 1)[1]
    pg_server.require_password(done.role, database)

    def login(password: str) -> int:
        with psycopg.connect(host="127.0.0.1", port=pg_server.port, user=done.role, dbname=database,
                             password=password, connect_timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM operations").fetchone()[0])

    assert login("s3cret-A") == 1  # its own operation only
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        login("wrong")


def test_role_names_and_the_scram_verifier() -> None:
    assert role_name("customerA") == "ksystui_tenant_customera"
    assert role_name("Acme Corp.-EU") == "ksystui_tenant_acme_corp__eu"
    long = role_name("x" * 100)
    assert len(long) == 63 and long != role_name("x" * 101)
    verifier = scram_verifier("pencil", salt=b"\x00" * 16)
    head, keys = verifier.split("$", 1)[1].split("$")
    assert verifier.startswith("SCRAM-SHA-256$4096:") and head == "4096:AAAAAAAAAAAAAAAAAAAAAA=="
    assert len(keys.split(":")) == 2
