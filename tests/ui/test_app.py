"""The control room driven by keys, as an operator drives it (Pilot)."""

from __future__ import annotations

import asyncio
import re

import pytest

from ksystui.ui.actions import KeymapError
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.operate import QueueScreen
from ksystui.ui.screens import DetailScreen, HelpScreen, TableScreen
from ksystui.ui.state import ViewChanges

from .conftest import local_fleet, screen_text, tenant_infos, until


def make_app(world, fleet, **kw) -> ControlRoomApp:
    kw.setdefault("start_fleet", False)
    return ControlRoomApp(fleet, tenant_infos(world), **kw)


def _keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def type_command(pilot, text: str) -> None:
    await pilot.press("colon")
    await pilot.pause()
    await pilot.press(*_keys(text), "enter")
    await pilot.pause(0.2)


async def test_overview_first_then_colon_commands_switch_views(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TableScreen) and app.screen.view == "overview"
        text = screen_text(app)
        assert "customerA" in text and "snorlax (+1)" in text and "READY_TO_MOVE:5" in text
        for view in ("vms", "replication", "events", "hosts", "nodes"):
            await type_command(pilot, view)
            assert app.screen.view == view, view
        await type_command(pilot, "queue")
        assert isinstance(app.screen, QueueScreen)
        assert "no arbiter" in screen_text(app)
        await type_command(pilot, "tenants")
        assert app.screen.view == "overview"
        await type_command(pilot, "nonsense")
        assert app.screen.view == "overview"  # refused with a message, nothing breaks


