"""`:alerts` (key 8): the open critical events of every tenant in scope, with
the recovery the core proposes; acknowledging one takes it off the list."""

from __future__ import annotations

from ksystui.ui.screens import DetailScreen

from .conftest import console, showing, until


def alerts(app) -> list[tuple[str, ...]]:
    return [r.cells for r in app.screen.table.visible_rows()] if showing(app, "alerts") else []


async def test_alerts_list_open_critical_events_with_their_recovery(world, polled):
    world.faults.inject("host_failure", "pbrazos")
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = console(world, polled)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("8")
        await until(pilot, lambda: len(alerts(app)) == 2)
        by_tenant = {cells[0]: cells for cells in alerts(app)}
        assert set(by_tenant) == {"customerA", "customerB"}
        a = by_tenant["customerA"]
        assert a[1] == "r7r3m116" and a[3] == "HOST_FAILURE" and a[4] == "pbrazos" and a[6] == "unplanned move"
        # acknowledged: no longer open
        app.screen.table.move_cursor_to(next(r.key for r in app.screen.table.visible_rows() if r.cells[0] == "customerA"))
        await pilot.press("a")
        await until(pilot, lambda: [c[0] for c in alerts(app)] == ["customerB"])
        await pilot.press("enter")  # the event itself
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.title_text == "Event HOST_FAILURE"
        assert ("resource", "raichu") in app.screen.pairs


async def test_a_scoped_console_lists_only_its_tenants_alerts(world, polled):
    world.faults.inject("host_failure", "pbrazos")
    world.faults.inject("host_failure", "raichu")
    await polled.refresh_all()
    app = console(world, polled, scope="customerB")
    async with app.run_test(size=(140, 40)) as pilot:
        app.run_command("alerts")
        await until(pilot, lambda: len(alerts(app)) == 1)
        assert alerts(app)[0][0] == "customerB"
