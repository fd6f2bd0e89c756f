"""open_engine: WAL, busy timeout, foreign keys, BEGIN IMMEDIATE; other URLs."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ksystui.store.engine import (
    BUSY_TIMEOUT_MS,
    StoreError,
    default_database_path,
    migrate,
    open_engine,
    read_connection,
)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "ks.db"
    return f"sqlite:///{path}", path


@pytest.fixture
def engine(db):
    eng = open_engine(db[0])
    migrate(eng)
    yield eng
    eng.dispose()


def _pragma(conn: sa.Connection, name: str):
    return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_every_connection_is_wal_with_busy_timeout_and_foreign_keys(engine, db):
    with read_connection(engine) as c1, read_connection(engine) as c2:  # two pooled connections
        for conn in (c1, c2):
            assert _pragma(conn, "journal_mode") == "wal"
            assert _pragma(conn, "busy_timeout") == BUSY_TIMEOUT_MS == 5000
            assert _pragma(conn, "foreign_keys") == 1
    # WAL is a property of the file: a plain sqlite3 connection sees it too
    raw = sqlite3.connect(db[1])
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO nodes (name, tenant, flavour) VALUES ('n1', 'nobody', 'onprem')")


def test_transactions_begin_immediate(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            # the write lock is held from BEGIN on, before any statement of ours
            assert conn.connection.dbapi_connection.in_transaction
            conn.exec_driver_sql("SELECT 1")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen[0] == "BEGIN IMMEDIATE"


def test_readers_begin_deferred_and_do_not_wait_for_a_writer(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as writer:  # holds the write lock
            writer.exec_driver_sql("INSERT INTO tenants VALUES ('t', 1, 'gold')")
            t0 = time.monotonic()
            with read_connection(engine) as reader:
                assert reader.exec_driver_sql("SELECT count(*) FROM tenants").scalar() == 0  # committed data only
            assert time.monotonic() - t0 < 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen[0] == "BEGIN IMMEDIATE"
    assert "BEGIN" in seen[2:]


def test_ddl_is_transactional(engine):
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        raise RuntimeError("roll it back")
    assert "scratch" not in sa.inspect(engine).get_table_names()


def _read_then_write(eng: sa.Engine, started: threading.Event | None, hold: float, errors: list, who: str) -> None:
    try:
        with eng.begin() as conn:
            if started is not None:
                started.set()
            n = conn.exec_driver_sql("SELECT count(*) FROM tenants").scalar()
            time.sleep(hold)
            conn.exec_driver_sql(f"INSERT INTO tenants (name, priority, tier) VALUES ('{who}', {n + 1}, 'gold')")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.append(exc)


def test_a_second_writer_waits_instead_of_failing(db):
    """Two connections (two engines: as good as two processes) each read, then
    write. With BEGIN IMMEDIATE the second one waits at BEGIN for the first to
    commit, then reads the first one's row: no "database is locked", no lost
    update."""
    first, second = open_engine(db[0]), open_engine(db[0])
    migrate(first)
    errors: list[Exception] = []
    started = threading.Event()
    a = threading.Thread(target=_read_then_write, args=(first, started, 0.5, errors, "a"))
    a.start()
    assert started.wait(5)
    t0 = time.monotonic()
    _read_then_write(second, None, 0.0, errors, "b")
    waited = time.monotonic() - t0
    a.join()
    assert errors == []
    assert 0.3 < waited < BUSY_TIMEOUT_MS / 1000
    with first.connect() as conn:
        rows = dict(conn.exec_driver_sql("SELECT name, priority FROM tenants").all())
    assert rows == {"a": 1, "b": 2}  # b saw a's row: it really waited
    first.dispose()
    second.dispose()


def test_control_deferred_transactions_fail_where_immediate_ones_wait(db):
    """What BEGIN IMMEDIATE saves us from: with plain (deferred) BEGIN, the same
    read-then-write by two connections fails with "database is locked" at the
    second write even though busy_timeout is set, because that writer's read
    snapshot is stale by then."""
    migrate(open_engine(db[0]))
    a = sqlite3.connect(db[1], isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    b = sqlite3.connect(db[1], isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        for conn in (a, b):
            conn.execute("BEGIN")
            conn.execute("SELECT count(*) FROM tenants").fetchone()
        a.execute("INSERT INTO tenants VALUES ('a', 1, 'gold')")
        a.execute("COMMIT")
        t0 = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            b.execute("INSERT INTO tenants VALUES ('b', 1, 'gold')")
        assert time.monotonic() - t0 < 1  # not even the busy timeout helps
    finally:
        a.close()
        b.close()


def test_default_database_is_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_database_path()
    assert path == tmp_path / "xdg" / "ksystui" / "ksystui.db"
    eng = open_engine(None)
    try:
        migrate(eng)
        assert path.is_file()
        assert Path(eng.url.database) == path
    finally:
        eng.dispose()


def test_postgresql_url_is_taken_as_it_is():
    url = "postgresql+psycopg://ksys:s3cr3t-pw@db.example:5432/ksystui"
    try:
        eng = open_engine(url)
    except StoreError as exc:  # psycopg is not a dependency: a clear message, no password
        assert "psycopg" in str(exc)
        assert "s3cr3t-pw" not in str(exc)
        return
    assert eng.dialect.name == "postgresql"
    assert eng.url.render_as_string(hide_password=False) == url
    eng.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_other_urls_are_refused_clearly(url):
    with pytest.raises(StoreError):
        open_engine(url)
