"""The composition root on its own: what it builds from a configuration,
and what a database it cannot open means to whoever asked."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

import pytest

from ksystui.bootstrap import (
    Need,
    StartupError,
    check_scope,
    client_runtime,
    console_app,
    console_id,
    demo_configuration,
    load,
    runtime,
)
from ksystui.config import parse_config
from tests.waiting import eventually

from .conftest import ksystui, quiet_fleet


@pytest.fixture
def broken(tmp_path):
    """A valid configuration whose database cannot be opened."""
    path = tmp_path / "config.toml"
    path.write_text(quiet_fleet(tmp_path / "no" / "such" / "dir" / "k.db"))
    return path


async def test_one_runtime_wires_queue_fleet_dispatcher_and_port(quiet):
    err = io.StringIO()
    async with runtime(load(quiet.config, err), err, queue=Need.REQUIRED) as rt:
        assert set(rt.fleet.monitors) == {"nodeA", "nodeB"}
        assert rt.arbiter is not None and rt.dispatcher is not None
        assert rt.arbiter.queue is rt.queue is rt.dispatcher.queue and rt.arbiter.dispatcher is rt.dispatcher
        assert rt.arbiter.actor == rt.dispatcher.actor == rt.actor
        assert [(t.name, t.default_node, rt.priority(t.name)) for t in rt.tenants] == [("customerA", "nodeA", 1),
                                                                                       ("customerB", "nodeB", 2)]
        assert rt.priority("nobody") == 99
    assert err.getvalue() == ""


async def test_without_a_queue_there_is_no_dispatcher_and_no_port(quiet):
    err = io.StringIO()
    async with runtime(load(quiet.config, err), err) as rt:
        assert (rt.queue, rt.dispatcher, rt.arbiter, rt.store) == (None, None, None, None)


async def test_a_database_that_cannot_open(broken):
    err = io.StringIO()
    loaded = load(broken, err)
    with pytest.raises(StartupError, match="database unavailable"):  # the arbiter verbs: nothing to do
        async with runtime(loaded, err, queue=Need.REQUIRED):
            pass
    async with runtime(loaded, err, record=True) as rt:  # status --direct: it still reports
        assert rt.arbiter is None and rt.store is None and rt.fleet.monitors
    said = err.getvalue().splitlines()
    assert any(line.startswith("warning: database unavailable, nothing will be recorded") for line in said)


def test_arbiter_verbs_say_so_in_one_line(broken):
    run = ksystui("queue", "--config", str(broken))
    assert run.rc == 2 and run.err.startswith("ksystui queue: database unavailable") and run.err.count("\n") == 1


async def test_the_console_app_is_built_as_asked(quiet):
    err = io.StringIO()
    async with client_runtime(load(quiet.config, err), err, scope="customerB", readonly=True) as rt:
        app = console_app(rt, scope="customerB", readonly=True, theme=None)
        assert (app.scope, app.readonly, app.theme_name, app.arbiter) == ("customerB", True, "dark", rt.port)
        assert app.fleet is rt.source and app.shared is rt.source and rt.port.readonly
        with pytest.raises(StartupError, match="no tenant 'nobody'"):
            console_app(rt, scope="nobody", readonly=False, theme="light")


async def test_a_console_is_a_client_of_the_database_only(quiet):
    """No fleet, no transport, no dispatcher: the console reads the database
    the provider service writes, and plans through it."""
    err = io.StringIO()
    async with client_runtime(load(quiet.config, err), err) as rt:
        assert set(rt.source.monitors) == {"nodeA", "nodeB"}
        assert rt.port.fleet is rt.source and rt.port.dispatcher is None and rt.port.feed is rt.feed
        assert rt.port.queue is rt.queue and rt.port.actor == rt.actor
        assert not any(hasattr(m, "transport") for m in rt.source.monitors.values())
        # `:plan` plans with the configuration's agreements, as `ksystui plan disaster` does
        assert rt.port.plan_context is not None
        assert [(t.name, t.priority) for t in rt.port.plan_context.tenants] == [("customerA", 1), ("customerB", 2)]
    assert err.getvalue() == ""
    async with runtime(load(quiet.config, err), err, queue=Need.REQUIRED) as rt:
        assert rt.arbiter is not None and rt.arbiter.plan_context is not None


async def test_a_console_whose_database_cannot_open_does_not_start(broken):
    err = io.StringIO()
    with pytest.raises(StartupError, match="database unavailable: the console reads the provider service's data"):
        async with client_runtime(load(broken, err), err):
            pass


def test_scope_and_console_ids(tmp_path):
    loaded = parse_config(quiet_fleet(tmp_path / "k.db"), tmp_path / "config.toml")
    check_scope(loaded, None)
    check_scope(loaded, "customerA")
    with pytest.raises(StartupError) as caught:
        check_scope(loaded, "customerC")
    assert "customerA" not in str(caught.value)  # names none of the tenants that do exist
    assert console_id() != console_id()


async def test_a_write_cancelled_as_the_demo_stops_ends_before_its_directory_is_removed():
    """CI saw ``ksystui demo`` end in "Directory not empty": a queue write the
    stopping service had cancelled went on in its thread and anchored the
    audit trail into the directory being removed. Cancelling ``to_thread``
    ends the wait, not the thread; the demo now joins the thread first."""
    release = threading.Event()
    written: list[bool] = []
    started = threading.Event()

    def late_write(state: Path) -> None:
        started.set()
        release.wait(timeout=2)  # released after the block: so long does the stopping demo wait
        try:
            (state / "ksystui.db.anchors").write_text("{}\n")
            written.append(True)
        except FileNotFoundError:
            written.append(False)  # the directory went first

    async with demo_configuration(None, 200.0) as demo:
        state = demo.loaded.path.parent
        write = asyncio.ensure_future(asyncio.to_thread(late_write, state))
        await eventually(started.is_set)
        write.cancel()
    release.set()
    await eventually(lambda: written)
    assert written == [True]
    assert not state.exists()
