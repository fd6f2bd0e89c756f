"""What the screen looks like, measured on what the console draws: narrow and
wide terminals, the light theme's contrast, NO_COLOR, the clock under a dialog.

The rendered screen is read from Textual's compositor after its line filters
(NO_COLOR's monochrome one included), segment by segment with the colours a
terminal would show; contrast is WCAG's ratio of relative luminances."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from textual.geometry import Region
from textual.widgets import Input

from ksystui.core.viewdefs import VIEWS
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.screens import HelpScreen, TableViewScreen, to_row

from .conftest import FROZEN, MemoryAlerts, press_until, tenant_infos, until
from .test_snapshots import armed_app_for, pinned_fleet

RGB = tuple[int, int, int]


# --- reading the screen --------------------------------------------------------------------
def rendered(app) -> list[list[Segment]]:
    """The screen as drawn (dialogs over their dimmed background), line by line."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    lines: list[list[Segment]] = [[]]
    for seg in console._record_buffer:
        if seg.control:
            continue
        for i, part in enumerate(seg.text.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append(Segment(part, seg.style))
    return lines[:height]


def text_lines(app) -> list[str]:
    return ["".join(s.text for s in line) for line in rendered(app)]


def drawn(seg: Segment) -> tuple[RGB, RGB]:
    """(foreground, background) as a terminal shows the segment: reversed
    swaps them, dim blends the text half-way into its background."""
    style = seg.style
    assert style is not None and style.color is not None and style.bgcolor is not None, seg
    fg, bg = tuple(style.color.get_truecolor()), tuple(style.bgcolor.get_truecolor())
    if style.reverse:
        fg, bg = bg, fg
    if style.dim:
        fg = tuple(round(b + (f - b) * 0.5) for f, b in zip(fg, bg, strict=True))
    return fg, bg  # type: ignore[return-value]


def luminance(rgb: RGB) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: RGB, bg: RGB) -> float:
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _ink(text: str) -> bool:
    """Text or a glyph (box-drawing lines and block elements are frames, not ink)."""
    return any(not ch.isspace() and not 0x2500 <= ord(ch) <= 0x259F for ch in text)


def below(app, ratio: float, region: Region | None = None) -> dict[str, float]:
    """Every piece of ink on screen (or within ``region``: a dialog, not the
    dimmed screen behind it) drawn below ``ratio``, with its contrast."""
    low: dict[str, float] = {}
    for y, line in enumerate(rendered(app)):
        x = 0
        for seg in line:
            width = cell_len(seg.text)
            inside = region is None or (region.y <= y < region.bottom and region.x <= x and x + width <= region.right)
            if inside and _ink(seg.text):
                c = contrast(*drawn(seg))
                if c < ratio:
                    low[seg.text.strip()] = round(c, 2)
            x += width
    return low


def measured(app, word: str) -> list[float]:
    """The contrast of every segment holding ``word``."""
    return [contrast(*drawn(seg)) for line in rendered(app) for seg in line if word in seg.text]


def fleet_with_alert(faults=(("host_failure", "raichu"), ("node_down", "ksysorch-dal12"))):
    """customerA and customerB fresh (B with a critical event), customerC unreachable."""
    world, fleet = pinned_fleet(faults)
    for name in ("r7r3m116", "r7r3m108"):
        fleet.snapshots[name] = replace(fleet.snapshots[name], interval=60)
    return world, fleet


def console_app(pinned, clock, **kw) -> ControlRoomApp:
    world, fleet = pinned
    return ControlRoomApp(fleet, tenant_infos(world), start_fleet=False, clock=lambda: clock[0],
                          tick_seconds=3600, shared=MemoryAlerts(fleet), **kw)


# (the fleets are read before the test's event loop runs: pinned_fleet runs its own)
@pytest.fixture
def seed():
    return pinned_fleet()


@pytest.fixture
def alerting():
    return fleet_with_alert()


@pytest.fixture
def armed(tmp_path):
    return armed_app_for(str(tmp_path / "q.db"), faults=[("host_failure", "raichu")])


@pytest.fixture
def long_event():
    world, fleet = pinned_fleet([("host_failure", "raichu")])
    snap = fleet.snapshots["r7r3m108"]
    events = tuple(replace(e, description=LONG) for e in snap.events)
    fleet.snapshots["r7r3m108"] = replace(snap, sections={**snap.sections,
                                                          "event": replace(snap.sections["event"], items=events)})
    return world, fleet


async def open_view(pilot, key: str, view: str) -> None:
    await pilot.press(key)
    app = pilot.app
    await until(pilot, lambda: getattr(app.screen, "view", None) == view and isinstance(app.screen, TableViewScreen)
                and app.screen.ready and app.screen.table.row_count > 0)
    await pilot.pause(0.1)


# --- narrow and wide terminals ---------------------------------------------------------------
def test_at_80_columns_every_view_keeps_its_kept_columns_on_the_seed(armed):
    """Each view's kept columns fit an 80-column table with the seed's rows
    (the columns and their widths as the console computes them)."""
    from ksystui.ui.screens import columns_for
    from ksystui.ui.widgets.table_layout import layout
    from ksystui.ui.widgets.table_model import TableModel

    picture = armed.state
    for snap in armed.fleet.snapshots.values():
        picture.update(snap)
    for view in VIEWS.values():
        rows = picture.rows_for(view.name, "customerA") if view.name in picture.rows or view.name == "tenant" else []
        model = TableModel(columns_for(view))
        model.set_rows(to_row(r) for r in rows)
        lay = layout(model.columns, model.widths(), 78)  # 80 less the vertical scrollbar
        kept = {c.key for i, c in enumerate(model.columns) if i in lay.shown}
        assert set(view.keep) <= kept, view.name
        assert lay.total + len(f"+{lay.hidden} hidden") <= 78 or not lay.hidden, view.name


