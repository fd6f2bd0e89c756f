"""`:alerts` (key 8): the alert records every console shares, newest first,
with the recovery the core proposes; `a` acknowledges one with a written
reason, and the row then says who did it, when and why."""

from __future__ import annotations

from ksystui.ui.operate import ReasonScreen
from ksystui.ui.screens import DetailScreen

from .conftest import alerting_console, press_until, screen_text, showing, until


def alerts(app) -> list[tuple[str, ...]]:
    return [r.cells for r in app.screen.table.visible_rows()] if showing(app, "alerts") else []


async def test_alerts_list_the_shared_records_with_their_recovery_and_who_acknowledged(world, polled):
    world.faults.inject("host_failure", "pbrazos")
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = alerting_console(world, polled)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("8")
        await until(pilot, lambda: len(alerts(app)) == 2)
        by_tenant = {cells[0]: cells for cells in alerts(app)}
        assert set(by_tenant) == {"customerA", "customerB"}
        a = by_tenant["customerA"]
        assert a[1] == "r7r3m116" and a[3] == "HOST_FAILURE" and a[4] == "pbrazos" and a[6] == "unplanned move"
        assert a[7] == "-"  # nobody acknowledged it yet
        app.screen.table.move_cursor_to(next(r.key for r in app.screen.table.visible_rows() if r.cells[0] == "customerA"))
        await press_until(pilot, lambda: isinstance(app.screen, ReasonScreen), "a")
        await pilot.press(*"ticket4711", "enter")
        await until(pilot, lambda: by_node(app)["r7r3m116"][7] == "alice@noc1/console-1")
        row = by_node(app)["r7r3m116"]
        assert row[9] == "ticket4711" and row[8] != "-"
        assert by_node(app)["r7r3m108"][7] == "-"  # the other one is still open
        styles = {r.cells[1]: r.style for r in app.screen.table.visible_rows()}
        assert styles == {"r7r3m116": None, "r7r3m108": "alert"}
        # acknowledged again: said so, nothing asked
        await press_until(pilot, lambda: app.noted("already acknowledged by alice@noc1/console-1"), "a")
        assert not isinstance(app.screen, ReasonScreen)
        app.screen.table.move_cursor_to(next(r.key for r in app.screen.table.visible_rows() if r.cells[0] == "customerB"))
        await pilot.press("enter")  # the event itself
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.title_text == "Event HOST_FAILURE"
        assert ("resource", "raichu") in app.screen.pairs


def by_node(app) -> dict[str, tuple[str, ...]]:
    return {cells[1]: cells for cells in alerts(app)}


async def test_a_scoped_console_lists_only_its_tenants_alerts(world, polled):
    world.faults.inject("host_failure", "pbrazos")
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = alerting_console(world, polled, scope="customerB")
    async with app.run_test(size=(140, 40)) as pilot:
        app.run_command("alerts")
        await until(pilot, lambda: len(alerts(app)) == 1)
        assert alerts(app)[0][0] == "customerB"


async def test_a_readonly_console_cannot_acknowledge(world, polled):
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = alerting_console(world, polled, readonly=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await press_until(pilot, lambda: len(alerts(app)) == 1 and app.screen.selected() is not None, "8")
        await press_until(pilot, lambda: app.noted("read-only mode: this console changes nothing"), "a")
        assert not isinstance(app.screen, ReasonScreen) and not app.book.alerts[0].acknowledged


async def test_no_provider_service_is_said_in_a_banner_and_once_in_a_toast(world, polled):
    app = alerting_console(world, polled)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        app.book.set_note("no provider service is running on this database: start `ksystui serve`")
        await until(pilot, lambda: "⚠ no provider service is running" in banner(app))
        assert sum("no provider service" in n for n in app.notes) == 1
        app.book.set_note(None)
        await until(pilot, lambda: "no provider service" not in banner(app))
        assert app.noted("a provider service runs again")



def banner(app) -> str:
    return screen_text(app) if showing(app, "overview") else ""
