"""A tenant-scoped console on PostgreSQL reads under its tenant's role: the
database, not only the screen, keeps other tenants' rows out of it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from ksystui.bootstrap import StartupError, client_runtime, load
from ksystui.store.engine import open_engine
from ksystui.store.rls import grant_tenant
from tests.cli.conftest import QUIET_TENANT
from tests.store.test_rls import populate

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'ksystui[postgres]')")


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n' + "".join(
        QUIET_TENANT.format(tenant=f"customer{x}", priority=i, node=f"node{x}") for i, x in enumerate("AB", 1)))
    return path


async def test_a_scoped_console_on_postgresql_reads_under_its_tenants_role(pg_server, tmp_path):
    url = pg_server.create_database("ksystui_scoped_console")
    populate(url)  # both tenants' snapshots, events, alerts, changes and operations
    err = io.StringIO()
    loaded = load(_config(tmp_path, url), err)

    with pytest.raises(StartupError, match="ksystui db grant-tenant customerA"):
        async with client_runtime(loaded, err, scope="customerA"):
            pass

    engine = open_engine(url)
    try:
        grant_tenant(engine, "customerA")
    finally:
        engine.dispose()
    async with client_runtime(loaded, err, scope="customerA") as rt:
        assert set(rt.source.snapshots) == {"nodeA"}
        assert {a.tenant for a in rt.source.alerts} == {"customerA"}
        reads = rt.source.feed.feed.engine
        with reads.connect() as conn:  # raw SQL through the console's own reading connection
            assert conn.execute(sa.text("SELECT current_user")).scalar_one() == "ksystui_tenant_customera"
            for table in ("snapshots", "events", "alerts", "changes", "operations"):
                tenants = set(conn.execute(sa.text(f"SELECT DISTINCT tenant FROM {table}")).scalars())
                assert tenants == {"customerA"}, table
        # the queue the console shows is its tenant's too
        assert {line.tenant for line in await rt.port.lines()} == {"customerA"}
    # the provider's console, unscoped, still reads everything under its own login
    async with client_runtime(loaded, err) as rt:
        assert set(rt.source.snapshots) == {"nodeA", "nodeB"}
