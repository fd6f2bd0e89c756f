"""A tenant-scoped console shows one tenant and nothing of any other: not in
tables, details, completions, the palette, events or the hosts view."""

from __future__ import annotations

from textual.command import CommandPalette

from ksystui.ui.palette import CommandScreen
from ksystui.ui.screens import TableScreen

from .conftest import alerting_console, console, press_until, screen_text, showing, until

OTHERS = ["customerA", "customerC", "r7r3m116", "ksysorch-dal12", "pbrazos", "vmhmc1", "salocal_A", "cA_", "cC_",
          "dh-wdc06", "DAL", "custC"]


def assert_clean(text: str) -> None:
    for word in OTHERS:
        assert word not in text, f"{word!r} leaked into a customerB-scoped screen"


async def test_every_view_and_the_palette_show_only_the_scoped_tenant(world, polled):
    world.faults.inject("host_failure", "pbrazos")  # another tenant's critical event
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = alerting_console(world, polled, scope="customerB", arbiter=None)
    seen = []
    async with app.run_test(size=(160, 50)) as pilot:
        views = ("overview", "vms", "replication", "events", "hosts", "nodes", "queue", "audit", "alerts")
        for key, view in enumerate(views):
            await pilot.press(str(key))
            await until(pilot, lambda v=view: showing(app, v))  # the view itself, not a screen still opening
            text = screen_text(app)
            seen.append(text)
            assert_clean(text)
        await pilot.press("4")
        await until(pilot, lambda: showing(app, "hosts"))
        assert "1 other tenant" in screen_text(app)
        # drill into every kind of row there is
        for key in ("0", "1", "3", "5", "8"):
            await pilot.press(key)
            await until(pilot, lambda k=key: showing(app, views[int(k)]) and app.screen.selected() is not None)
            await pilot.press("enter")
            await until(pilot, lambda: not isinstance(app.screen, TableScreen) or app.screen.view == "tenant")
            assert_clean(screen_text(app))
            await pilot.press("escape")
        await pilot.press("0")
        await until(pilot, lambda: showing(app, "overview") and app.screen.selected() is not None)
        await pilot.press("enter")  # tenant detail
        await until(pilot, lambda: showing(app, "tenant"))
        assert "raichu" in screen_text(app)
        assert_clean(screen_text(app))
        # the palette lists only this tenant's commands
        await press_until(pilot, lambda: isinstance(app.screen, CommandPalette), "ctrl+p")
        await press_until(pilot, lambda: ":tenant customerB" in screen_text(app), *"tenant")
        assert_clean(screen_text(app))
        await press_until(pilot, lambda: not isinstance(app.screen, CommandPalette), "escape")
        # completion and commands cannot reach other tenants
        assert all("customerA" not in w and "customerC" not in w for w in app.command_words())
        await press_until(pilot, lambda: isinstance(app.screen, CommandScreen), "colon")
        await press_until(pilot, lambda: not isinstance(app.screen, CommandScreen), *"tenant_customerA", "escape")
        app.run_command("tenant customerA")
        app.run_command("scope all")
        await until(pilot, lambda: app.noted("no such tenant in this console")
                    and app.noted("this console is scoped to one tenant"))
        assert app.scope == "customerB"
        assert_clean(screen_text(app))
        # alerts: customerA's HOST_FAILURE never reaches this console's toasts
        assert all("customerA" not in n for n in app.notes)
    assert any("customerB" in t for t in seen)


async def test_an_unscoped_console_can_scope_and_unscope(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        app.run_command("scope customerA")
        await until(pilot, lambda: app.scope == "customerA" and showing(app, "overview"))
        text = screen_text(app)
        assert "customerA" in text and "customerB" not in text
        app.run_command("scope all")
        await until(pilot, lambda: app.scope is None and showing(app, "overview") and "customerB" in screen_text(app))
