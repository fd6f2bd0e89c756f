"""Migration 0004 on a database that holds events (shared by the SQLite and
PostgreSQL tests): stored identities gain the event time as
``event_identity`` now says, so nothing already stored is stored again;
the service tables come and go with the revision."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import event_identity
from ksystui.store.engine import current_revision, head_revision, migrate, read_connection
from ksystui.store.repository import Store
from tests.store.migration_0003 import _alembic

SEEN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
EVENTS = [  # (node, event) as a node printed them before the upgrade
    ("n1", KsysEvent("HOST_FAILURE", "error", "Host failure", "2026-11-30T07:00:00Z", "hostA", "7")),
    ("n1", KsysEvent("VERIFY_SUCCESS", "info", "ok", "2026-11-30T07:01:00Z", None, None)),  # no id: a digest
    ("n2", KsysEvent("HMC_UNREACHABLE", "error", None, None, None, "7")),  # an id, no time
]
_events = sa.table("events", sa.column("id", sa.Integer()), sa.column("identity", sa.String()),
                   sa.column("node", sa.String()), sa.column("tenant", sa.String()), sa.column("name", sa.String()),
                   sa.column("type", sa.String()), sa.column("description", sa.Text()),
                   sa.column("resource", sa.String()), sa.column("event_id", sa.String()),
                   sa.column("event_time", sa.String()), sa.column("extra", sa.Text()),
                   sa.column("first_seen", sa.DateTime(timezone=True)))


def _identities(engine: sa.Engine) -> list[str]:
    with read_connection(engine) as conn:
        return list(conn.execute(sa.select(_events.c.identity).order_by(_events.c.id)).scalars())


def check_upgrade_rewrites_identities_and_downgrade_keeps_the_first(engine: sa.Engine) -> None:
    _alembic(engine, "upgrade", "0003")
    with engine.begin() as conn:  # as ksystui 0003 stored them: node:id, or node:digest
        conn.execute(sa.insert(_events), [
            {"identity": f"{node}:{ev.event_id}" if ev.event_id else event_identity(node, ev), "node": node,
             "tenant": "customerA", "name": ev.name, "type": ev.type, "description": ev.description,
             "resource": ev.resource, "event_id": ev.event_id, "event_time": ev.time, "extra": "[]",
             "first_seen": SEEN} for node, ev in EVENTS])
    assert migrate(engine) == head_revision()
    assert _identities(engine) == [event_identity(node, ev) for node, ev in EVENTS]
    assert _identities(engine)[0] == "n1:7@2026-11-30T07:00:00Z" and _identities(engine)[2] == "n2:7@"
    store = Store(engine)
    for node, ev in EVENTS:  # the next poll shows the same events: none is new
        assert store.add_events(node, "customerA", [ev]) == []
    restarted = KsysEvent("HOST_FAILURE", "error", "Host failure", "2026-11-30T09:00:00Z", "hostA", "7")
    assert store.add_events("n1", "customerA", [restarted]) == [restarted]

    _alembic(engine, "downgrade", "0003")
    assert current_revision(engine) == "0003"
    assert not {"changes", "alerts", "service_lease", "service_members"} & set(sa.inspect(engine).get_table_names())
    assert {"sequence", "seq"}.isdisjoint(c["name"] for c in sa.inspect(engine).get_columns("snapshots"))
    # the id the restarted node re-used names one event again: the first stored one stays
    assert _identities(engine) == ["n1:7", event_identity("n1", EVENTS[1][1]), "n2:7"]
    assert migrate(engine) == head_revision()
