"""Migration 0003 on a database that holds operations (shared by the SQLite
and PostgreSQL tests): existing rows get the flag the 0002 rule derived for
them, the flag reaches arbitration, and the downgrade leaves the rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from ksystui.store.engine import alembic_config, current_revision, head_revision, migrate
from ksystui.store.queue import Queue

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"

# (op, argv, works on the recovery hosts after the upgrade)
ROWS: list[tuple[str, list[str], bool]] = [
    ("verify", ["ksysmgr", "-t", "verify", "site", "Austin"], True),
    ("move", ["ksysmgr", "-t", "move", "site", "from=Austin", "to=Dallas"], True),
    ("discover", ["ksysmgr", "-t", "discover", "site", "Austin", "verify=yes"], True),
    ("discover", ["ksysmgr", "-t", "discover", "site", "Austin"], False),
    ("configure", ["ksysmgr", "modify", "system", "auto_discovery_time=01:00"], False),
]

# the operations table as revision 0002 made it (only the columns written here)
_ops_0002 = sa.table(
    "operations", *(sa.column(c, t) for c, t in [
        ("id", sa.Integer()), ("tenant", sa.String()), ("node", sa.String()), ("op", sa.String()),
        ("argv", sa.Text()), ("recovery_hosts", sa.Text()), ("host_names", sa.Text()), ("priority", sa.Integer()),
        ("class_rank", sa.Integer()), ("arrival", sa.Integer()), ("raised", sa.Integer()), ("state", sa.String()),
        ("confirmed", sa.Boolean()), ("submitted_by", sa.String()), ("submitted_at", sa.DateTime(timezone=True)),
    ]))


def _alembic(engine: sa.Engine, verb: str, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, verb)(cfg, revision)


def check_upgrade_backfills_and_downgrade_keeps_rows(engine: sa.Engine) -> None:
    _alembic(engine, "upgrade", "0002")
    with engine.begin() as conn:
        conn.execute(sa.insert(_ops_0002), [
            {"id": i, "tenant": "customerA", "node": f"n{i}", "op": op, "argv": json.dumps(argv),
             "recovery_hosts": json.dumps([SNORLAX]), "host_names": "[]", "priority": 1, "class_rank": 0,
             "arrival": i, "raised": 0, "state": "queued", "confirmed": False, "submitted_by": "alice@noc1/c",
             "submitted_at": datetime(2026, 11, 30, tzinfo=UTC)}
            for i, (op, argv, _) in enumerate(ROWS, start=1)])
    assert migrate(engine) == head_revision()
    queue = Queue(engine)
    by_id = {o.id: o for o in queue.operations()}
    assert [by_id[i].on_recovery_hosts for i in range(1, len(ROWS) + 1)] == [want for *_, want in ROWS]
    # …and arbitration sees the same: the discover that verifies claims the shared host
    assert by_id[3].claims() == (f"host:{SNORLAX}", "node:n3")
    assert by_id[4].claims() == ("node:n4",)

    _alembic(engine, "downgrade", "0002")
    assert current_revision(engine) == "0002"
    columns = {c["name"] for c in sa.inspect(engine).get_columns("operations")}
    assert "on_recovery_hosts" not in columns
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(_ops_0002)).scalar_one() == len(ROWS)
    assert migrate(engine) == head_revision()
