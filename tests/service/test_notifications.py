"""Acceptance (issue 12.1): the provider service, in process on the
simulator, tells two webhook receivers on 127.0.0.1 of one HOST_FAILURE —
exactly one delivered notification per hook, although each receiver fails
the first attempt (the log shows two) — then of its acknowledgement and of
its resolution; the hooks' canary URL token and routing key are in no
database file, log line or ``ksystui notify log`` output."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ksystui.cli.notify import run_notify_log
from ksystui.cli.options import GlobalOptions
from ksystui.config import load_config
from ksystui.core.actor import Actor
from ksystui.notify.send import DELIVERY_KEY_HEADER
from ksystui.service import notifier as notifier_module
from ksystui.service.logs import LogfmtFormatter
from ksystui.service.serve import Service
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.store.bundle import export_bundle
from ksystui.store.deliveries import Deliveries
from ksystui.store.engine import open_engine
from ksystui.store.feed import Feed
from tests.service.conftest import service_config
from tests.waiting import eventually
from tests.webhook_receiver import listening

CANARY_TOKEN = "c4nary-A2-T0KEN-in-the-url-77d1"
CANARY_KEY = "c4naryA2R0utingKey00000000000077"
HOOKS = ("chat", "pager")
ALICE = Actor("alice", "noc1", "console-1")


@dataclass
class Hit:
    hook: str
    key: str
    status: int
    body: dict[str, Any]


@dataclass
class Receivers:
    """Both hooks' receivers on one loopback port (``/pager/…``, ``/chat/…``):
    the first request each hook makes is answered 503, every other 202."""

    base: str = ""
    hits: list[Hit] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        hook = request.path.split("/")[1]
        status = 202 if any(h.hook == hook for h in self.hits) else 503
        self.hits.append(Hit(hook, request.headers.get(DELIVERY_KEY_HEADER, ""), status, await request.json()))
        return web.Response(status=status, text="accepted" if status == 202 else "try later")

    def delivered(self, kind: str) -> set[str]:
        return {h.hook for h in self.hits if h.status == 202 and h.key.endswith(":" + kind)}


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    rx = Receivers()
    async with listening(rx.handle) as rx.base:
        yield rx


def with_hooks(cfg: Path, rx: Receivers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two hooks on the alert events: ``pager`` (PagerDuty, URL and routing
    key from the environment), ``chat`` (generic, URL from a file)."""
    monkeypatch.setenv("A2_PAGER_URL", f"{rx.base}/pager/{CANARY_TOKEN}?token={CANARY_TOKEN}")
    monkeypatch.setenv("A2_PAGER_KEY", CANARY_KEY)
    url_file = tmp_path / "chat-url"
    url_file.write_text(f"{rx.base}/chat/{CANARY_TOKEN}\n")
    events = '["alert.raised", "alert.acknowledged", "alert.resolved"]'
    cfg.write_text(cfg.read_text() + f"""
[[notify]]
name = "pager"
kind = "webhook"
format = "pagerduty"
url_env = "A2_PAGER_URL"
routing_key_env = "A2_PAGER_KEY"
events = {events}

[[notify]]
name = "chat"
kind = "webhook"
format = "generic"
url_file = "{url_file}"
events = {events}
""")
    return cfg


