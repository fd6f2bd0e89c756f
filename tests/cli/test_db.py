"""`ksystui db upgrade`: the configured database brought to the newest
schema, on SQLite and on PostgreSQL (a role that must give its password);
one line for what it did, or one line and exit 2 for why it could not —
never a traceback, never the password. `ksystui db grant-tenant`: the same
one-line contract, PostgreSQL only."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from ksystui.store.engine import head_revision

from .conftest import QUIET_TENANT, ksystui

CANARY = "Canary-db-upgrade-77c2"
_names = itertools.count()


def config(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[database]\n{database}\n" + QUIET_TENANT.format(tenant="customerA", priority=1, node="nodeA"))
    return path


def refused_in_one_line(run, verb: str = "upgrade") -> str:
    """The refusal (after any warning about the configuration)."""
    assert run.rc == 2, run
    assert CANARY not in run.out + run.err
    lines = [line for line in run.err.splitlines() if not line.startswith("warning: ")]
    assert run.out == "" and len(lines) == 1 and "Traceback" not in run.err, run
    assert lines[0].startswith(f"ksystui db {verb}: "), run.err
    return lines[0]


def test_sqlite_empty_then_already_at_head(tmp_path):
    db = tmp_path / "k.db"
    cfg = config(tmp_path, f'url = "sqlite:///{db}"')
    run = ksystui("db", "upgrade", "--config", str(cfg))
    assert run.rc == 0 and run.err == "", run
    assert run.out == f"database sqlite:///{db}: upgraded from empty to {head_revision()}\n"
    run = ksystui("--config", str(cfg), "db", "upgrade")
    assert run.rc == 0 and run.out == f"database sqlite:///{db}: already at {head_revision()}\n", run


def test_readonly_changes_no_schema(tmp_path):
    db = tmp_path / "k.db"
    cfg = config(tmp_path, f'url = "sqlite:///{db}"')
    assert "--readonly" in refused_in_one_line(ksystui("--readonly", "db", "upgrade", "--config", str(cfg)))
    assert not db.exists()


def test_an_unreachable_database_is_one_line(tmp_path):
    cfg = config(tmp_path, f'url = "postgresql+psycopg://nobody:{CANARY}@127.0.0.1:1/none"')
    run = ksystui("db", "upgrade", "--config", str(cfg))
    err = refused_in_one_line(run)
    assert "cannot open the database postgresql+psycopg://nobody:***@127.0.0.1:1/none" in err
    assert run.err.startswith(f"warning: {cfg}: database: the password is written inline in the url")


def test_a_missing_driver_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    cfg = config(tmp_path, 'url = "postgresql+psycopg://ops@127.0.0.1:5432/ksystui"')
    assert "pip install 'ksystui[postgres]'" in refused_in_one_line(ksystui("db", "upgrade", "--config", str(cfg)))


@pytest.fixture
def pg_config(pg_server, tmp_path, monkeypatch) -> Path:
    """A configuration naming a PostgreSQL database whose owner must give
    CANARY, read from the environment."""
    url = pg_server.create_password_database(f"ksystui_cli_{next(_names)}", CANARY)
    monkeypatch.setenv("KSYSTUI_TEST_DB_PASSWORD", CANARY)
    return config(tmp_path, f'url = "{url}"\npassword_env = "KSYSTUI_TEST_DB_PASSWORD"')


def test_postgresql_empty_then_already_at_head(pg_config):
    run = ksystui("db", "upgrade", "--config", str(pg_config))
    assert run.rc == 0 and run.err == "", run
    (line,) = run.out.splitlines()
    assert line.startswith("database postgresql+psycopg://ksystui_cli_") and ":***@127.0.0.1:" in line
    assert line.endswith(f": upgraded from empty to {head_revision()}")
    run = ksystui("db", "upgrade", "--config", str(pg_config))
    assert run.rc == 0 and run.out.endswith(f": already at {head_revision()}\n"), run
    assert CANARY not in run.out + run.err


def test_the_arbiter_verbs_open_the_same_database_with_the_same_password(pg_config, monkeypatch):
    assert ksystui("db", "upgrade", "--config", str(pg_config)).rc == 0
    run = ksystui("queue", "--json", "--config", str(pg_config))
    assert run.rc == 0 and run.out.strip() == "[]", run
    monkeypatch.setenv("KSYSTUI_TEST_DB_PASSWORD", CANARY + "-wrong")
    run = ksystui("queue", "--json", "--config", str(pg_config))
    assert run.rc == 2 and "password authentication failed" in run.err and CANARY not in run.out + run.err, run


def test_postgresql_wrong_password_is_one_line_without_it(pg_config, monkeypatch):
    monkeypatch.setenv("KSYSTUI_TEST_DB_PASSWORD", CANARY + "-wrong")
    err = refused_in_one_line(ksystui("db", "upgrade", "--config", str(pg_config)))
    assert "password authentication failed" in err


def test_postgresql_password_not_set_is_one_line(pg_config, monkeypatch):
    monkeypatch.delenv("KSYSTUI_TEST_DB_PASSWORD")
    err = refused_in_one_line(ksystui("db", "upgrade", "--config", str(pg_config)))
    assert "environment variable KSYSTUI_TEST_DB_PASSWORD (database password) is not set" in err


# --- grant-tenant ----------------------------------------------------------------------
def test_grant_tenant_is_refused_on_sqlite_plainly(tmp_path):
    cfg = config(tmp_path, f'url = "sqlite:///{tmp_path / "k.db"}"')
    err = refused_in_one_line(ksystui("db", "grant-tenant", "customerA", "--config", str(cfg)), "grant-tenant")
    assert "tenant roles need PostgreSQL" in err and "only what the console shows" in err


def test_grant_tenant_refuses_readonly_and_an_unknown_tenant(tmp_path):
    cfg = config(tmp_path, f'url = "sqlite:///{tmp_path / "k.db"}"')
    run = ksystui("--readonly", "db", "grant-tenant", "customerA", "--config", str(cfg))
    assert "--readonly" in refused_in_one_line(run, "grant-tenant")
    run = ksystui("db", "grant-tenant", "customerZ", "--config", str(cfg))
    assert "no tenant 'customerZ' in the configuration (its tenants: customerA)" in refused_in_one_line(
        run, "grant-tenant")
    run = ksystui("db", "grant-tenant", "customerA", "--login-password-env", "KSYSTUI_TEST_UNSET_VAR",
                  "--config", str(cfg))
    assert "KSYSTUI_TEST_UNSET_VAR" in refused_in_one_line(run, "grant-tenant")


@pytest.fixture
def provider_config(pg_server, pg_config):
    """pg_config, whose owner may also create roles (what grant-tenant needs)."""
    import psycopg

    user = pg_config.read_text().split("postgresql+psycopg://", 1)[1].split("@", 1)[0]
    with psycopg.connect(host="127.0.0.1", port=pg_server.port, user="ksystui", dbname="postgres",
                         autocommit=True) as su:
        su.execute(f'ALTER ROLE "{user}" CREATEROLE')
    return pg_config


def test_grant_tenant_twice_on_postgresql_is_the_same(provider_config, monkeypatch):
    first = ksystui("db", "grant-tenant", "customerA", "--config", str(provider_config))
    assert first.rc == 0 and first.err == "", first
    again = ksystui("db", "grant-tenant", "customerA", "--config", str(provider_config))
    assert again.rc == 0 and again.err == "", again
    # roles belong to the server: whether another test gave this one a login is not this test's business
    assert again.out.startswith("tenant customerA: role ksystui_tenant_customera (updated; ")
    assert first.out.split("row-level security")[1] == again.out.split("row-level security")[1]
    # the provider's own login still sees everything (it owns the tables)
    assert ksystui("queue", "--json", "--config", str(provider_config)).rc == 0
    monkeypatch.setenv("KSYSTUI_TEST_TENANT_PASSWORD", "tenant-" + CANARY)
    run = ksystui("db", "grant-tenant", "customerA", "--login-password-env", "KSYSTUI_TEST_TENANT_PASSWORD",
                  "--config", str(provider_config))
    assert run.rc == 0 and "may log in with its password" in run.out and CANARY not in run.out + run.err, run


def test_grant_tenant_without_the_right_to_create_roles_is_one_line(pg_config):
    err = refused_in_one_line(ksystui("db", "grant-tenant", "customerA", "--config", str(pg_config)), "grant-tenant")
    assert ("permission denied" in err or "CREATEROLE privilege" in err) and CANARY not in err
    assert "as a database user with CREATEROLE that owns ksystui's tables" in err
