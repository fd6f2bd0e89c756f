"""A tenant-scoped console shows one tenant and nothing of any other: not in
tables, details, completions, the palette, events or the hosts view."""

from __future__ import annotations

from ksystui.ui.app import ControlRoomApp
from ksystui.ui.screens import TableScreen, TableViewScreen

from .conftest import screen_text, tenant_infos, until

OTHERS = ["customerA", "customerC", "r7r3m116", "ksysorch-dal12", "pbrazos", "vmhmc1", "salocal_A", "cA_", "cC_",
          "dh-wdc06", "DAL", "custC"]


def showing(app, view: str) -> bool:
    screen = app.screen
    return getattr(screen, "view", None) == view and (not isinstance(screen, TableViewScreen) or screen.ready)


def assert_clean(text: str) -> None:
    for word in OTHERS:
        assert word not in text, f"{word!r} leaked into a customerB-scoped screen"


async def test_every_view_and_the_palette_show_only_the_scoped_tenant(world, polled):
    world.faults.inject("host_failure", "pbrazos")  # another tenant's critical event
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = ControlRoomApp(polled, tenant_infos(world), scope="customerB", start_fleet=False)
    seen = []
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        views = ("overview", "vms", "replication", "events", "hosts", "nodes", "queue", "audit")
        for key, view in enumerate(views):
            await pilot.press(str(key))
            await until(pilot, lambda v=view: showing(app, v), settle=0.1)  # the view itself, not a screen still opening
            text = screen_text(app)
            seen.append(text)
            assert_clean(text)
        await pilot.press("4")
        await until(pilot, lambda: showing(app, "hosts"), settle=0.1)
        assert "1 other tenant" in screen_text(app)
        # drill into every kind of row there is
        for key in ("0", "1", "3", "5"):
            await pilot.press(key)
            await until(pilot, lambda k=key: showing(app, views[int(k)]) and app.screen.selected() is not None,
                        settle=0.1)
            await pilot.press("enter")
            await until(pilot, lambda: not isinstance(app.screen, TableScreen) or app.screen.view == "tenant",
                        settle=0.1)
            assert_clean(screen_text(app))
            await pilot.press("escape")
        await pilot.press("0")
        await until(pilot, lambda: showing(app, "overview") and app.screen.selected() is not None, settle=0.1)
        await pilot.press("enter")  # tenant detail
        await until(pilot, lambda: showing(app, "tenant"), settle=0.1)
        assert "raichu" in screen_text(app)
        assert_clean(screen_text(app))
        # the palette lists only this tenant's commands
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"tenant")
        await pilot.pause(0.5)
        assert "customerB" in screen_text(app)
        assert_clean(screen_text(app))
        await pilot.press("escape")
        # completion and commands cannot reach other tenants
        assert all("customerA" not in w and "customerC" not in w for w in app.command_words())
        await pilot.press("colon", *"tenant customerA".replace(" ", "_"))
        await pilot.press("escape")
        app.run_command("tenant customerA")
        app.run_command("scope all")
        await pilot.pause(0.2)
        assert app.scope == "customerB"
        assert_clean(screen_text(app))
        # alerts: customerA's HOST_FAILURE never reaches this console's toasts
        assert all("customerA" not in n.message for n in app._notifications)
    assert any("customerB" in t for t in seen)


async def test_an_unscoped_console_can_scope_and_unscope(world, polled):
    app = ControlRoomApp(polled, tenant_infos(world), start_fleet=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command("scope customerA")
        await pilot.pause(0.2)
        assert app.scope == "customerA"
        text = screen_text(app)
        assert "customerA" in text and "customerB" not in text
        app.run_command("scope all")
        await pilot.pause(0.2)
        assert app.scope is None and "customerB" in screen_text(app)