async def test_one_host_failure_is_notified_once_per_hook_then_its_ack_and_resolution_without_leaking_secrets(
        world: SimWorld, receivers: Receivers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture):
    monkeypatch.setattr(notifier_module, "retry_delay", lambda attempt: timedelta(milliseconds=100))
    monkeypatch.setattr(notifier_module, "EVERY", 0.1)
    caplog.set_level(logging.DEBUG, logger="ksystui")
    db = tmp_path / "service.db"
    state = tmp_path / "state"
    async with SimRunner(world, state):
        cfg = with_hooks(service_config(state, f"sqlite:///{db}", interval=0.5), receivers, tmp_path, monkeypatch)
        engine = open_engine(f"sqlite:///{db}")
        feed, outbox = Feed(engine), Deliveries(engine)
        try:
            async with Service(load_config(cfg).config, tick=0.1) as service:
                await service.leading.wait()
                world.faults.inject("host_failure", "raichu")
                await eventually(lambda: receivers.delivered("alert.raised") == set(HOOKS), 30)
                (alert,) = await asyncio.to_thread(feed.alerts)
                assert (alert.event, alert.resource, alert.node) == ("HOST_FAILURE", "raichu", "r7r3m108")

                assert await asyncio.to_thread(feed.acknowledge, alert.id, ALICE, "paging the customer")
                await eventually(lambda: receivers.delivered("alert.acknowledged") == set(HOOKS), 30)

                world.faults.clear("host_failure", "raichu")  # the host operates again: the alert resolves
                await eventually(lambda: receivers.delivered("alert.resolved") == set(HOOKS), 30)

                def all_recorded() -> bool:
                    return all(d.state == "delivered" for d in outbox.log())
                await eventually(all_recorded, 10)
        finally:
            engine.dispose()

    # exactly one delivered notification per hook and delivery key; each hook's first attempt failed
    delivered = Counter((h.hook, h.key) for h in receivers.hits if h.status == 202)
    assert sorted(delivered.values()) == [1] * 6 and {hook for hook, _ in delivered} == set(HOOKS)
    for hook in HOOKS:
        first = next(h for h in receivers.hits if h.hook == hook)
        assert first.status == 503 and first.key.endswith(":alert.raised")
    # PagerDuty threads the three by the alert's incident
    pager = [h.body for h in receivers.hits if h.hook == "pager" and h.status == 202]
    assert [b["event_action"] for b in pager] == ["trigger", "acknowledge", "resolve"]
    assert len({b["dedup_key"] for b in pager}) == 1 and pager[0]["routing_key"] == CANARY_KEY

    engine = open_engine(f"sqlite:///{db}")
    try:
        log = {(d.hook, d.kind): d for d in Deliveries(engine).log()}
        record = Feed(engine).alert(alert.id)
    finally:
        engine.dispose()
    assert {k: (d.state, d.attempts) for k, d in log.items()} == {
        (hook, kind): ("delivered", 2 if kind == "alert.raised" else 1)
        for hook in HOOKS for kind in ("alert.raised", "alert.acknowledged", "alert.resolved")}
    assert log["pager", "alert.raised"].last_status == "HTTP 202"
    assert record.resolved and "raichu" in (record.resolved_why or "")
    assert record.notified == ("chat ✓", "pager ✓")  # what the alerts view's NOTIFIED column shows

    out = io.StringIO()
    assert await run_notify_log(GlobalOptions(config=cfg), out) == 0
    shown = out.getvalue()
    assert shown.count("delivered") == 6 and "HOST_FAILURE on raichu" in shown
    raised = [line for line in shown.splitlines() if "alert.raised" in line and "delivered" in line]
    assert len(raised) == 2 and all(line.split()[6] == "2" for line in raised), shown
    json_out = io.StringIO()
    await run_notify_log(GlobalOptions(config=cfg), json_out, as_json=True, hook="pager", state="delivered")
    assert [json.loads(line)["hook"] for line in json_out.getvalue().splitlines()] == ["pager"] * 3

    # the canaries: sent to the receivers (that is their purpose), stored and logged nowhere
    logged = "\n".join(LogfmtFormatter().format(r) for r in caplog.records)  # with the structured fields
    assert "hook=pager" in logged and "key=ksystui:alert:" in logged
    bundle = tmp_path / "incident.db"  # an incident export of the whole run, as an auditor would get it
    engine = open_engine(f"sqlite:///{db}")
    try:
        export_bundle(engine, bundle, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    finally:
        engine.dispose()
    files = [p for p in tmp_path.iterdir() if p.name.startswith(("service.db", "incident.db"))]
    assert bundle in files and any(p.stat().st_size for p in files)
    for secret in (CANARY_TOKEN, CANARY_KEY):
        for p in files:
            assert secret.encode() not in p.read_bytes(), p
        assert secret not in logged and secret not in caplog.text
        assert secret not in shown and secret not in json_out.getvalue()
    assert "notification not delivered" in logged and "notification delivered" in logged
