"""The console over a recorded window (``ksystui replay``), on a recording
kept in memory: the screens read as of the cursor (ages, the header's
clock), the keys move the cursor, the timeline bar shows where it stands,
and every action that would change something is refused, saying so."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ksystui.core.alerts import AlertRecord
from ksystui.core.lifecycle import Op
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.replay_bar import BarState, bar_text
from ksystui.ui.replaying import next_speed

from .conftest import FROZEN, footer_keys, screen_text, showing, tenant_infos, until
from .replay_fake import FakeMark, FakeReplay, NoArbiter

START, END = FROZEN - timedelta(minutes=10), FROZEN + timedelta(minutes=20)
ALERT_AT, MOVE_AT, LATER_POLL = (FROZEN + timedelta(minutes=m) for m in (2, 7, 5))
SIZES = [(120, 40), (80, 24)]


def recorded():
    """The seed fleet read once at FROZEN-1s, read again 5 minutes later with
    customerB's VMs failed, a HOST_FAILURE alert between."""
    from .test_snapshots import pinned_fleet

    world, fleet = pinned_fleet()
    first = dict(fleet.snapshots)
    frames = [(FROZEN - timedelta(seconds=1), s) for s in first.values()]
    later = first["r7r3m108"]
    read = LATER_POLL - timedelta(seconds=1)
    vms = tuple(replace(v, state="UNMANAGED") for v in later.vms)
    later = replace(later, sections={k: replace(s, read_at=read) for k, s in later.sections.items()},
                    health=replace(later.health, last_attempt=read, last_success=read))
    later = replace(later, sections={**later.sections, "vm": replace(later.sections["vm"], items=vms)})
    frames.append((LATER_POLL, later))
    alert = AlertRecord(1, "r7r3m108:HOST_FAILURE:raichu", "customerB", "r7r3m108", "HOST_FAILURE", "41", None,
                        "host raichu failed", "raichu", Op.MOVE_UNPLANNED, ALERT_AT, None, None, None)
    marks = [FakeMark(ALERT_AT, "alert"), FakeMark(ALERT_AT, "event"), FakeMark(MOVE_AT, "operation"),
             FakeMark(MOVE_AT + timedelta(minutes=1), "audit")]
    return world, FakeReplay(START, END, frames, [alert], marks)


@pytest.fixture
def replayed():
    return recorded()


def replay_app(world, replay, **kw) -> ControlRoomApp:
    app = ControlRoomApp(replay, tenant_infos(world), start_fleet=False, replay=replay, shared=replay,
                         arbiter=NoArbiter(), **kw)
    app.notes = []
    plain_notify = app.notify
    app.notify = lambda message, **k: (app.notes.append(str(message)), plain_notify(message, **k))[1]
    return app


def cells(app, first: str) -> tuple[str, ...]:
    """The cells of the row that starts with ``first`` (blank while there is none)."""
    return next((r.cells for r in app.screen.table.visible_rows() if r.cells[0] == first), ("",) * 10)


def local(t, fmt="%Y-%m-%d %H:%M:%S") -> str:
    return t.astimezone().strftime(fmt)


async def test_ages_and_the_clock_read_as_of_the_cursor(replayed):
    world, replay = replayed
    app = replay_app(world, replay)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        assert "customerB " not in screen_text(app)  # the window starts before the first read
        await replay.seek(FROZEN + timedelta(minutes=1))  # a minute after the last read
        app.replay_moved()
        await until(pilot, lambda: cells(app, "customerB")[5] == "1m01s")
        assert local(FROZEN + timedelta(minutes=1)) in screen_text(app)  # the header's clock is the cursor
        assert "REPLAY" in screen_text(app)
        await pilot.press("5")
        await until(pilot, lambda: showing(app, "nodes") and cells(app, "r7r3m108")[4] == "1m01s ago")
        # further on, customerB's node was read again: its age starts over, the others' go on
        await replay.seek(LATER_POLL + timedelta(seconds=30))
        app.replay_moved()
        await until(pilot, lambda: cells(app, "r7r3m108")[4] == "31s ago" and cells(app, "r7r3m116")[4] == "5m31s ago")


