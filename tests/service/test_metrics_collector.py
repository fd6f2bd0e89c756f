"""The metrics collector on a database alone (no service, no node): open
alerts and their age, the notification delivery log (and a database that
has none yet), a database that cannot be read, the canary secrets of a hook
that never reach the output, and a service whose endpoint cannot listen."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ksystui.config import Config, load_config
from ksystui.core.alerts import NewAlert
from ksystui.service.metrics import FleetCollector, Member, registry
from ksystui.service.metrics_http import MetricsListenError
from ksystui.service.serve import Service
from ksystui.store.audit_log import current_actor
from ksystui.store.delivery_tables import notify_deliveries
from ksystui.store.engine import open_engine
from ksystui.store.feed import Feed
from ksystui.store.lease import LeaseStore
from ksystui.store.repository import Store

CANARY_URL = "https://hooks.example.invalid/T0/B0/canary-url-token-5f1e"
CANARY_KEY = "canary-routing-key-9a7c"

CONFIG = """
[[tenants]]
name = "customerA"
priority = 1
[[tenants.nodes]]
name = "n1"
ssh = { host = "127.0.0.1", use_agent = true }

[[notify]]
name = "pager"
kind = "webhook"
format = "pagerduty"
url_env = "KSYSTUI_TEST_PAGER_URL"
routing_key_env = "KSYSTUI_TEST_PAGER_KEY"
"""


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch) -> Config:
    monkeypatch.setenv("KSYSTUI_TEST_PAGER_URL", CANARY_URL)
    monkeypatch.setenv("KSYSTUI_TEST_PAGER_KEY", CANARY_KEY)
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return load_config(path).config


def scrape(cfg: Config, engine: sa.Engine, role: str = "standby") -> tuple[str, dict[tuple[str, frozenset], float]]:
    text = generate_latest(registry(FleetCollector(cfg, engine, lambda: Member("h:1:b", role)))).decode()
    values = {(s.name, frozenset(s.labels.items())): s.value
              for f in text_string_to_metric_families(text) for s in f.samples}
    return text, values


def value(values: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return values.get((name, frozenset(labels.items())))


def host_failure(n: int) -> NewAlert:
    return NewAlert(identity=f"n1:{n}@t", tenant="customerA", node="n1", event="HOST_FAILURE", event_id=str(n),
                    event_time="t", description="host pbrazos failed", resource="pbrazos", proposal=None)


def test_open_alerts_count_until_acknowledged_and_a_node_never_read_is_unknown(cfg, engine):
    Store(engine).sync_from_config(cfg)
    feed = Feed(engine)
    first, _ = feed.raise_alerts([host_failure(1), host_failure(2)])
    _, values = scrape(cfg, engine)
    assert value(values, "ksystui_alerts_open", tenant="customerA", severity="critical") == 2
    assert value(values, "ksystui_alert_oldest_open_seconds", tenant="customerA") is not None
    assert value(values, "ksystui_node_freshness", tenant="customerA", node="n1", state="unknown") == 1
    assert value(values, "ksystui_service_leader") == 0
    assert value(values, "ksystui_service_info", member="h:1:b", role="standby") == 1
    assert value(values, "ksystui_service_lease_live") == 0  # nobody leads this database

    assert feed.acknowledge(first.id, current_actor("test"), "on it")
    _, values = scrape(cfg, engine)
    assert value(values, "ksystui_alerts_open", tenant="customerA", severity="critical") == 1


def test_notification_failures_show_per_hook_and_none_yet_is_zero(cfg, engine):
    text, values = scrape(cfg, engine)
    assert value(values, "ksystui_notify_deliveries", hook="pager", state="gave_up") == 0
    assert value(values, "ksystui_notify_retrying", hook="pager") == 0

    with engine.begin() as conn:  # the delivery log as the notifier keeps it (store.deliveries)
        conn.execute(notify_deliveries.insert(), [
            {"hook": "pager", "delivery_key": f"k{i}", "incident": f"i{i}", "kind": "alert.raised",
             "severity": "critical", "summary": "-", "notice_json": "{}", "state": state, "attempts": attempts,
             "created_at": datetime.now(UTC)}
            for i, (state, attempts) in enumerate([("pending", 3), ("pending", 0), ("gave_up", 8),
                                                   ("delivered", 1), ("delivered", 2)])])
    text, values = scrape(cfg, engine, role="leader")
    assert value(values, "ksystui_notify_deliveries", hook="pager", state="delivered") == 2
    assert value(values, "ksystui_notify_deliveries", hook="pager", state="gave_up") == 1
    assert value(values, "ksystui_notify_retrying", hook="pager") == 1
    assert value(values, "ksystui_service_leader") == 1
    for secret in (CANARY_URL, CANARY_KEY, "hooks.example.invalid"):
        assert secret not in text


def test_a_database_that_cannot_be_read_says_so_and_nothing_else(cfg, tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated: no table to read
    try:
        _, values = scrape(cfg, engine)
    finally:
        engine.dispose()
    assert value(values, "ksystui_database_up") == 0 and value(values, "ksystui_service_leader") == 0
    assert not [name for name, _ in values if name.startswith(("ksystui_vms", "ksystui_queue"))]


async def test_a_service_that_cannot_listen_for_metrics_says_so_in_one_line_and_takes_no_lease(cfg, engine,
                                                                                              tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listening = cfg.model_copy(update={"service": cfg.service.model_copy(
            update={"metrics_listen": f"127.0.0.1:{port}"})})
        service = Service(listening, url=f"sqlite:///{tmp_path / 'm.db'}")
        with pytest.raises(MetricsListenError, match=f'metrics_listen = "127.0.0.1:{port}": cannot listen'):
            await service.start()
    assert service.role == "stopped" and LeaseStore(engine).state().holder is None


def test_ksystuis_own_alert_is_as_critical_in_the_metrics_as_in_its_page(cfg, engine):
    """One rule for an alert's severity: a holder gone silent pages as critical
    (core.notices), so the metric counts it critical too, not as a warning."""
    from ksystui.core.alerts import HOLDER_UNREACHABLE
    from ksystui.core.notices import ALERT_SEVERITY

    Store(engine).sync_from_config(cfg)
    Feed(engine).raise_alerts([NewAlert(identity="n1:holder@t", tenant="customerA", node="n1",
                                        event=HOLDER_UNREACHABLE, event_id="h1", event_time="t",
                                        description="operation #4 holds snorlax; its node is silent",
                                        resource="snorlax", proposal=None)])
    _, values = scrape(cfg, engine)
    assert ALERT_SEVERITY == "critical"
    assert value(values, "ksystui_alerts_open", tenant="customerA", severity="critical") == 1
    assert value(values, "ksystui_alerts_open", tenant="customerA", severity="warning") == 0
