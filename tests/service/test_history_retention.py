"""The leader's retention keeps the snapshot history for ``[service]
history_retention`` and no longer, but never a node's last state before the
cut (a replay of what is kept starts from it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from ksystui.config import parse_config
from ksystui.core.actor import Actor
from ksystui.core.model import Flavour
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.service.term import LeaderTerm
from ksystui.store import Feed
from ksystui.store.engine import migrate, open_engine, read_connection
from ksystui.store.history import read_window
from ksystui.store.history_tables import poll_history, snapshot_history
from tests.cli.conftest import QUIET_TENANT

# a tenant whose node refuses every connection, and the history kept one hour
CONFIG = '[service]\nhistory_retention = "1h"\n' + QUIET_TENANT.format(tenant="customerA", priority=1, node="n1")


def poll(at: datetime, state: str) -> NodeSnapshot:
    return NodeSnapshot("n1", "customerA", Flavour.ONPREM, 10.0, sections={"site": Section("site", (state,), at)},
                        health=NodeHealth(last_attempt=at, last_success=at), sequence=int(at.timestamp()))


async def test_the_leader_forgets_history_older_than_the_retention_but_each_node_s_last_state(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'ks.db'}")
    migrate(engine)
    now = datetime.now(UTC)
    clock = [now]
    feed = Feed(engine, clock=lambda: clock[0])
    for ago, state in ((180, "home"), (150, "home"), (120, "moving"), (90, "moving"), (10, "backup")):
        clock[0] = at = now - timedelta(minutes=ago)
        feed.publish(poll(at, state))
    cfg = parse_config(CONFIG, tmp_path / "config.toml").config
    term = LeaderTerm(cfg, engine, lambda conn: None, Actor("ksystui", "test", "svc"), epoch=1, on_fenced=lambda: None)
    try:
        await term.prune()
    finally:
        await term.stop()
    with read_connection(engine) as conn:
        kept = conn.execute(sa.select(snapshot_history.c.at).order_by(snapshot_history.c.id)).scalars().all()
        polls = conn.execute(sa.select(sa.func.count()).select_from(poll_history)).scalar_one()
    assert kept == [now - timedelta(minutes=120), now - timedelta(minutes=10)] and polls == 0
    window = read_window(engine, now - timedelta(hours=1), now)
    assert window.snapshot_at("n1", now - timedelta(hours=1)).items("site") == ("moving",)
    engine.dispose()