async def test_the_keys_move_the_cursor(replayed):
    world, replay = replayed
    app = replay_app(world, replay)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        await pilot.press("slash", "n", "o", "g")  # typed in a field, they are letters
        await until(pilot, lambda: app.screen.query_one("#filter").value == "nog")
        assert replay.at == START and not replay.seeks
        await pilot.press("escape")
        await pilot.press("n")  # the next event: the host failure's alert
        await until(pilot, lambda: replay.at == ALERT_AT)
        await until(pilot, lambda: any("HOST_FAILURE" in n for n in app.notes))  # told as it happened
        await pilot.press("o")
        await until(pilot, lambda: replay.at == MOVE_AT)
        await pilot.press("full_stop")
        await until(pilot, lambda: replay.at == MOVE_AT + timedelta(seconds=1))
        await pilot.press("comma", "comma")
        await until(pilot, lambda: replay.at == MOVE_AT - timedelta(seconds=1))
        await pilot.press("G")  # before the table's last row: the end of the window
        await until(pilot, lambda: replay.at == END)
        await pilot.press("n")
        await until(pilot, lambda: any("no event after the cursor" in n for n in app.notes))
        await pilot.press("g")
        await until(pilot, lambda: replay.at == START)
        await pilot.press(*["plus"] * 7)  # 2, 4, 8, 15, 30, 60, 120x
        assert app.replay_speed == 120.0
        await pilot.press("space")
        await until(pilot, lambda: replay.at >= START + timedelta(seconds=30), timeout=10)  # it plays
        await pilot.press("space")
        await until(pilot, lambda: not app.replay_playing)
        paused_at = replay.at
        await app._play_on()  # the playing clock ticks: paused, the cursor stays
        assert replay.at == paused_at


async def test_every_action_that_changes_something_is_refused_as_replaying(replayed):
    world, replay = replayed
    arbiter = NoArbiter()
    app = replay_app(world, replay)
    app.arbiter = arbiter
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview"))
        await pilot.press("n")
        await until(pilot, lambda: replay.at == ALERT_AT)
        for key in ("m", "M", "v", "t", "c", "r", "exclamation_mark"):
            await pilot.press(key)
        await pilot.press("8")
        await until(pilot, lambda: showing(app, "alerts") and "HOST_FAILURE" in screen_text(app))
        await pilot.press("a")
        await until(pilot, lambda: sum("replaying" in n for n in app.notes) == 8)
        assert not arbiter.asked
        assert not any("Recovery ready" in n for n in app.notes)


async def test_the_bar_footer_and_help_show_where_the_cursor_is_and_the_keys(replayed):
    world, replay = replayed
    app = replay_app(world, replay)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, "overview") and app.screen.query("#replay-bar"))
        shown = footer_keys(app)
        assert shown[:5] == ["Play/pause", "Next event", "Next operation", "Step on", "Step back"]  # first
        bar = app.screen.query_one("#replay-bar")
        assert local(START, "%H:%M:%S") in bar.plain and local(END, "%H:%M:%S") in bar.plain
        assert "❚❚" in bar.plain and "!" in bar.plain and "◆" in bar.plain
        await pilot.press("o")
        await until(pilot, lambda: bar.state.at == MOVE_AT)
        # the same bar on the next screen
        await pilot.press("6")
        await until(pilot, lambda: showing(app, "queue") and app.screen.query("#replay-bar"))
        await pilot.press("question_mark")
        await until(pilot, lambda: "Start of the replayed window" in screen_text(app))
        text = screen_text(app)
        assert "Play faster" in text and "Step back" in text and "End of the replayed window" in text


def test_bar_text_places_the_cursor_and_marks_in_proportion():
    state = BarState(START, END, START + (END - START) / 2,
                     (FakeMark(START, "event"), FakeMark(END, "alert"), FakeMark(END, "event")), True, 4.0)
    line = bar_text(state, 80).plain
    assert line.startswith(" ▶ 4x ") and len(line) == 80
    track = line[line.index(local(START, "%H:%M:%S")) + 9: line.rindex(local(END, "%H:%M:%S")) - 1]
    assert track[0] == "•" and track[-1] == "!"  # the alert wins its cell over the event
    assert track.index("●") in (len(track) // 2 - 1, len(track) // 2)
    assert set(track[1:track.index("●")]) == {"━"} and set(track[track.index("●") + 1:-1]) == {"─"}
    assert len(bar_text(state, 20).plain) == 20  # narrow: the window's ends go first


def test_speeds_step_through_the_list_and_stop_at_its_ends():
    assert next_speed(1.0, 1) == 2.0 and next_speed(1.0, -1) == 0.5
    assert next_speed(600.0, 1) == 600.0 and next_speed(0.25, -1) == 0.25
    assert next_speed(3.0, 1) == 4.0


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_replay_screen(snap_compare, size):
    world, replay = recorded()
    app = replay_app(world, replay)

    async def to_the_alert(pilot):
        await pilot.press("n")
        await until(pilot, lambda: replay.at == ALERT_AT and "REPLAY" in screen_text(app))
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=to_the_alert)


def test_the_replay_keys_are_remapped_in_ui_keys_and_left_be_by_a_live_console(replayed):
    world, replay = replayed
    keys = {"replay.play": "P", "replay.next_event": "N"}
    assert replay_app(world, replay, keys=keys)._action_by_id["replay.play"].key == "P"
    live = ControlRoomApp(replay, tenant_infos(world), start_fleet=False, keys=keys)  # no error: not its keys
    assert "replay.play" not in live._action_by_id
