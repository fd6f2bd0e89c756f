"""The frame around every view: the header that shows every node's
freshness, the breadcrumb, and the banner of unreachable nodes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Span, Text
from textual.screen import ModalScreen
from textual.visual import VisualType
from textual.widgets import Static

from ksystui.core.snapshot import Freshness

SYMBOL = {
    Freshness.FRESH: "●",
    Freshness.STALE: "◐",
    Freshness.UNREACHABLE: "✖",
    Freshness.UNKNOWN: "○",
}
# The header's colours are the theme's: header_text marks spans with these
# names and FleetHeader paints them with its component classes (a fixed
# "green" on a light panel read 2.48:1).
STYLE = {
    Freshness.FRESH: "fleet-header--fresh",
    Freshness.STALE: "fleet-header--stale",
    Freshness.UNREACHABLE: "fleet-header--unreachable",
    Freshness.UNKNOWN: "fleet-header--unknown",
}
READ_ONLY = "fleet-header--readonly"
BADGE = "fleet-header--badge"


def header_text(scope: str | None, readonly: bool, nodes: list[tuple[str, Freshness, str | None]],
                clock: str, *, replaying: bool = False) -> Text:
    """The header line: the clock first (a narrow terminal cuts the end of
    the line, never the time), the scope, READ-ONLY (REPLAY for a recorded
    past: the clock is then the replay's cursor), every node's freshness."""
    t = Text()
    t.append(" ksystui ", style=BADGE)
    t.append(f" {clock}  scope: {scope or 'all tenants'}", style="bold")
    if readonly or replaying:
        t.append("  ")
        t.append(" REPLAY " if replaying else " READ-ONLY ", style=READ_ONLY)
    t.append("  │ ")
    for name, f, _reason in nodes:
        t.append(f"{SYMBOL[f]} ", style=STYLE[f])
        t.append(f"{name} ", style="italic" if f is Freshness.STALE else "")
    return t


def banner_text(nodes: list[tuple[str, Freshness, str | None]], service_note: str | None = None) -> Text | None:
    """What is wrong right now: no provider service (so nothing is polled and
    the data only ages), and every node that cannot be reached."""
    down = [(n, r) for n, f, r in nodes if f is Freshness.UNREACHABLE]
    if not down and not service_note:
        return None
    t = Text()
    if service_note:
        t.append(f" ⚠ {service_note}", style="bold")
        if down:
            t.append("\n")
    for i, (name, reason) in enumerate(down):
        if i:
            t.append("\n")
        t.append(f" ✖ {name} unreachable", style="bold")
        t.append(f": {reason or 'no answer'}  — its values below are its last known ones", style="")
    return t


class FleetHeader(Static):
    """The header line. The app refreshes it on the screen on top; while a
    dialog covers its screen, the header refreshes itself each second so the
    clock above the dialog keeps ticking."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {*STYLE.values(), READ_ONLY, BADGE}
    DEFAULT_CSS = """
    FleetHeader {
        height: 1; background: $panel; color: $foreground;
        & > .fleet-header--badge { text-style: bold reverse; }
        & > .fleet-header--fresh { color: $text-success; }
        & > .fleet-header--stale { color: $text-warning; }
        & > .fleet-header--unreachable { color: $text-error; text-style: bold; }
        & > .fleet-header--unknown { color: $foreground; }
        & > .fleet-header--readonly { text-style: bold reverse; }
    }
    """

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        if isinstance(content, Text):
            content = self._painted(content)
        super().update(content, layout=layout)

    def _painted(self, text: Text) -> Text:
        """The header's marked spans in the theme's colours."""
        out = text.copy()
        out.spans = [Span(s.start, s.end, self.get_component_rich_style(s.style))
                     if isinstance(s.style, str) and s.style in self.COMPONENT_CLASSES else s for s in text.spans]
        return out

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_under_dialog)

    def _tick_under_dialog(self) -> None:
        app = self.app
        stack = app.screen_stack
        if not stack or stack[-1] is self.screen or not isinstance(stack[-1], ModalScreen):
            return  # on top (the app keeps it), or hidden under another full screen
        below = next((s for s in reversed(stack) if not isinstance(s, ModalScreen)), None)
        refresh = getattr(app, "refresh_chrome", None)
        if below is self.screen and refresh is not None:
            refresh(self.screen)


class Breadcrumb(Static):
    DEFAULT_CSS = """
    Breadcrumb { height: 1; color: $text-muted; padding: 0 1; }
    """


class Banner(Static):
    DEFAULT_CSS = """
    Banner { height: auto; background: $error; color: $text; display: none; }
    Banner.-shown { display: block; }
    """
