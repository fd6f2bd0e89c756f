"""The schema comes from the alembic migrations, and agrees with tables.py."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ksystui.store import tables
from ksystui.store.engine import (
    SchemaTooNewError,
    StoreError,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    open_engine,
    read_connection,
)
from tests.store.migration_0003 import check_upgrade_backfills_and_downgrade_keeps_rows
from tests.store.migration_0004 import (
    check_upgrade_rewrites_identities_and_downgrade_keeps_the_first,
)
from tests.store.schema_tables import STORE_TABLES

EXPECTED = {*STORE_TABLES, "alembic_version"}


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ks.db'}"


@pytest.fixture
def engine(url):
    eng = open_engine(url)
    yield eng
    eng.dispose()


def _store_tables() -> sa.MetaData:
    """tables.py's tables only (SQLModel's metadata is shared with any other
    SQLModel table that may be imported in the process)."""
    md = sa.MetaData()
    for name in STORE_TABLES:
        tables.metadata.tables[name].to_metadata(md)
    return md


def _diff(engine: sa.Engine, metadata: sa.MetaData) -> list:
    with read_connection(engine) as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(ctx, metadata)


def test_migrate_on_an_empty_database_makes_exactly_the_store_tables(engine):
    assert sa.inspect(engine).get_table_names() == []
    assert current_revision(engine) is None
    assert migrate(engine) == head_revision() == "0007"
    assert set(sa.inspect(engine).get_table_names()) == EXPECTED
    assert current_revision(engine) == head_revision()


def test_tables_py_and_the_migrations_agree(engine):
    migrate(engine)
    assert _diff(engine, _store_tables()) == []


def test_the_comparison_would_see_a_difference(engine):
    """Guard for the test above: a column the migrations lack is noticed."""
    migrate(engine)
    md = _store_tables()
    md.tables["events"].append_column(sa.Column("severity", sa.Integer))
    md.tables["tenants"].c.tier.type = sa.Integer()
    diff = _diff(engine, md)
    assert any(d[0] == "add_column" and d[3].name == "severity" for d in diff)
    assert any(isinstance(d, list) and d[0][0] == "modify_type" for d in diff)


def test_re_running_migrate_changes_nothing(engine):
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO tenants VALUES ('acme', 1, 'gold')")
    schema_before = _schema(engine)
    assert migrate(engine) == head_revision()
    assert migrate(open_engine(str(engine.url))) == head_revision()  # another process, same file
    assert _schema(engine) == schema_before
    with read_connection(engine) as conn:
        assert conn.exec_driver_sql("SELECT name FROM tenants").scalars().all() == ["acme"]


def _schema(engine: sa.Engine) -> list:
    with read_connection(engine) as conn:
        return conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()


def test_concurrent_first_migrations_both_succeed(url):
    engines = [open_engine(url) for _ in range(3)]
    errors: list[Exception] = []

    def run(eng: sa.Engine) -> None:
        try:
            migrate(eng)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(sa.inspect(engines[0]).get_table_names()) == EXPECTED
    for e in engines:
        e.dispose()


def test_a_database_from_a_newer_ksystui_is_refused_and_left_alone(engine):
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0042'")
    before = _schema(engine)
    with pytest.raises(SchemaTooNewError) as info:
        migrate(engine)
    message = str(info.value)
    assert "0042" in message and "newer" in message and "upgrade ksystui" in message
    assert current_revision(engine) == "0042"
    assert _schema(engine) == before


def test_downgrade_to_nothing_and_back(engine):
    migrate(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    migrate(engine)
    assert set(sa.inspect(engine).get_table_names()) == EXPECTED


def test_a_failed_migration_leaves_nothing_behind(engine, monkeypatch):
    """DDL runs inside the BEGIN IMMEDIATE transaction: all or nothing."""
    from alembic.operations import Operations

    real = Operations.create_index

    def create_index(self, name, *args, **kw):
        if name == "ix_events_first_seen":
            raise RuntimeError("disk full, say")
        return real(self, name, *args, **kw)

    monkeypatch.setattr(Operations, "create_index", create_index)
    with pytest.raises(RuntimeError, match="disk full"):
        migrate(engine)
    assert sa.inspect(engine).get_table_names() == []
    monkeypatch.undo()
    migrate(engine)
    assert set(sa.inspect(engine).get_table_names()) == EXPECTED


SECRET_NAMES = re.compile(r"token|secret|passw|passphrase|key|credential|login|user|host|url|cert", re.I)


def test_no_column_could_hold_a_secret(engine):
    migrate(engine)
    insp = sa.inspect(engine)
    columns = [(t, c["name"]) for t in insp.get_table_names() for c in insp.get_columns(t)]
    assert columns  # the check looked at something
    # a console's OS account and machine name, and the CEC UUIDs / names of
    # recovery hosts, are not connection data
    allowed = {("dispatchers", "user"), ("dispatchers", "host"), ("operations", "recovery_hosts"),
               ("operations", "host_names"), ("operations", "on_recovery_hosts"),
               ("service_members", "host"),  # the machine a `ksystui serve` runs on
               ("notify_deliveries", "delivery_key")}  # a receiver's dedup key, made of alert/op ids
    assert [tc for tc in columns if SECRET_NAMES.search(tc[1]) and tc not in allowed] == []


def test_a_file_that_is_no_database_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    eng = open_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(StoreError, match="cannot open the database .*notes.db"):
            migrate(eng)
    finally:
        eng.dispose()


def test_0003_gives_existing_operations_the_flag_their_command_implied_and_downgrades(engine):
    check_upgrade_backfills_and_downgrade_keeps_rows(engine)


def test_0004_rewrites_event_identities_with_the_event_time_and_downgrades(engine):
    check_upgrade_rewrites_identities_and_downgrade_keeps_the_first(engine)
