"""The replay's timeline bar, under the header: the window replayed, where
the cursor stands in it, what happened where (alerts, operations, events),
and whether it plays and how fast.

``bar_text`` is pure (the tests read it); ``ReplayBar`` draws it across the
width the terminal gives it and paints its marked spans with the theme's
colours, as the header does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from rich.text import Span, Text
from textual.widget import Widget

PLAYED, AHEAD, CURSOR = "━", "─", "●"
# what a mark looks like on the bar, the most telling kind first: where two marks share a cell,
# the bar shows the one an operator looks for first (an alert before an operation before an event)
GLYPHS: dict[str, str] = {"alert": "!", "operation": "◆", "event": "•", "ack": "✓", "resolve": "✓", "audit": "·"}
_RANK = {kind: i for i, kind in enumerate(GLYPHS)}
STYLE = {kind: f"replay-bar--{kind}" for kind in GLYPHS}
STYLE_PLAYED, STYLE_CURSOR, STYLE_STATE = "replay-bar--played", "replay-bar--cursor", "replay-bar--state"


class Mark(Protocol):
    """A moment of the timeline the bar marks (the replay source's marks)."""

    @property
    def at(self) -> datetime: ...

    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class BarState:
    """What the bar shows: the window, the cursor, the marks, play or pause."""

    start: datetime
    end: datetime
    at: datetime
    marks: tuple[Mark, ...] = ()
    playing: bool = False
    speed: float = 1.0


def _clock(t: datetime, *, dated: bool) -> str:
    local = t.astimezone()
    return local.strftime("%m-%d %H:%M") if dated else local.strftime("%H:%M:%S")


def _speed(speed: float) -> str:
    return f"{speed:g}x"


def cell_of(t: datetime, start: datetime, end: datetime, cells: int) -> int:
    """The cell of the track (0 … cells-1) a moment falls in; a moment
    outside the window sits on its edge."""
    span = (end - start).total_seconds()
    if cells <= 1 or span <= 0:
        return 0
    where = (t - start).total_seconds() / span
    return min(cells - 1, max(0, round(where * (cells - 1))))


def track(state: BarState, cells: int) -> list[tuple[str, str | None]]:
    """The track, cell by cell: (glyph, style name)."""
    kinds: dict[int, str] = {}
    for m in state.marks:
        if m.kind not in _RANK or not state.start <= m.at <= state.end:
            continue
        i = cell_of(m.at, state.start, state.end, cells)
        if i not in kinds or _RANK[m.kind] < _RANK[kinds[i]]:
            kinds[i] = m.kind
    cursor = cell_of(state.at, state.start, state.end, cells)
    out: list[tuple[str, str | None]] = []
    for i in range(cells):
        if i == cursor:
            out.append((CURSOR, STYLE_CURSOR))
        elif i in kinds:
            out.append((GLYPHS[kinds[i]], STYLE[kinds[i]]))
        else:
            out.append((PLAYED, STYLE_PLAYED) if i < cursor else (AHEAD, None))
    return out


MIN_TRACK = 8  # cells: below this the bar drops the window's ends before the track


def bar_text(state: BarState, width: int) -> Text:
    """One line ``▶ 4x  02:50:00 ━━•━━!━━●────◆─── 03:20:00`` as wide as
    ``width``: play state and speed first (a narrow terminal keeps them), then
    the window's ends around the track."""
    dated = state.start.astimezone().date() != state.end.astimezone().date()
    head = f" {'▶' if state.playing else '❚❚'} {_speed(state.speed)} "
    left, right = f" {_clock(state.start, dated=dated)} ", f" {_clock(state.end, dated=dated)} "
    if width - len(head) - len(left) - len(right) < MIN_TRACK:
        left = right = " "
    cells = max(1, width - len(head) - len(left) - len(right))
    t = Text()
    t.append(head, style=STYLE_STATE)
    t.append(left)
    for glyph, style in track(state, cells):
        t.append(glyph, style=style or "")
    t.append(right)
    return t


class ReplayBar(Widget):
    """The bar as a one-line widget; the app hands it a ``BarState`` each
    time the cursor moves or the replay plays or pauses."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {*STYLE.values(), STYLE_PLAYED, STYLE_CURSOR, STYLE_STATE}
    DEFAULT_CSS = """
    ReplayBar {
        height: 1; background: $panel; color: $text-muted;
        & > .replay-bar--state { text-style: bold reverse; color: $accent; }
        & > .replay-bar--played { color: $accent; }
        & > .replay-bar--cursor { color: $foreground; text-style: bold; }
        & > .replay-bar--alert { color: $text-error; text-style: bold; }
        & > .replay-bar--operation { color: $text-warning; text-style: bold; }
        & > .replay-bar--event { color: $foreground; }
        & > .replay-bar--ack { color: $text-success; }
        & > .replay-bar--resolve { color: $text-success; }
        & > .replay-bar--audit { color: $text-muted; }
    }
    """

    def __init__(self, state: BarState, *, id: str | None = "replay-bar") -> None:
        super().__init__(id=id)
        self.state = state

    def show(self, state: BarState) -> None:
        if state != self.state:
            self.state = state
            self.refresh()

    def render(self) -> Text:
        text = bar_text(self.state, self.size.width or 80)
        text.spans = [Span(s.start, s.end, self.get_component_rich_style(s.style))
                      if isinstance(s.style, str) and s.style in self.COMPONENT_CLASSES else s for s in text.spans]
        return text

    @property
    def plain(self) -> str:
        """The bar's words as the operator reads them (tests)."""
        return bar_text(self.state, self.size.width or 80).plain

