"""The alembic environment of the store.

Configured by code, not by an .ini: ``ksystui.store.engine.migrate`` passes the
connection it opened (with the store's SQLite settings, inside a
``BEGIN IMMEDIATE`` transaction) in ``config.attributes["connection"]``. Run by
other means, it opens ``sqlalchemy.url`` (or the default store) itself.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from ksystui.store import queue_tables, tables  # noqa: F401 (autogenerate sees every table)

target_metadata = tables.metadata


def _configure(**kw: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move instead
        compare_type=True,
        **kw,
    )


def _run_on(connection: Connection) -> None:
    # Our SQLite connections run DDL inside the transaction, so a failed
    # migration leaves nothing half done (alembic assumes otherwise for SQLite).
    _configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    _configure(url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    from ksystui.store.engine import open_engine

    engine = open_engine(context.config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.begin() as conn:
            _run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
