"""Opening the store: ``engine = open_engine(url); migrate(engine)``.

SQLite (the default, one console) is opened in WAL mode with a busy timeout
and foreign keys on, and transactions start with ``BEGIN IMMEDIATE``: a
writer takes the write lock when its transaction begins, so a second writer
waits (up to the busy timeout) at its ``BEGIN`` instead of failing with
"database is locked" half-way, after reading what the first writer has since
changed. Readers use ``read_connection``, whose transactions begin deferred:
in WAL mode they need no lock and never wait for a writer. pysqlite's own
transaction handling is switched off for this (the SQLAlchemy recipe:
``isolation_level = None`` on connect, our ``BEGIN`` on the engine's "begin"
event), which also makes DDL transactional: a migration happens entirely or
not at all.

PostgreSQL (several consoles sharing one arbiter) is used as the URL says;
its driver (``postgresql+psycopg://…`` → psycopg) comes with
``pip install 'ksystui[postgres]'``. A URL object may carry the password
(``ksystui.config.database_url`` puts it in, in memory); every message here
shows the URL with its password masked.

A tenant-scoped process opens PostgreSQL with ``tenant_role``: every new
connection then runs ``SET ROLE ksystui_tenant_<tenant>`` (committed, so a
pool's rollback keeps it), and row-level security shows it that tenant's
rows only (``ksystui.store.rls``, made by ``ksystui db grant-tenant``).

The schema is made only by alembic (``migrate``), from the migration scripts
shipped inside this package; there is no alembic.ini.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from platformdirs import user_data_path
from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from ksystui.killpoints import maybe_die

BUSY_TIMEOUT_MS = 5000
_BEGIN_OPTION = "ksystui_sqlite_begin"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL: migrating consoles queue on this advisory lock (any constant will do).
_PG_MIGRATION_LOCK = zlib.crc32(b"ksystui.store.migrate")


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message is for the user."""


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer ksystui than this one."""


def default_database_path() -> Path:
    return user_data_path("ksystui") / "ksystui.db"


def open_engine(url: str | URL | None = None, *, tenant_role: str | None = None,
                connect_timeout: int | None = None) -> Engine:
    """An engine on ``url`` (default: SQLite in the user data directory, which
    is created). Call :func:`migrate` before using it.

    ``tenant_role`` (PostgreSQL only): a tenant's name (``customerA``) or its
    role (``ksystui_tenant_customera``); every connection takes that role, so
    the database shows it that tenant's rows only. A role that does not exist
    (or that the URL's user may not take) fails the first connection with a
    :class:`StoreError` naming ``ksystui db grant-tenant <tenant>``.

    ``connect_timeout`` (PostgreSQL): seconds a connection may take (libpq's
    default is to wait as long as the network does)."""
    if url is None:
        path = default_database_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"the default database {path}: cannot create its directory: {exc.strerror}") from None
        sa_url: URL = URL.create("sqlite+pysqlite", database=str(path))
    elif isinstance(url, URL):
        sa_url = url
    else:
        try:
            sa_url = make_url(url)
        except ArgumentError:
            raise StoreError(f"database URL {_safe(url)!r} is not a valid URL") from None
    backend = sa_url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"database {sa_url.render_as_string()!r}: ksystui's store runs on SQLite or PostgreSQL")
    try:
        if backend == "sqlite":
            engine = create_engine(sa_url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(engine)
        else:
            timeout = {"connect_timeout": connect_timeout} if connect_timeout is not None else {}
            engine = create_engine(sa_url, pool_pre_ping=True, connect_args=timeout)
    except (ImportError, NoSuchModuleError) as exc:
        raise StoreError(
            f"database {sa_url.render_as_string()!r}: its driver is not installed ({exc}); "
            "for postgresql+psycopg://: pip install 'ksystui[postgres]'"
        ) from None
    if tenant_role is not None:
        if backend != "postgresql":
            raise StoreError(
                f"database {sa_url.render_as_string()!r}: a tenant role needs PostgreSQL; "
                "on SQLite a tenant scope is only what the console shows"
            )
        _take_tenant_role(engine, tenant_role)
    return engine


def _take_tenant_role(engine: Engine, tenant_or_role: str) -> None:
    from ksystui.store.rls import ROLE_PREFIX, as_role

    role = as_role(tenant_or_role)
    tenant = tenant_or_role.removeprefix(ROLE_PREFIX)
    quoted = '"' + role.replace('"', '""') + '"'

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"SET ROLE {quoted}")
            dbapi_connection.commit()  # a SET inside a transaction the pool rolls back would be undone
        except Exception as exc:
            with contextlib.suppress(Exception):
                dbapi_connection.rollback()
            words = " ".join(str(exc).split())
            if "does not exist" in words:
                why = f"role {role} does not exist"
            elif "permission denied" in words:
                why = f"the database user may not take role {role}"
            else:
                raise
            raise StoreError(
                f"database {safe_url(engine)}: {why}: run `ksystui db grant-tenant {tenant}` "
                "as the provider's database user"
            ) from None
        finally:
            cur.close()


def _safe(url: str) -> str:
    """A URL for a message: no password in it."""
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, creds = head.partition("://")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins
        # (pysqlite would begin late and DEFERRED, and never for DDL).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")  # persistent; a no-op when already set
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_BEGIN_OPTION) == "DEFERRED":
            conn.exec_driver_sql("BEGIN")  # a reader: a consistent snapshot, no lock taken
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def read_connection(engine: Engine) -> Connection:
    """A connection for reading only. On SQLite its transactions begin
    DEFERRED: in WAL mode a reader then neither waits for nor blocks a writer
    (every other transaction begins IMMEDIATE, taking the write lock at once).
    Writing through it risks "database is locked": do not."""
    return engine.connect().execution_options(**{_BEGIN_OPTION: "DEFERRED"})


# --- migrations ----------------------------------------------------------------------
def alembic_config() -> Config:
    """An alembic Config for the migrations shipped in this package (no .ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def _scripts() -> ScriptDirectory:
    """The shipped migration scripts (a StoreError when this installation lacks them)."""
    try:
        script = ScriptDirectory.from_config(alembic_config())
        script.get_heads()  # reads every script: a broken or missing one fails here, not half-way
    except (CommandError, OSError, ImportError, SyntaxError) as exc:
        raise StoreError(f"this installation of ksystui lacks its database migrations ({MIGRATIONS_DIR}: "
                         f"{' '.join(str(exc).split())}): reinstall ksystui") from None
    return script


def known_revisions() -> set[str]:
    """Every schema revision this ksystui's migrations know."""
    return {rev.revision for rev in _scripts().walk_revisions()}


def head_revision() -> str:
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise StoreError(f"the store's migrations have {len(heads)} heads; they must have one")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    try:
        with read_connection(engine) as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    except DBAPIError as exc:
        raise _cannot_open(engine, exc) from exc
    return heads[0] if heads else None


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision this ksystui knows, in one
    transaction; return that revision. Safe to call every start-up and from
    several processes at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
    advisory lock). A database migrated by a newer ksystui raises
    :class:`SchemaTooNewError` and is left untouched."""
    # SQLite: two processes creating the same new database at once can get
    # "database is locked" before the busy timeout applies (switching a new
    # file to WAL takes an exclusive lock); a short retry settles it.
    for attempt in range(_LOCKED_RETRIES):
        try:
            return _migrate_once(engine)
        except StoreError as exc:
            locked = "database is locked" in str(exc) and engine.dialect.name == "sqlite"
            if not locked or attempt == _LOCKED_RETRIES - 1:
                raise
            time.sleep(0.1 * 2**attempt)  # start-up, in a worker thread (AsyncStore/AsyncQueue.open)
    raise AssertionError("unreachable")


_LOCKED_RETRIES = 6


def _migrate_once(engine: Engine) -> str:
    cfg = alembic_config()
    known = known_revisions()
    head = head_revision()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            current = MigrationContext.configure(conn).get_current_heads()
            unknown = [rev for rev in current if rev not in known]
            if unknown:
                raise SchemaTooNewError(
                    f"the database {safe_url(engine)} is at schema revision {', '.join(unknown)}, "
                    f"newer than this ksystui knows (its newest is {head}): upgrade ksystui, "
                    "or point it at another database"
                )
            cfg.attributes["connection"] = conn
            maybe_die("migrate_before_upgrade")
            command.upgrade(cfg, "head")
            maybe_die("migrate_after_upgrade")
            missing = missing_tables(conn)
            if missing:
                raise StoreError(schema_gap(safe_url(engine), head, missing))
    except DBAPIError as exc:
        raise _cannot_open(engine, exc) from exc
    except CommandError as exc:  # alembic's own words: a revision it cannot reach
        raise StoreError(f"cannot migrate the database {safe_url(engine)}: {' '.join(str(exc).split())}") from None
    return head


def schema_gap(where: str, revision: str, missing: list[str]) -> str:
    """A database whose revision promises tables it lacks, said for the operator."""
    return (f"the database {where} says it is at schema revision {revision} but lacks its "
            f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)}: restore it from a backup, "
            "or point ksystui at another database")


def missing_tables(conn: Connection) -> list[str]:
    """The tables of the newest schema that the database lacks."""
    return sorted(_schema_tables() - set(inspect(conn).get_table_names()))


def _schema_tables() -> set[str]:
    """The tables the newest schema has (the store's table modules declare them)."""
    import sqlalchemy as sa

    from ksystui.store import delivery_tables, history_tables, queue_tables, service_tables, tables

    names = set()
    for module in (tables, queue_tables, service_tables, delivery_tables, history_tables):
        for value in vars(module).values():
            table = getattr(value, "__table__", None) if isinstance(value, type) else value
            if isinstance(table, sa.Table) and (table is value or value.__module__ == module.__name__):
                names.add(table.name)
    return names


def _cannot_open(engine: Engine, exc: DBAPIError) -> StoreError:
    # the driver's words on one line (libpq lists each address it tried on a line of its own)
    words = " ".join(str(exc.orig).split())
    why = _sqlite_file_problem(engine) if engine.dialect.name == "sqlite" else None
    return StoreError(f"cannot open the database {safe_url(engine)}: {words}" + (f" ({why})" if why else ""))


def _sqlite_file_problem(engine: Engine) -> str | None:
    name = engine.url.database
    return sqlite_path_problem(Path(name)) if name and name != ":memory:" else None


def sqlite_path_problem(path: Path) -> str | None:
    """What is wrong with a SQLite database's path, in the words an operator
    acts on (SQLite itself says only "unable to open database file"); None
    when nothing visible is."""
    parent = path.parent
    if not parent.exists():
        return f"the directory {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if path.is_dir():
        return f"{path} is a directory"
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{path if path.exists() else parent} is not writable"
    return None


def safe_url(engine: Engine) -> str:
    """The engine's URL for a message: its password, if any, masked."""
    return engine.url.render_as_string(hide_password=True)
