"""``ksystui db upgrade``: bring the configured database's schema to the
newest revision this ksystui knows (the alembic migrations it ships), as an
administrator does before starting consoles on a new release. Consoles
migrate on start-up too; this verb does it on purpose, once, and says what
it did."""

from __future__ import annotations

import sys

import click

from ksystui.cli.options import (
    NO_TENANT_SCOPE,
    NOT_THE_CONSOLE,
    GlobalOptions,
    Refused,
    finish,
    takes_global_options,
)

CHANGES_THE_SCHEMA = "refused: this verb changes the database's schema, and a read-only session changes nothing"


@click.group()
def db() -> None:
    """The database every console and dispatcher shares."""


@db.command()
@takes_global_options(refuses={"readonly": CHANGES_THE_SCHEMA, "tenant": NO_TENANT_SCOPE,
                               "theme": NOT_THE_CONSOLE})
def upgrade(opts: GlobalOptions) -> None:
    """Run the migrations to the newest schema; one line says from what to what."""
    from ksystui.bootstrap import load
    from ksystui.config import ConfigError, database_url
    from ksystui.store.engine import StoreError, current_revision, migrate, open_engine, safe_url

    try:
        engine = open_engine(database_url(load(opts.config, sys.stderr).config.database))
        try:
            before = current_revision(engine)
            head = migrate(engine)
        finally:
            engine.dispose()
    except (ConfigError, StoreError) as exc:
        raise Refused(str(exc)) from None
    done = f"already at {head}" if before == head else f"upgraded from {before or 'empty'} to {head}"
    print(f"database {safe_url(engine)}: {done}")
    finish(0)
