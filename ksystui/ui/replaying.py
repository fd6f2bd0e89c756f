"""The console over a recorded window: the same screens, a time cursor.

A replayed console reads a ``Replay`` (the snapshots, alerts, queue and
audit trail as they stood at the cursor) instead of the live database. Its
clock is the cursor, so every age and elapsed time on screen reads as of
that moment, never "now". Its keys move the cursor (play and pause, step,
jump to the next event or operation, to either end of the window) and a
timeline bar under the header shows where it stands. It changes nothing:
every action that would act on a node or write a shared record is refused,
saying why ("replaying").
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input

from ksystui.core.timeline import EVENT_KINDS, OPERATION_KINDS
from ksystui.ui.actions import Action
from ksystui.ui.chrome import FleetHeader
from ksystui.ui.replay_bar import BarState, Mark, ReplayBar
from ksystui.ui.screens import ArbiterTableScreen, BaseScreen


class Replay(Protocol):
    """What the console needs of a recorded window to move through it
    (``client.replay_source.ReplaySource.cursor`` gives it): the window, the
    cursor, the marks, and a way to move the cursor. The state at the cursor reaches the
    console through the ``SnapshotSource`` and ``SharedState`` it is handed
    with it: a move tells their subscribers what changed, as a poll does."""

    @property
    def at(self) -> datetime: ...

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def marks(self) -> Sequence[Mark]: ...

    def seek(self, t: datetime) -> Awaitable[object] | object: ...


REPLAYING = "replaying: this console shows a recorded past and changes nothing"
TICK_SECONDS = 0.25  # how often playing moves the cursor on (real time)
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)

REPLAY_ACTIONS: tuple[Action, ...] = (  # short words: the footer shows them first, before the views' keys
    Action("replay.play", "space", "Play/pause", "replay_play"),
    Action("replay.next_event", "n", "Next event", "replay_next('event')"),
    Action("replay.next_operation", "o", "Next operation", "replay_next('operation')"),
    Action("replay.step", "full_stop", "Step on", "replay_step(1)"),
    Action("replay.back", "comma", "Step back", "replay_step(-1)"),
    Action("replay.start", "g", "Start of the replayed window", "replay_edge('start')", footer=False),
    Action("replay.end", "G", "End of the replayed window", "replay_edge('end')", footer=False),
    Action("replay.faster", "plus", "Play faster", "replay_speed(1)", footer=False),
    Action("replay.slower", "minus", "Play slower", "replay_speed(-1)", footer=False),
)
REPLAY_IDS = frozenset(a.id for a in REPLAY_ACTIONS)


def refusal_while_replaying(action: Action) -> str | None:
    """Why a replayed console refuses an action: whatever acts on a node,
    writes a shared record or asks a node for news (there is none)."""
    if action.dangerous or action.writes or action.id == "view.refresh":
        return REPLAYING
    return None


def cursor_clock(replay: Replay) -> Callable[[], datetime]:
    """The replayed console's clock: the cursor."""
    return lambda: replay.at


def next_speed(speed: float, direction: int) -> float:
    """The next speed up (1) or down (-1) of ``SPEEDS`` from ``speed``."""
    if direction > 0:
        return next((s for s in SPEEDS if s > speed), SPEEDS[-1])
    return next((s for s in reversed(SPEEDS) if s < speed), SPEEDS[0])


async def _done(result: Awaitable[object] | object) -> None:
    if inspect.isawaitable(result):
        await result


