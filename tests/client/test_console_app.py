"""The console app as ``ksystui`` builds it, a client of the database, next
to a second console: what its operator reads and does."""

from __future__ import annotations

import pytest

from ksystui.bootstrap import console_app
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.operate import ReasonScreen
from tests.ui.conftest import screen_text, showing, until

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def told(app: ControlRoomApp) -> list[str]:
    return [n.message for n in app._notifications]


def alert_rows(app) -> list[tuple[str, ...]]:
    return [r.cells for r in app.screen.table.visible_rows()] if showing(app, "alerts") else []


async def test_an_alert_reaches_the_console_and_its_acknowledgement_the_other_one(site):
    async with site.service(), site.console() as mine, site.console() as other:
        other.source.start()
        app = console_app(mine, scope=None, readonly=False, theme=None)
        bells = []
        app.bell = lambda: bells.append(1)
        async with app.run_test(size=(180, 45)) as pilot:
            await until(pilot, lambda: showing(app, "overview") and "r7r3m116" in screen_text(app))
            assert app.service_note is None  # the service holds the lease
            site.world.faults.inject("host_failure", "raichu")
            await until(pilot, lambda: any("customerB/r7r3m108: HOST_FAILURE on raichu" in m for m in told(app)),
                        timeout=30)
            assert bells
            await until(pilot, lambda: any("Recovery ready: unplanned move of customerB" in m for m in told(app)),
                        timeout=30)
            await pilot.press("8")
            await until(pilot, lambda: len(alert_rows(app)) == 1 and app.screen.selected() is not None)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ReasonScreen))
            await pilot.press(*"failover", "enter")
            await until(pilot, lambda: alert_rows(app) and alert_rows(app)[0][7] == str(mine.actor), timeout=10)
            await until(pilot, lambda: bool(other.source.alerts) and other.source.alerts[0].acked_by == str(mine.actor),
                        timeout=10)
            assert other.source.alerts[0].ack_reason == "failover"
            # the overview counts open alerts only: none left
            await pilot.press("0")
            await until(pilot, lambda: showing(app, "overview"))
            row = next(r for r in app.screen.table.visible_rows() if r.cells[0] == "customerB")
            assert row.cells[8] == "-"


async def test_an_acknowledgement_made_elsewhere_shows_who_made_it(site):
    async with site.service(), site.console() as mine, site.console() as other:
        other.source.start()
        app = console_app(mine, scope=None, readonly=True, theme=None)
        async with app.run_test(size=(180, 45)) as pilot:
            await until(pilot, lambda: showing(app, "overview"))
            site.world.faults.inject("host_failure", "pbrazos")
            await pilot.press("8")
            await until(pilot, lambda: len(alert_rows(app)) == 1, timeout=30)
            assert not any("Recovery ready" in m for m in told(app))  # read-only: nothing prepared
            await until(pilot, lambda: bool(other.source.alerts), timeout=10)
            assert await other.port.acknowledge(other.source.alerts[0].id, "handled by bob")
            await until(pilot, lambda: alert_rows(app)[0][7] == str(other.actor), timeout=10)
            assert alert_rows(app)[0][9] == "handled by bob"
            await pilot.press("a")  # read-only, and already acknowledged
            await until(pilot, lambda: any("read-only mode" in m for m in told(app)))
            assert not isinstance(app.screen, ReasonScreen)
