"""One provider service, several consoles on its database (SQLite, and
PostgreSQL started by the tests): what the operators of those consoles see
together. The consoles are built as ``ksystui`` builds them; none of them
polls a node or dispatches."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime

import pytest

from ksystui.arbiter.port import ReadOnlyConsole
from ksystui.client.follow import NO_SERVICE
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from tests.waiting import eventually


async def verify(rt, node: str) -> int:
    """What `v` then Enter does in a console: preview, then queue."""
    return await rt.port.submit(await rt.port.preview(node, Op.VERIFY))


async def test_two_consoles_verifying_two_tenants_at_once_run_one_after_the_other(site):
    async with site.service(), site.console() as one, site.console() as two:
        one.source.start()
        two.source.start()
        a, b = await asyncio.gather(verify(one, "r7r3m116"), verify(two, "r7r3m108"))

        async def both_finished() -> bool:
            return all(op.state.terminal for op in await one.queue.operations())

        await eventually(both_finished, 60)
        ops = {op.id: op for op in await two.queue.operations()}
        assert set(ops) == {a, b} and {ops[a].tenant, ops[b].tenant} == {"customerA", "customerB"}
        assert [ops[a].state, ops[b].state] == [OpState.SUCCEEDED, OpState.SUCCEEDED], ops
        first, second = sorted(ops.values(), key=lambda o: o.started_at)
        assert first.finished_at <= second.started_at  # snorlax, the shared recovery host: one after the other
        assert site.world.collisions.entries() == []
        # both consoles see the same queue, from the database
        assert [line.id for line in await one.port.lines()] == [line.id for line in await two.port.lines()]


async def test_a_critical_event_alerts_every_console_and_an_acknowledgement_shows_who_everywhere(site):
    async with site.service(), site.console() as one, site.console() as two:
        told: dict[str, list] = {"one": [], "two": []}
        for name, rt in (("one", one), ("two", two)):
            rt.source.subscribe_shared(lambda news, name=name: told[name].extend(
                (a, datetime.now(UTC)) for a in news.new_alerts))
            rt.source.start()
        site.world.faults.inject("host_failure", "raichu")  # customerB's production host
        await eventually(lambda: told["one"] and told["two"], 30)
        interval = one.config.poll.interval
        for name in ("one", "two"):
            ((alert, seen),) = told[name]
            assert (alert.tenant, alert.node, alert.event, alert.resource) == ("customerB", "r7r3m108",
                                                                               "HOST_FAILURE", "raichu")
            assert alert.proposal is Op.MOVE_UNPLANNED  # the recovery the core proposes
            assert (seen - alert.raised_at).total_seconds() < interval, name  # within one poll interval
        alert_id = told["one"][0][0].id
        assert await one.port.acknowledge(alert_id, "on it, ticket 4711")

        def acked_in_two():
            return next((a for a in two.source.alerts if a.id == alert_id and a.acknowledged), None)

        await eventually(acked_in_two, 10)
        acked = acked_in_two()
        assert acked.acked_by == str(one.actor) and acked.ack_reason == "on it, ticket 4711"
        assert not await two.port.acknowledge(alert_id, "me too")  # it is no longer open
        records = [line for line in await two.port.audit(None, 50) if line.action == "acknowledge"]
        assert len(records) == 1 and records[0].actor == str(one.actor) and "on it, ticket 4711" in records[0].what


async def test_a_readonly_console_cannot_acknowledge(site):
    async with site.service(), site.console(readonly=True) as ro, site.console() as rw:
        rw.source.start()
        site.world.faults.inject("host_failure", "pbrazos")
        await eventually(lambda: rw.source.alerts, 30)
        alert = rw.source.alerts[0]
        await ro.source.catch_up()
        assert [a.id for a in ro.source.alerts] == [alert.id]  # it sees the alert…
        with pytest.raises(ReadOnlyConsole):  # …and cannot acknowledge it, whatever its screen lets through
            await ro.port.acknowledge(alert.id, "not mine to say")
        with pytest.raises(ReadOnlyConsole):
            await ro.port.submit(await ro.port.preview("r7r3m116", Op.VERIFY))
        await rw.source.catch_up()
        assert not rw.source.alerts[0].acknowledged
        assert [line for line in await rw.port.audit(None, 50) if line.action == "acknowledge"] == []


async def test_a_scoped_console_sees_and_acknowledges_only_its_tenants_alerts(site):
    await site.grant("customerB")
    async with site.service(), site.console(scope="customerB") as b, site.console() as all_:
        all_.source.start()
        site.world.faults.inject("host_failure", "pbrazos")  # customerA's
        site.world.faults.inject("host_failure", "raichu")  # customerB's
        await eventually(lambda: len(all_.source.alerts) == 2, 30)
        await b.source.catch_up()
        assert {a.tenant for a in b.source.alerts} == {"customerB"}
        assert set(b.source.snapshots) == {"r7r3m108"}
        theirs = next(a for a in all_.source.alerts if a.tenant == "customerA")
        assert not await b.port.acknowledge(theirs.id, "not my tenant")


async def test_without_a_service_the_console_says_so_and_shows_the_data_it_has(site):
    async with site.console() as rt:
        assert rt.source.service_note == NO_SERVICE
        assert "start `ksystui serve`" in rt.source.service_note
        rt.source.start()
        async with site.service():
            await eventually(lambda: rt.source.service_note is None, 10)
            await eventually(lambda: rt.source.snapshots["r7r3m116"].vms, 10)


async def test_a_console_opens_without_any_node_credential(site, monkeypatch):
    """A console reads no token and builds no transport: a REST node whose
    token variable is unset does not keep it from opening."""
    monkeypatch.delenv("KSYSTUI_NO_SUCH_TOKEN", raising=False)
    text = site.config.read_text()
    text, n = re.subn(r'(?m)^token_file = .*$', 'token_env = "KSYSTUI_NO_SUCH_TOKEN"', text)
    assert n == 1 and "KSYSTUI_NO_SUCH_TOKEN" not in os.environ
    site.config.write_text(text)
    async with site.console() as rt:
        assert set(rt.source.monitors) == {"r7r3m116", "r7r3m108", "ksysorch-dal12"}
        assert not hasattr(rt, "fleet")


async def test_reading_a_node_now_asks_the_service_and_waits_for_its_newer_snapshot(site):
    """What a console plans with (the arbiter port's ``poll_once``): never a
    node of its own, the service's next reading of it."""
    async with site.service(), site.console() as rt:
        async def read_once() -> bool:
            await rt.source.catch_up()
            return bool(rt.source.snapshots["r7r3m116"].vms)

        await eventually(read_once, 10)
        before = rt.source.snapshots["r7r3m116"].health.last_attempt
        after = (await rt.source.monitors["r7r3m116"].poll_once()).health.last_attempt
        assert before is not None and after is not None and after > before
        kinds = [c.kind for c in await rt.feed.changes_since(0) if c.node == "r7r3m116"]
        assert "refresh" in kinds