class ReplayDesk(App[None]):
    """The replay's side of the control room (a base of ``ControlRoomApp``,
    which sets ``replay`` and calls ``start_replay`` once mounted)."""

    replay: Replay | None = None
    replay_playing: bool = False
    replay_speed: float = 1.0

    def _tick(self) -> None:
        raise NotImplementedError

    def refresh_chrome(self, screen: Screen[Any]) -> None:
        raise NotImplementedError

    # --- life cycle ---------------------------------------------------------------------
    def start_replay(self, *, playing: bool = False) -> None:
        self._replay_lock = asyncio.Lock()
        self._played_at = time.monotonic()
        self.replay_playing = playing
        self.set_interval(TICK_SECONDS, self._play_on)

    def bar_state(self) -> BarState:
        assert self.replay is not None
        r = self.replay
        return BarState(r.start, r.end, r.at, tuple(r.marks), self.replay_playing, self.replay_speed)

    def place_bar(self, screen: Screen[Any]) -> None:
        """The bar under the header of every framed screen, showing the cursor now."""
        if self.replay is None or not isinstance(screen, BaseScreen):
            return
        bars = screen.query(ReplayBar)
        if bars:
            bars.first().show(self.bar_state())
            return
        headers = screen.query(FleetHeader)
        if headers:
            screen.mount(ReplayBar(self.bar_state()), after=headers.first())

    def replay_refusal(self, action: Action) -> str | None:
        return refusal_while_replaying(action) if self.replay is not None else None

    def replay_key_enabled(self, action_id: str) -> bool:
        """The replay's keys are the app's first (``g`` and ``G`` before the
        table's first/last row), except while the operator types in a field."""
        return not (action_id in REPLAY_IDS and isinstance(self.focused, Input))

    # --- moving the cursor ------------------------------------------------------------------
    async def _move(self, how: Awaitable[object] | object) -> None:
        """Move the cursor, then show the screens as of it."""
        async with self._replay_lock:
            await _done(how)
        self.replay_moved()

    def replay_moved(self) -> None:
        """The cursor moved: ages are judged again as of it, the table read
        from the arbiter (queue, audit) is read again, the bar and header follow."""
        if not self.screen_stack:
            return
        self._tick()
        screen = self.screen
        if isinstance(screen, ArbiterTableScreen) and screen.arbiter is not None and screen.ready:
            screen.reload()
        self.refresh_chrome(screen)

    async def replay_seek(self, t: datetime) -> None:
        """Put the cursor at ``t`` (held inside the window), the screens as of it."""
        assert self.replay is not None
        r = self.replay
        await self._move(r.seek(min(r.end, max(r.start, t))))

    async def _play_on(self) -> None:
        now = time.monotonic()
        real, self._played_at = now - self._played_at, now
        if not self.replay_playing or self.replay is None or self._replay_lock.locked():
            return
        r = self.replay
        target = r.at + timedelta(seconds=real * self.replay_speed)
        if target >= r.end:
            target = r.end
            self.replay_playing = False
        await self.replay_seek(target)

    # --- the keys -------------------------------------------------------------------------------
    async def action_replay_play(self) -> None:
        assert self.replay is not None
        if not self.replay_playing and self.replay.at >= self.replay.end:
            await self.replay_seek(self.replay.start)  # at the end: play again from the start
        self.replay_playing = not self.replay_playing
        self._played_at = time.monotonic()
        self.replay_moved()

    async def action_replay_step(self, direction: int) -> None:
        assert self.replay is not None
        self.replay_playing = False
        await self.replay_seek(self.replay.at + direction * timedelta(seconds=max(1.0, self.replay_speed)))

    async def action_replay_next(self, what: str) -> None:
        assert self.replay is not None
        self.replay_playing = False
        r, before = self.replay, self.replay.at
        kinds = EVENT_KINDS if what == "event" else OPERATION_KINDS
        mark = min((m for m in r.marks if m.kind in kinds and m.at > before), key=lambda m: m.at, default=None)
        if mark is None:
            self.notify(f"no {what} after the cursor in this window", timeout=2)
            self.replay_moved()
            return
        await self.replay_seek(mark.at)
        label = getattr(mark, "label", "")
        if label:  # what the operator jumped to, in a word (the bar only marks it)
            self.notify(label, title=f"{mark.kind} at {mark.at.astimezone():%H:%M:%S}", timeout=4)

    async def action_replay_edge(self, edge: str) -> None:
        assert self.replay is not None
        self.replay_playing = False
        await self.replay_seek(self.replay.start if edge == "start" else self.replay.end)

    def action_replay_speed(self, direction: int) -> None:
        self.replay_speed = next_speed(self.replay_speed, direction)
        self.notify(f"replaying at {self.replay_speed:g}x", timeout=1.5)
        self.replay_moved()
