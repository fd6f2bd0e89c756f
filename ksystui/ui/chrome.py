"""The frame around every view: the header that shows every node's
freshness, the breadcrumb, and the banner of unreachable nodes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ksystui.core.snapshot import Freshness

SYMBOL = {
    Freshness.FRESH: "●",
    Freshness.STALE: "◐",
    Freshness.UNREACHABLE: "✖",
    Freshness.UNKNOWN: "○",
}
STYLE = {
    Freshness.FRESH: "green",
    Freshness.STALE: "yellow",
    Freshness.UNREACHABLE: "bold red",
    Freshness.UNKNOWN: "dim",
}


def header_text(scope: str | None, readonly: bool, nodes: list[tuple[str, Freshness, str | None]],
                clock: str) -> Text:
    t = Text()
    t.append(" ksystui ", style="bold reverse")
    t.append(f"  scope: {scope or 'all tenants'}", style="bold")
    if readonly:
        t.append("  READ-ONLY", style="bold yellow")
    t.append("  │ ")
    for name, f, _reason in nodes:
        t.append(f"{SYMBOL[f]} ", style=STYLE[f])
        t.append(f"{name} ", style="dim" if f is Freshness.STALE else "")
    t.append(f" │ {clock}")
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
    DEFAULT_CSS = """
    FleetHeader { height: 1; background: $panel; color: $text; }
    """


class Breadcrumb(Static):
    DEFAULT_CSS = """
    Breadcrumb { height: 1; color: $text-muted; padding: 0 1; }
    """


class Banner(Static):
    DEFAULT_CSS = """
    Banner { height: auto; background: $error; color: $text; display: none; }
    Banner.-shown { display: block; }
    """
