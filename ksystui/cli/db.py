"""``ksystui db upgrade``: bring the configured database's schema to the
newest revision this ksystui knows (the alembic migrations it ships), as an
administrator does before starting consoles on a new release. Consoles
migrate on start-up too; this verb does it on purpose, once, and says what
it did.

``ksystui db grant-tenant TENANT``: PostgreSQL's row-level security for one
tenant (``ksystui.store.rls``): its role, and policies on every table."""

from __future__ import annotations

import sys
from pathlib import Path

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
    from sqlalchemy.exc import SQLAlchemyError

    from ksystui.bootstrap import StartupError, configured_database_url, database_problem, load
    from ksystui.config import ConfigError
    from ksystui.store.engine import StoreError, current_revision, migrate, open_engine, safe_url

    try:
        loaded = load(opts.config, sys.stderr)
        url = configured_database_url(loaded)
    except (ConfigError, StartupError) as exc:
        raise Refused(str(exc)) from None
    try:
        engine = open_engine(url)
        try:
            before = current_revision(engine)
            head = migrate(engine)
        finally:
            engine.dispose()
    except (StoreError, SQLAlchemyError) as exc:
        raise Refused(str(database_problem(loaded, exc))) from None
    done = f"already at {head}" if before == head else f"upgraded from {before or 'empty'} to {head}"
    print(f"database {safe_url(engine)}: {done}")
    finish(0)


CHANGES_ROLES = "refused: this verb creates database roles and policies, and a read-only session changes nothing"


@db.command("grant-tenant")
@click.argument("tenant_name", metavar="TENANT")
@click.option("--login-password-env", "password_env", metavar="VAR", default=None,
              help="the role may log in, with the password in this environment variable")
@click.option("--login-password-file", "password_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="the role may log in, with the password in this file")
@takes_global_options(refuses={"readonly": CHANGES_ROLES, "tenant": NO_TENANT_SCOPE, "theme": NOT_THE_CONSOLE})
def grant_tenant(opts: GlobalOptions, tenant_name: str, password_env: str | None,
                 password_file: Path | None) -> None:
    """PostgreSQL: the role TENANT's consoles use, and row-level security that
    shows it TENANT's rows only (run again after an upgrade; idempotent)."""
    from sqlalchemy.exc import DBAPIError

    from ksystui.bootstrap import StartupError, configured_database_url, database_problem, load
    from ksystui.config import ConfigError, read_secret
    from ksystui.store.engine import StoreError, migrate, open_engine, safe_url
    from ksystui.store.rls import RlsError
    from ksystui.store.rls import grant_tenant as grant

    if password_env is not None and password_file is not None:
        raise Refused("give --login-password-env or --login-password-file, not both")
    try:
        password = read_secret(password_env, password_file, "tenant role password")
        if password is not None and not password:
            raise Refused("the tenant role's password is empty")
        loaded = load(opts.config, sys.stderr)
        known = [t.name for t in loaded.config.tenants]
        if tenant_name not in known:
            raise Refused(f"no tenant {tenant_name!r} in the configuration (its tenants: {', '.join(known)})")
        url = configured_database_url(loaded)
        try:
            engine = open_engine(url)
        except StoreError as exc:
            raise database_problem(loaded, exc) from None
        try:
            if engine.dialect.name == "postgresql":
                migrate(engine)  # the policies cover the newest schema's tables
            granted = grant(engine, tenant_name, password=password)
        finally:
            engine.dispose()
    except StoreError as exc:
        raise Refused(str(database_problem(loaded, exc))) from None
    except (ConfigError, StartupError, RlsError) as exc:
        raise Refused(str(exc)) from None
    except DBAPIError as exc:
        raise Refused(str(database_problem(loaded, f"database {safe_url(engine)}: {exc.orig}"))) from None
    how = "may log in with its password" if granted.login else "NOLOGIN: the provider's user takes it (SET ROLE)"
    print(f"tenant {granted.tenant}: role {granted.role} ({'created' if granted.created else 'updated'}; {how}); "
          f"row-level security on {len(granted.tables)} tables")
    finish(0)