async def test_at_80x24_the_queue_vms_and_events_show_why_age_and_description_or_say_what_they_hid(armed):
    """Why: "at 80×24 the queue's WHY/PROGRESS, the VMs' AGE and the events'
    DESCRIPTION are cut off with no sign"."""
    app = armed
    async with app.run_test(size=(80, 24)) as pilot:
        for key, view, label in (("6", "queue", "WHY / PROGRESS"), ("1", "vms", "AGE"),
                                 ("3", "events", "DESCRIPTION")):
            await open_view(pilot, key, view)
            first = VIEWS[view].columns[0].label
            header = next(line for line in text_lines(app) if line.lstrip().startswith(first))
            assert label in header, (view, header)
            hidden = sum(c.label not in header for c in VIEWS[view].columns)
            assert hidden and header.rstrip().endswith(f"+{hidden} hidden"), (view, header)
            if view == "queue":  # the reason a request waits: whole, or cut with an ellipsis
                row = next(line for line in text_lines(app) if "customerB" in line)
                assert "snorlax" in row.split("customerB")[-1] or row.rstrip().endswith("…"), row


LONG = "Replication stopped for VMRDG_cluster02_customerB: storage agent lost peer"  # 74 cells: more than 40, less than what 160 columns leave it


async def test_long_text_takes_the_free_width_at_160_columns(long_event):
    """Why: "the events view truncates at 160 columns with room to spare"."""
    app = console_app(long_event, [FROZEN])
    async with app.run_test(size=(160, 30)) as pilot:
        await open_view(pilot, "3", "events")
        assert any(LONG in line for line in text_lines(app)), "\n".join(text_lines(app)[:6])


# --- themes ------------------------------------------------------------------------------------
async def test_the_light_theme_reads_at_4_5_to_1_everywhere(alerting):
    """Why: "the light theme measures 1.67:1 (READ-ONLY badge), 2.26:1 (key
    hints), 2.48:1 (fresh ●), 2.94:1 (critical rows)"."""
    clock = [FROZEN]
    app = console_app(alerting, clock, theme="light", readonly=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_view(pilot, "0", "overview")
        assert below(app, 4.5) == {}
        # the ones the issue measured are there, and read
        assert min(measured(app, "READ-ONLY")) >= 4.5 and min(measured(app, "●")) >= 4.5
        assert min(measured(app, "esc")) >= 4.5  # a key hint in the footer
        critical = next(r for r in app.screen.table.visible_rows() if r.style == "alert")
        assert min(measured(app, critical.cells[3])) >= 4.5  # customerB's row, not under the cursor
        for key, view in (("3", "events"), ("5", "nodes")):
            await open_view(pilot, key, view)
            assert below(app, 4.5) == {}, view
        # the dialogs' own text: help, and the command line's placeholder
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert below(app, 4.5, app.screen.query_one("VerticalScroll").region) == {}
        await pilot.press("escape", "colon")
        await until(pilot, lambda: bool(app.screen.query(Input)) and not isinstance(app.screen, TableViewScreen))
        assert below(app, 4.5, app.screen.query_one(Input).region) == {}
        await pilot.press("escape")
        clock[0] += timedelta(minutes=10)  # every node stale: ◐ in the header, on the next second
        await until(pilot, lambda: "03:10:00" in text_lines(app)[0] and "◐" in text_lines(app)[0])
        assert below(app, 4.5) == {}


async def test_under_no_color_a_critical_row_is_emphasised_never_dimmer(monkeypatch, alerting):
    """Why: "under NO_COLOR a critical row is drawn dimmer than a normal one"."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = console_app(alerting, [FROZEN])
    async with app.run_test(size=(120, 30)) as pilot:
        await open_view(pilot, "0", "overview")
        table = app.screen.table
        # the cursor on customerC: customerA's row normal, customerB's critical
        await press_until(pilot, lambda: table.cursor_key == table.visible_rows()[-1].key, "end")
        lines = rendered(app)

        def row_of(tenant: str) -> list[Segment]:
            line = next(line for line in lines if "".join(s.text for s in line).lstrip().startswith(tenant))
            return [s for s in line if _ink(s.text)]

        normal, critical = row_of("customerA"), row_of("customerB")
        assert all(s.style.bold or s.style.reverse for s in critical)
        assert not any(s.style.dim for s in critical)
        assert min(contrast(*drawn(s)) for s in critical) >= min(contrast(*drawn(s)) for s in normal)


# --- the clock -----------------------------------------------------------------------------------
async def test_the_header_clock_keeps_ticking_under_a_dialog(seed):
    """Why: "the header clock stops while a dialog is open"."""
    clock = [FROZEN]
    app = console_app(seed, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_view(pilot, "0", "overview")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        start = FROZEN.astimezone().strftime("%H:%M:%S")
        assert start in text_lines(app)[0]
        clock[0] += timedelta(seconds=5)
        later = clock[0].astimezone().strftime("%H:%M:%S")
        await until(pilot, lambda: later in text_lines(app)[0], timeout=5)
        assert isinstance(app.screen, HelpScreen)