async def test_command_line_completes(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press("r", "e", "p")
        await pilot.pause(0.1)
        await pilot.press("right")  # accept the suggestion
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.screen.view == "replication"


async def test_number_keys_jump_to_views(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        for key, view in [("1", "vms"), ("2", "replication"), ("3", "events"), ("4", "hosts"), ("5", "nodes"),
                          ("0", "overview")]:
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen.view == view
        await pilot.press("6")
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueueScreen)


async def test_filter_narrows_and_escape_clears(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1")
        await pilot.pause(0.1)
        table = app.screen.table
        assert table.row_count == 13
        await pilot.press("slash", *"raichu")
        await pilot.pause(0.1)
        assert table.row_count == 5
        await pilot.press("enter")  # keep the filter, back to the table
        await pilot.press("escape")  # Esc on the table closes the filter
        await pilot.pause(0.1)
        assert table.row_count == 13
        await pilot.press("slash", *_keys("state:ready cC_"))
        await pilot.pause(0.1)
        assert table.row_count == 3


async def test_sort_keys(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1")
        await pilot.pause(0.1)
        await pilot.press("s")  # by TENANT
        await pilot.pause(0.1)
        first = app.screen.table.visible_rows()[0].cells[0]
        await pilot.press("S")  # reversed
        await pilot.pause(0.1)
        assert first == "customerA" and app.screen.table.visible_rows()[0].cells[0] == "customerC"


async def test_drill_down_and_back_with_breadcrumb(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # customerA's node → tenant detail
        await pilot.pause(0.2)
        assert app.screen.view == "tenant" and app.screen.tenant == "customerA"
        text = screen_text(app)
        assert "Overview › Tenant customerA" in text
        assert "vmhmc1" in text and "salocal_A" in text and "pbrazos" in text
        await pilot.press("enter")  # a row of the tenant → its node's VMs
        await pilot.pause(0.2)
        assert app.screen.view == "vms" and app.screen.table.row_count == 5
        await pilot.press("enter")  # a VM → every field of it
        await pilot.pause(0.2)
        assert isinstance(app.screen, DetailScreen)
        text = screen_text(app)
        assert "cA_oradb01" in text and "READY_TO_MOVE" in text and "uuid" in text
        assert "Overview › Tenant customerA › VMs [node:r7r3m116] › VM cA_oradb01" in text
        for _ in range(3):
            await pilot.press("escape")
            await pilot.pause(0.1)
        assert app.screen.view == "overview"
        await pilot.press("escape")  # nothing above the first view: stays
        await pilot.pause(0.1)
        assert app.screen.view == "overview"


async def test_mouse_double_click_drills_down(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pilot.pause(0.1)
        await pilot.click("#table", offset=(5, 2), times=2)
        await pilot.pause(0.2)
        assert isinstance(app.screen, DetailScreen) and app.screen.title_text.startswith("Node ")
        assert "query vm" in screen_text(app)


async def test_help_lists_the_keys_of_the_current_view(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Keys in the events view" in text and "Acknowledge event" in text and "Filter rows" in text
        assert re.search(r"!\s+Verify", text) and re.search(r"!\s+changes a node: asks for confirmation first", text)
        await pilot.press("escape")
        await pilot.press("1", "question_mark")
        await pilot.pause(0.1)
        assert "Acknowledge event" not in screen_text(app)


async def test_palette_offers_every_command(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"replic")
        await pilot.pause(0.5)
        assert ":replication" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen.view == "replication"


async def test_acknowledge_clears_the_alert(world, polled):
    world.faults.inject("host_failure", "pbrazos")
    await polled.refresh_all()
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await pilot.pause(0.1)
        row = app.screen.table.cursor_row
        assert row.cells[4] == "HOST_FAILURE" and row.style == "alert"
        await pilot.press("a")
        await pilot.pause(0.7)
        assert app.screen.table.cursor_row.cells[-1] == "yes"
        assert app.screen.table.cursor_row.style is None


async def test_refresh_key_polls_the_selected_node(world, polled):
    app = make_app(world, polled)
    polls = []
    polled.monitors["r7r3m116"].refresh_now = lambda: polls.append("r7r3m116")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause(0.1)
        assert polls == ["r7r3m116"]


async def test_quit(world, polled):
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


async def test_keys_remap_by_action_id(world, polled):
    app = make_app(world, polled, keys={"view.filter": "f", "app.quit": "z"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "f", *"raichu")
        await pilot.pause(0.1)
        assert app.screen.table.row_count == 5
    with pytest.raises(KeymapError, match="no.such"):
        make_app(world, polled, keys={"no.such": "z"})
    with pytest.raises(KeymapError, match="bound to both"):
        make_app(world, polled, keys={"view.filter": "q"})


async def test_live_updates_arrive_as_changes_and_keep_the_cursor(world):
    fleet = local_fleet(world, interval=0.2)
    await fleet.refresh_all()
    app = make_app(world, fleet, start_fleet=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1")
        await pilot.pause(0.1)
        table = app.screen.table
        table.move_cursor_to(("vm", "r7r3m108", "cB_mqgw01"))
        await world.nodes["r7r3m108"].run_ksysmgr(["discover", "site", "customerB"], _Null())
        await until(pilot, lambda: table.get_row(("vm", "r7r3m108", "cB_db2core")).cells[5] == "DISCOVERED")
        states = {r.key[2]: r.cells[5] for r in table.visible_rows()}
        assert states["cB_db2core"] == "DISCOVERED"
        assert table.cursor_key == ("vm", "r7r3m108", "cB_mqgw01")
        assert app.screen.table.get_row(("vm", "r7r3m108", "cB_db2core")).cells[8] != "-"  # last change
    await fleet.stop()


async def test_node_down_shows_banner_and_stale_markers_then_recovers(world):
    fleet = local_fleet(world, interval=0.3)
    await fleet.refresh_all()
    polls: list[str] = []
    fleet.subscribe(lambda ch: polls.append(ch.node))
    app = make_app(world, fleet, start_fleet=True, tick_seconds=0.3)

    async def next_poll_of(node: str) -> None:
        # "within one poll interval" = by the end of the first poll that starts
        # after the change (the one in flight may have begun before it), however
        # busy the machine is; then one paint (the table paints twice a second)
        seen = polls.count(node)
        async with asyncio.timeout(10):
            while polls.count(node) < seen + 2:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.6)
        await pilot.pause()

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1")
        world.faults.inject("node_down", "r7r3m108")
        await next_poll_of("r7r3m108")
        text = screen_text(app)
        assert "✖ r7r3m108 unreachable" in text and "connection refused" in text
        styles = {r.key[1]: r.style for r in app.screen.table.visible_rows()}
        assert styles["r7r3m108"] == "unreachable" and styles["r7r3m116"] is None
        world.faults.clear()
        await next_poll_of("r7r3m108")
        assert "unreachable" not in screen_text(app)
        assert {r.style for r in app.screen.table.visible_rows()} == {None}
    await fleet.stop()


async def test_a_new_critical_event_raises_an_alert_and_the_bell(world):
    fleet = local_fleet(world, interval=0.2)
    await fleet.refresh_all()
    app = make_app(world, fleet, start_fleet=True)
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(120, 40)) as pilot:
        world.faults.inject("host_failure", "raichu")
        await until(pilot, lambda: bells and any(r.cells[0] == "customerB" and r.cells[8] == "1"
                                                 for r in app.screen.table.visible_rows()))
        toasts = [n.message for n in app._notifications]
        assert bells and any("customerB/r7r3m108: HOST_FAILURE on raichu" in m for m in toasts)
        row = next(r for r in app.screen.table.visible_rows() if r.cells[0] == "customerB")
        assert row.cells[8] == "1" and row.style == "alert" and "DOWN:5" in row.cells[6]
    await fleet.stop()
    quiet = make_app(world, local_fleet(world), bell=False)
    assert quiet.bell_on_alert is False


async def test_readonly_console_says_so(world, polled):
    app = make_app(world, polled, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "READ-ONLY" in screen_text(app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert re.search(r"×\s+Verify", text) and re.search(r"×\s+disabled: this console is read-only", text)
        assert not re.search(r"!\s+Verify", text)


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
async def test_themes(world, polled, theme):
    app = make_app(world, polled, theme=theme)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.theme == {"dark": "textual-dark", "light": "textual-light", "high-contrast": "ansi-dark"}[theme]
        assert app.ansi_color is (theme == "high-contrast")
        await type_command(pilot, "theme light")
        assert app.theme == "textual-light"


class _Null:
    async def write(self, text):
        return None

    async def write_err(self, text):
        return None

    async def readline(self):
        return None


async def test_no_color_is_respected(world, polled, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.no_color


async def test_updates_that_arrive_during_shutdown_are_dropped_quietly(world, polled):
    """The fleet keeps publishing while the console closes: a snapshot or a clock tick
    queued behind the quit must not crash the exit (seen in CI as ScreenStackError)."""
    app = make_app(world, polled)
    snap = next(iter(polled.snapshots.values()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.table.remove()  # what shutdown does to the screen's children first
        await pilot.pause()
        screen.apply_changes({"overview": ViewChanges(upsert=app.state.rows_of("overview"))})
    assert not app.screen_stack
    app.state.snapshots.pop(snap.node)
    app._apply(app.state.update(snap))
    app._clock()


async def test_events_stream_newest_first_whichever_tenant(world, polled):
    """customerA's failure, then a second later customerB's: B's is on top,
    although A comes first everywhere else (agreement priority)."""
    app = make_app(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        world.faults.inject("host_failure", "pbrazos")
        await polled.refresh_all()
        await asyncio.sleep(1.1)  # event times are whole seconds
        world.faults.inject("host_failure", "raichu")
        await polled.refresh_all()

        def failures():
            return [r.cells[1] for r in app.screen.table.visible_rows() if r.cells[4] == "HOST_FAILURE"]

        await until(pilot, lambda: len(failures()) == 2)
        assert failures() == ["customerB", "customerA"]
        assert "TIME▼" in screen_text(app)


async def test_hosts_list_each_recovery_host_in_agreement_order_whoever_answered_first(world, polled):
    from ksystui.ui.state import FleetView

    view = FleetView(tenant_infos(world))
    for node in ("r7r3m108", "r7r3m116"):  # customerB's node answers first
        view.update(polled.snapshots[node])
    assert [(r.cells[0], r.tenant) for r in view.rows_of("hosts")] == [("snorlax", "customerA"),
                                                                       ("snorlax", "customerB")]
