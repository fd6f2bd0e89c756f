"""The control room driven by keys, as an operator drives it (Pilot). Every
step waits for what the operator would see, never for a fixed time."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from ksystui.core.fleet_view import FleetView, ViewChanges
from ksystui.ui.actions import KeymapError
from ksystui.ui.operate import QueueScreen, ReasonScreen
from ksystui.ui.palette import CommandScreen
from ksystui.ui.screens import DetailScreen, HelpScreen

from .conftest import (
    alerting_console,
    console,
    footer_keys,
    local_fleet,
    press_until,
    screen_text,
    showing,
    tenant_infos,
    until,
)


def _keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def type_command(pilot, text: str) -> None:
    """``:`` then the text and Enter: the command line opens, takes it and closes."""
    app = pilot.app
    await press_until(pilot, lambda: isinstance(app.screen, CommandScreen), "colon")
    await press_until(pilot, lambda: not isinstance(app.screen, CommandScreen), *_keys(text), "enter")


async def test_overview_first_then_colon_commands_switch_views(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        text = screen_text(app)
        assert "customerA" in text and "snorlax (+1)" in text and "READY_TO_MOVE:5" in text
        for view in ("vms", "replication", "events", "hosts", "nodes", "alerts"):
            await type_command(pilot, view)
            await until(pilot, lambda v=view: showing(app, v))
        await type_command(pilot, "queue")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and "no arbiter" in screen_text(app))
        await type_command(pilot, "tenants")
        await until(pilot, lambda: showing(app, "overview"))
        await type_command(pilot, "nonsense")
        await until(pilot, lambda: app.noted("unknown command :nonsense"))
        assert showing(app, "overview")  # refused with a message, nothing breaks


async def test_command_line_completes(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: isinstance(app.screen, CommandScreen), "colon")
        line = app.screen.query_one(Input)
        await press_until(pilot, lambda: line.value == "rep", "r", "e", "p")
        async with asyncio.timeout(10):
            while line.value != "replication":  # → accepts the suggestion, once it is offered
                await pilot.press("right")
        await press_until(pilot, lambda: showing(app, "replication"), "enter")


async def test_number_keys_jump_to_views(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        for key, view in [("1", "vms"), ("2", "replication"), ("3", "events"), ("4", "hosts"), ("5", "nodes"),
                          ("8", "alerts"), ("0", "overview")]:
            await press_until(pilot, lambda v=view: showing(app, v), key)
        await press_until(pilot, lambda: isinstance(app.screen, QueueScreen), "6")


async def test_filter_narrows_and_escape_clears(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "vms"), "1")
        table = app.screen.table
        assert table.row_count == 13
        await press_until(pilot, lambda: table.row_count == 5, "slash", *"raichu")
        await pilot.press("enter")  # keep the filter, back to the table
        await press_until(pilot, lambda: table.row_count == 13, "escape")  # Esc on the table closes the filter
        await press_until(pilot, lambda: table.row_count == 3, "slash", *_keys("state:ready cC_"))


async def test_sort_keys(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "vms"), "1")
        table = app.screen.table
        await press_until(pilot, lambda: table.sort_state == ("tenant", False), "s")  # by TENANT
        assert table.visible_rows()[0].cells[0] == "customerA"
        await press_until(pilot, lambda: table.sort_state == ("tenant", True), "S")  # reversed
        assert table.visible_rows()[0].cells[0] == "customerC"


async def test_numbers_and_ages_sort_by_what_they_mean(world, polled):
    """PROGRESS sorts 9% before 62.5% (not as text); AGE sorts "live" before
    "45s" before "4m05s"."""
    from ksystui.ui.screens import age_in, number_in

    assert sorted(["62.5%", "9%", "-", "100%"], key=number_in) == ["9%", "62.5%", "100%", "-"]
    assert sorted(["4m05s", "never", "45s", "live", "3h07m", "<1s"], key=age_in) == [
        "live", "<1s", "45s", "4m05s", "3h07m", "never"]
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "overview"))
        table = app.screen.table
        # the PRIO column holds 1, 2, 3: numeric descending puts 3 first
        table.set_sort("prio", True)
        await until(pilot, lambda: table.visible_rows()[0].cells[1] == "3")


async def test_drill_down_and_back_with_breadcrumb(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview") and app.screen.selected() is not None)
        await press_until(pilot, lambda: showing(app, "tenant"), "enter")  # customerA's node → tenant detail
        assert app.screen.tenant == "customerA"
        text = screen_text(app)
        assert "Overview › Tenant customerA" in text
        assert "vmhmc1" in text and "salocal_A" in text and "pbrazos" in text
        await press_until(pilot, lambda: showing(app, "vms") and app.screen.table.row_count == 5,
                          "enter")  # a row of the tenant → its node's VMs
        await press_until(pilot, lambda: isinstance(app.screen, DetailScreen), "enter")  # a VM → every field of it
        text = screen_text(app)
        assert "cA_oradb01" in text and "READY_TO_MOVE" in text and "uuid" in text
        assert "Overview › Tenant customerA › VMs [node:r7r3m116] › VM cA_oradb01" in text
        for view in ("vms", "tenant", "overview"):
            await press_until(pilot, lambda v=view: showing(app, v), "escape")
        await pilot.press("escape")  # nothing above the first view: stays
        await until(pilot, lambda: showing(app, "overview"))
        assert len(app.screen_stack) == 2


async def test_mouse_double_click_drills_down(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "nodes") and app.screen.table.row_count == 3, "5")
        await pilot.click("#table", offset=(5, 2), times=2)
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.title_text.startswith("Node ") and "query vm" in screen_text(app)


async def test_help_lists_the_keys_of_the_current_view(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "events"), "3")
        await press_until(pilot, lambda: isinstance(app.screen, HelpScreen), "question_mark")
        text = screen_text(app)
        assert "Keys in the events view" in text and "Acknowledge event" in text and "Filter rows" in text
        assert re.search(r"!\s+Verify", text) and re.search(r"!\s+changes a node: asks for confirmation first", text)
        assert "alerts" in text  # the commands, from the registry
        await press_until(pilot, lambda: showing(app, "events"), "escape")
        await press_until(pilot, lambda: showing(app, "vms"), "1")
        await press_until(pilot, lambda: isinstance(app.screen, HelpScreen), "question_mark")
        assert "Acknowledge event" not in screen_text(app)


async def test_the_footer_shows_only_the_keys_that_act_in_this_view(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(160, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "events"), "3")
        assert "Acknowledge event" in footer_keys(app) and "Filter rows" in footer_keys(app)
        await press_until(pilot, lambda: showing(app, "vms"), "1")
        assert "Acknowledge event" not in footer_keys(app) and "Filter rows" in footer_keys(app)
        await press_until(pilot, lambda: isinstance(app.screen, DetailScreen), "enter")
        keys = footer_keys(app)
        assert "Filter rows" not in keys and "Back" in keys
        assert not any(k.startswith(("Verify", "Poll")) for k in keys)


async def test_palette_offers_every_command(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: isinstance(app.screen, CommandPalette), "ctrl+p")
        await press_until(pilot, lambda: ":replication" in screen_text(app), *"replic")
        await press_until(pilot, lambda: showing(app, "replication"), "enter")


async def test_palette_finds_an_action_and_runs_it_through_its_guard(world, polled):
    """Typing "verify" in the palette finds the verify action; chosen, it is
    refused for the same reason as its key (this console has no arbiter)."""
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview") and app.screen.selected() is not None)
        await press_until(pilot, lambda: isinstance(app.screen, CommandPalette), "ctrl+p")
        await press_until(pilot, lambda: "Verify: queue a verification" in screen_text(app), *"verify")
        await press_until(pilot, lambda: app.noted("Verify: queue a verification (uses the recovery host): this "
                                                   "console has no arbiter"), "enter")
        assert showing(app, "overview")
        # the same words as the key itself
        await press_until(pilot, lambda: len([n for n in app.notes if "has no arbiter" in n]) == 2, "v")


async def test_acknowledge_clears_the_alert_and_says_who(world, polled):
    world.faults.inject("host_failure", "pbrazos")
    await polled.refresh_all()
    app = alerting_console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "events") and app.screen.table.cursor_row is not None, "3")
        row = app.screen.table.cursor_row
        assert row.cells[4] == "HOST_FAILURE" and row.style == "alert"
        await press_until(pilot, lambda: isinstance(app.screen, ReasonScreen), "a")
        await pilot.press(*"seen", "enter")
        await until(pilot, lambda: showing(app, "events")
                    and app.screen.table.cursor_row.cells[-1] == "alice@noc1/console-1")
        assert app.screen.table.cursor_row.style is None


async def test_refresh_key_polls_the_selected_node(world, polled):
    app = console(world, polled)
    polls = []
    polled.monitors["r7r3m116"].refresh_now = lambda: polls.append("r7r3m116")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview") and app.screen.selected() is not None)
        await press_until(pilot, lambda: polls == ["r7r3m116"], "r")
        await until(pilot, lambda: app.noted("polling r7r3m116 now"))


async def test_quit(world, polled):
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code in (0, None)


async def test_keys_remap_by_action_id(world, polled):
    app = console(world, polled, keys={"view.filter": "f", "app.quit": "z"})
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "vms"), "1")
        await press_until(pilot, lambda: app.screen.table.row_count == 5, "f", *"raichu")
    with pytest.raises(KeymapError, match="no.such"):
        console(world, polled, keys={"no.such": "z"})
    with pytest.raises(KeymapError, match="bound to both"):
        console(world, polled, keys={"view.filter": "q"})


async def test_live_updates_arrive_as_changes_and_keep_the_cursor(world):
    fleet = local_fleet(world, interval=0.2)
    await fleet.refresh_all()
    app = console(world, fleet, start_fleet=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "vms"), "1")
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
    # a 1 s interval: a healthy node turns stale after three missed intervals, and on a
    # loaded machine (CI, four workers on two cores) a 0.3 s cadence missed them (flaky)
    fleet = local_fleet(world, interval=1.0)
    await fleet.refresh_all()
    app = console(world, fleet, start_fleet=True, tick_seconds=0.3)

    def styles() -> dict[str, str | None]:
        return {r.key[1]: r.style for r in app.screen.table.visible_rows()} if showing(app, "vms") else {}

    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "vms"), "1")
        world.faults.inject("node_down", "r7r3m108")
        # within a poll or two: the banner says why, that node's rows are marked, the others are not
        await until(pilot, lambda: "✖ r7r3m108 unreachable" in screen_text(app)
                    and styles().get("r7r3m108") == "unreachable")
        assert "connection refused" in screen_text(app) and styles()["r7r3m116"] is None
        world.faults.clear()
        await until(pilot, lambda: "unreachable" not in screen_text(app) and set(styles().values()) == {None})
    await fleet.stop()


async def test_a_new_critical_event_raises_an_alert_and_the_bell(world):
    fleet = local_fleet(world, interval=0.2)
    await fleet.refresh_all()
    app = alerting_console(world, fleet, start_fleet=True)
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        world.faults.inject("host_failure", "raichu")
        await until(pilot, lambda: bells and any(r.cells[0] == "customerB" and r.cells[8] == "1"
                                                 for r in app.screen.table.visible_rows()))
        assert app.noted("customerB/r7r3m108: HOST_FAILURE on raichu")
        row = next(r for r in app.screen.table.visible_rows() if r.cells[0] == "customerB")
        assert row.cells[8] == "1" and row.style == "alert" and "DOWN:5" in row.cells[6]
    await fleet.stop()
    quiet = console(world, local_fleet(world), bell=False)
    assert quiet.bell_on_alert is False


async def test_readonly_console_says_so(world, polled):
    app = console(world, polled, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview") and "READ-ONLY" in screen_text(app))
        await press_until(pilot, lambda: isinstance(app.screen, HelpScreen), "question_mark")
        text = screen_text(app)
        assert re.search(r"×\s+Verify", text) and re.search(r"×\s+disabled: this console is read-only", text)
        assert not re.search(r"!\s+Verify", text)


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
async def test_themes(world, polled, theme):
    app = console(world, polled, theme=theme)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        assert app.theme == {"dark": "textual-dark", "light": "textual-light", "high-contrast": "ansi-dark"}[theme]
        assert app.ansi_color is (theme == "high-contrast")
        await type_command(pilot, "theme light")
        await until(pilot, lambda: app.theme == "textual-light")


class _Null:
    async def write(self, text):
        return None

    async def write_err(self, text):
        return None

    async def readline(self):
        return None


async def test_no_color_is_respected(world, polled, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        assert app.no_color


async def test_updates_that_arrive_during_shutdown_are_dropped_quietly(world, polled):
    """The fleet keeps publishing while the console closes: a snapshot or a clock tick
    queued behind the quit must not crash the exit (seen in CI as ScreenStackError)."""
    app = console(world, polled)
    snap = next(iter(polled.snapshots.values()))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        screen = app.screen
        screen.table.remove()  # what shutdown does to the screen's children first
        await until(pilot, lambda: not screen.ready)
        screen.apply_changes({"overview": ViewChanges(upsert=app.state.rows_of("overview"))})
    assert not app.screen_stack
    app.state.snapshots.pop(snap.node)
    app._apply(app.state.update(snap))
    app._clock()


async def test_events_stream_newest_first_whichever_tenant(world, polled):
    """customerA's failure, then a second later customerB's: B's is on top,
    although A comes first everywhere else (agreement priority)."""
    app = console(world, polled)

    def failures():
        rows = app.screen.table.visible_rows() if showing(app, "events") else []
        return [r.cells[1] for r in rows if r.cells[4] == "HOST_FAILURE"]

    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, lambda: showing(app, "events"), "3")
        world.faults.inject("host_failure", "pbrazos")
        await polled.refresh_all()
        await until(pilot, lambda: len(failures()) == 1)
        second = int(time.time())
        await until(pilot, lambda: int(time.time()) > second)  # event times are whole seconds
        world.faults.inject("host_failure", "raichu")
        await polled.refresh_all()
        await until(pilot, lambda: len(failures()) == 2)
        assert failures() == ["customerB", "customerA"]
        assert "TIME▼" in screen_text(app)


async def test_hosts_list_each_recovery_host_in_agreement_order_whoever_answered_first(world, polled):
    view = FleetView(tenant_infos(world))
    for node in ("r7r3m108", "r7r3m116"):  # customerB's node answers first
        view.update(polled.snapshots[node])
    assert [(r.cells[0], r.tenant) for r in view.rows_of("hosts")] == [("snorlax", "customerA"),
                                                                       ("snorlax", "customerB")]


async def test_a_tenants_row_acts_on_its_default_node(world, polled):
    """The tenant view's site rows name a node; an overview row names one too:
    the operation goes to the tenant's first configured node either way."""
    from ksystui.core.views import ViewRow
    from ksystui.ui.messages import OperationRequested

    app = console(world, polled)
    reviewed = []
    app._review = lambda node, op: reviewed.append(node)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        app.post_message(OperationRequested("verify", ViewRow(("x",), (), tenant="customerB")))
        await until(pilot, lambda: reviewed == ["r7r3m108"])
        app.post_message(OperationRequested("verify", None))
        await until(pilot, lambda: app.noted("select a row of a tenant's node first"))

