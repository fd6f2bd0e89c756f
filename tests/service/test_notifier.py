"""The notifier on its own (a SQLite database, a recording sender, no
service): an operation that ended is notified and resolves the alert it
repairs; a hook's filters hold; a failing hook is tried up to its
``max_attempts``; a hook no longer configured is given up; a notifier that
lost the lease stops."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import click
import pytest
import sqlalchemy as sa

from ksystui.cli.notify import run_notify_log
from ksystui.cli.options import GlobalOptions, Refused
from ksystui.config_oncall import NotifyConfig
from ksystui.core.actor import Actor
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.notices import Notice, hook_test_notice
from ksystui.core.opstate import OpState
from ksystui.notify.send import SendOutcome
from ksystui.service import notifier as notifier_module
from ksystui.service.notifier import Notifier, notice_from_json, notice_json
from ksystui.store import AsyncFeed, AsyncQueue, Feed, LeaseStore, NewOp, Queue
from ksystui.store.deliveries import AsyncDeliveries, Deliveries, NewDelivery, StaleCursor
from ksystui.store.engine import migrate, open_engine
from tests.notify.conftest import hooks_config
from tests.store.test_feed import snap

SVC = Actor("ksystui-service", "svc", "svc1")


def hook(name: str, **kw) -> NotifyConfig:
    return NotifyConfig(name=name, kind="webhook", url=f"http://127.0.0.1:9/{name}", **kw)


class Recorder:
    def __init__(self, fail: set[str] = frozenset()) -> None:
        self.sent: list[tuple[str, Notice]] = []
        self.fail = set(fail)

    async def __call__(self, h: NotifyConfig, notice: Notice) -> SendOutcome:
        self.sent.append((h.name, notice))
        if h.name in self.fail:
            return SendOutcome(False, "HTTP 500", "HTTP 500 Internal Server Error")
        return SendOutcome(True, "HTTP 200", None)

    def kinds(self, name: str) -> list[str]:
        return [n.kind for h, n in self.sent if h == name]


def notifier(engine: sa.Engine, hooks: list[NotifyConfig], sender: Recorder, **kw) -> Notifier:
    return Notifier(hooks, AsyncFeed(Feed(engine)), AsyncQueue(Queue(engine)), AsyncDeliveries(Deliveries(engine, **kw)),
                    on_fenced=lambda: None, sender=sender)


async def step(n: Notifier, cursor: int) -> int:
    cursor = await n.handle_changes(cursor)
    await n.send_due()
    return cursor


def test_a_notice_is_kept_as_it_was_sent():

    notice = hook_test_notice("pager", datetime(2026, 11, 30, tzinfo=UTC), "t1")
    assert notice_from_json(notice_json(notice)) == notice


async def test_an_operation_that_ended_is_notified_and_resolves_the_alert_it_repairs(engine):
    rec = Recorder()
    n = notifier(engine, [hook("ops"), hook("b-only", tenants=["customerB"]),
                          hook("critical-only", severities=["critical"], events=["operation.finished"])], rec)
    cursor = await n.start_cursor(0)
    feed, queue = Feed(engine), Queue(engine)
    failed = KsysEvent("VERIFY_FAILED", "error", "Verification has failed.", "2026-11-30T08:59:00Z", None, "21")
    (alert,) = feed.publish(snap(events=(failed,))).new_alerts
    cursor = await step(n, cursor)
    assert rec.kinds("ops") == ["alert.raised"] and rec.kinds("b-only") == [] and rec.kinds("critical-only") == []

    op = queue.submit(NewOp("customerA", "n1", Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"],
                            recovery_hosts=["uuid-b"]), SVC)
    fence = queue.admit(op.id, "svc1", SVC)
    assert fence is not None and queue.mark_running(op.id, fence, SVC)
    assert queue.finish(op.id, fence, OpState.SUCCEEDED, 0, "verified", "", SVC)
    cursor = await step(n, cursor)  # the operation's end: notified, and the alert resolved
    cursor = await step(n, cursor)  # the resolution's change: notified
    assert rec.kinds("ops") == ["alert.raised", "operation.finished", "alert.resolved"]
    (_, finished) = rec.sent[1]
    assert finished.severity == "info" and finished.ref == op.id and finished.tenant == "customerA"
    assert rec.kinds("critical-only") == []  # a verify that succeeded is not critical
    record = feed.alert(alert.id)
    assert record.resolved_why == f"operation #{op.id} (verify) succeeded"
    assert record.notified == ("ops ✓",)
    await step(n, await step(n, cursor))
    assert len(rec.sent) == 3  # nothing is sent twice


async def test_a_failing_hook_is_tried_up_to_its_max_attempts_and_a_removed_one_is_given_up(engine, monkeypatch):
    monkeypatch.setattr(notifier_module, "retry_delay", lambda attempt: timedelta(0))
    rec = Recorder(fail={"flaky"})
    n = notifier(engine, [hook("flaky", max_attempts=3), hook("gone")], rec)
    cursor = await n.start_cursor(0)
    Feed(engine).publish(snap(events=(KsysEvent("HOST_FAILURE", "error", "x", "2026-11-30T08:59:00Z", "hostA",
                                                "17"),)))
    await n.handle_changes(cursor)
    n.hooks = {"flaky": n.hooks["flaky"]}  # "gone" was removed from the configuration meanwhile
    for _ in range(5):
        await n.send_due()
    log = {d.hook: d for d in Deliveries(engine).log()}
    assert (log["flaky"].state, log["flaky"].attempts, log["flaky"].last_status) == ("gave_up", 3, "HTTP 500")
    assert (log["gone"].state, log["gone"].last_error) == ("gave_up", "hook gone is no longer configured")
    assert rec.kinds("flaky") == ["alert.raised"] * 3 and rec.kinds("gone") == []


async def test_a_notifier_that_lost_the_lease_stops_and_changes_nothing(engine):
    lease = LeaseStore(engine)
    epoch = lease.take("svc1")
    stopped: list[bool] = []
    n = Notifier([hook("ops")], AsyncFeed(Feed(engine)), AsyncQueue(Queue(engine)),
                 AsyncDeliveries(Deliveries(engine, guard=lease.guard("svc1", epoch))),
                 on_fenced=lambda: stopped.append(True), sender=Recorder(), every=0.01)
    await n.start_cursor(0)
    lease.release("svc1", epoch)
    lease.take("svc2")
    Feed(engine).publish(snap(events=(KsysEvent("HOST_FAILURE", "error", "x", "2026-11-30T08:59:00Z", "hostA",
                                                "17"),)))
    await n.run()  # returns: fenced
    assert stopped == [True] and Deliveries(engine).log() == [] and Deliveries(engine).cursor() == 0
    # a term whose lease is gone before its notifier starts: told at once, and nothing runs
    late = Notifier([hook("ops")], AsyncFeed(Feed(engine)), AsyncQueue(Queue(engine)),
                    AsyncDeliveries(Deliveries(engine, guard=lease.guard("svc1", epoch))),
                    on_fenced=lambda: stopped.append(True), sender=Recorder(), every=0.01)
    assert await late.start_cursor(0) is None and stopped == [True, True]


async def test_a_new_leader_sends_what_the_former_one_enqueued_and_enqueues_nothing_twice(engine):
    first, second = Recorder(), Recorder()
    old = notifier(engine, [hook("ops")], first)
    cursor = await old.start_cursor(0)
    Feed(engine).publish(snap(events=(KsysEvent("HOST_FAILURE", "error", "x", "2026-11-30T08:59:00Z", "hostA",
                                                "17"),)))
    await old.handle_changes(cursor)  # enqueued, then the former leader died before sending
    new = notifier(engine, [hook("ops")], second)
    resumed = await new.start_cursor(0)
    assert resumed == Deliveries(engine).cursor() > cursor
    await step(new, resumed)
    await step(new, await step(new, resumed))
    assert first.sent == [] and second.kinds("ops") == ["alert.raised"]
    # a notifier still holding the old cursor writes nothing (the cursor moved under it)
    with pytest.raises(StaleCursor):
        await old.handle_changes(cursor)
    assert [d.kind for d in Deliveries(engine).log()] == ["alert.raised"]


async def test_notify_log_shows_one_tenant_s_notifications_with_tenant_and_refuses_an_unknown_tenant(tmp_path):
    cfg = hooks_config(tmp_path, "")
    engine = open_engine(f"sqlite:///{tmp_path / 'k.db'}")
    try:
        migrate(engine)
        outbox = Deliveries(engine)
        outbox.start_cursor(0)
        outbox.enqueue(0, 1, [NewDelivery("ops", f"ksystui:op:{i}:operation.finished", f"ksystui:op:{i}",
                                          "operation.finished", tenant, "n1", i, "info", f"operation #{i} for {tenant}",
                                          "{}") for i, tenant in ((1, "customerA"), (2, "customerZ"))])
    finally:
        engine.dispose()
    out = io.StringIO()
    assert await run_notify_log(GlobalOptions(config=cfg, tenant="customerA"), out) == 0
    assert "operation #1 for customerA" in out.getvalue() and "customerZ" not in out.getvalue()
    assert "pending" in out.getvalue() and "key ksystui:op:1:operation.finished" in out.getvalue()
    with click.Context(click.Command("log")), pytest.raises(Refused, match="no tenant named 'customerZ'"):
        await run_notify_log(GlobalOptions(config=cfg, tenant="customerZ"), io.StringIO())
