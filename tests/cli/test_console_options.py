"""The console and the demo built by the command line honour the global
options: a read-only demo refuses every operation, a scoped console shows
one tenant, the theme is the one asked for. The Textual app runs headless
(``run_test``) in place of the terminal: the rest is the real program."""

from __future__ import annotations

import pytest

from ksystui.ui.app import ControlRoomApp
from ksystui.ui.operate import ConfirmScreen
from tests.ui.conftest import screen_text, until
from tests.waiting import eventually

from .conftest import aksystui, ksystui

OPERATION_KEYS = ("d", "v", "m", "M", "t", "c")


@pytest.fixture
def headless(monkeypatch):
    """Run the console's app headless with ``drive(app, pilot)``; returns the apps run.
    What the app tells the operator (its toasts) is kept in ``app.told``."""
    apps: list[ControlRoomApp] = []
    driver = {"drive": None}
    notify = ControlRoomApp.notify

    def told(self, message, *args, **kwargs):
        self.__dict__.setdefault("told", []).append(str(message))
        return notify(self, message, *args, **kwargs)

    monkeypatch.setattr(ControlRoomApp, "notify", told)

    async def run_async(self, *args, **kwargs):
        apps.append(self)
        async with self.run_test(size=(140, 45)) as pilot:
            await until(pilot, lambda: "r7r3m116" in screen_text(self) or "r7r3m108" in screen_text(self),
                        timeout=30)
            if driver["drive"] is not None:
                await driver["drive"](self, pilot)
        return None

    monkeypatch.setattr(ControlRoomApp, "run_async", run_async)

    def use(drive=None):
        driver["drive"] = drive
        return apps

    return use


async def refuses_every_operation(app, pilot):
    assert app.readonly and app.arbiter is not None  # it could queue: read-only is what stops it
    for key in OPERATION_KEYS:
        app.__dict__["told"] = []
        await pilot.press(key)
        await until(pilot, lambda: any("read-only" in m for m in app.__dict__["told"]), settle=0)
        assert not isinstance(app.screen, ConfirmScreen), key
    assert await app.arbiter.queue.operations() == []


@pytest.mark.parametrize("args", [["--readonly", "demo"], ["demo", "--readonly"]])
def test_readonly_demo_refuses_every_operation(headless, args):
    apps = headless(refuses_every_operation)
    run = ksystui(*args, "--speed", "200")
    assert run.rc == 0, run
    assert len(apps) == 1 and apps[0].readonly


@pytest.mark.parametrize("args", [["--tenant", "customerB", "--theme", "light", "demo"],
                                  ["demo", "--tenant", "customerB", "--theme", "light"]])
def test_scoped_themed_demo(headless, args):
    async def one_tenant(app, pilot):
        await until(pilot, lambda: "r7r3m108" in screen_text(app))
        text = screen_text(app)
        assert "customerA" not in text and "r7r3m116" not in text

    apps = headless(one_tenant)
    run = ksystui(*args, "--speed", "200")
    assert run.rc == 0, run
    assert apps[0].scope == "customerB" and apps[0].theme_name == "light"


async def test_console_takes_every_global_option(headless, served):
    _, cfg = served
    apps = headless(refuses_every_operation)
    run = await aksystui("--config", str(cfg), "--tenant", "customerA", "--readonly", "--theme", "high-contrast")
    assert run.rc == 0, run
    (app,) = apps
    assert (app.scope, app.readonly, app.theme_name) == ("customerA", True, "high-contrast")


async def test_a_console_without_a_provider_service_says_so(headless, served):
    """No `ksystui serve` on its database: the console opens on what the
    database holds and says why it will not get fresher."""
    _, cfg = served

    async def says_no_service(app, pilot):
        await until(pilot, lambda: "no provider service is running on this database" in screen_text(app))
        assert any("start `ksystui serve`" in m for m in app.__dict__.get("told", []))

    headless(says_no_service)
    run = await aksystui("--config", str(cfg))
    assert run.rc == 0, run


def test_a_console_attached_as_the_demo_says_queues_into_the_demos_arbiter(headless):
    """Tried as a new user: a second console on the demo's config.toml used
    another database than the demo, so both confirmations said "it would
    start at once" and two tenants' operations collided on snorlax. The demo
    now says how to attach one, and that console shares the demo's queue."""
    import io
    import re
    from pathlib import Path

    from ksystui.bootstrap import client_runtime, load
    from ksystui.core.lifecycle import Op

    seen: dict[str, object] = {}

    async def attach_a_second_console(app, pilot):
        said = "\n".join(app.__dict__.get("told", []))
        match = re.search(r"Attach a second console:\s+ksystui --config (\S+)", said)
        assert match, said
        assert f"ksystui --readonly --config {match.group(1)}" in said
        assert re.search(r"Simulator admin endpoint: http://127\.0\.0\.1:\d+", said)
        err = io.StringIO()
        async with client_runtime(load(Path(match.group(1)), err), err) as second:
            assert second.source.service_note is None  # the demo's service leads on that database
            preview = await second.arbiter.preview("r7r3m116", Op.VERIFY)
            seen["id"] = await second.arbiter.submit(preview)
        assert app.arbiter is not None
        seen["demo sees"] = [o.id for o in await app.arbiter.queue.operations()]

        async def ran() -> bool:  # the demo's service dispatched it: no console does
            return all(o.state.terminal for o in await app.arbiter.queue.operations())

        await eventually(ran, 30)
        seen["states"] = [str(o.state) for o in await app.arbiter.queue.operations()]

    headless(attach_a_second_console)
    run = ksystui("demo", "--speed", "200")
    assert run.rc == 0, run
    assert seen["demo sees"] == [seen["id"]] and seen["states"] == ["succeeded"]
    assert "Attach a second console:   ksystui --config" in run.err  # and on stderr, seen after the demo
