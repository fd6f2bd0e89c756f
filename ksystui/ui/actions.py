"""One registry of the console's actions.

Each action has an id, a default key, a description, a ``dangerous`` flag
and a guard. The same registry feeds the key bindings, the footer, the ``?``
help, the command palette and read-only gating; users remap keys by action
id in their config (``[ui.keys] "view.filter" = "f"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from textual.binding import Binding


@dataclass(frozen=True)
class Context:
    """What a guard may look at."""

    view: str
    readonly: bool
    has_selection: bool = False
    arbiter: bool = False  # this console has an arbiter to submit to


@dataclass(frozen=True)
class Action:
    id: str  # stable name users remap by
    key: str  # Textual key name(s), comma-separated
    description: str
    method: str  # the action_* method (without the prefix), on the screen or the app
    dangerous: bool = False  # changes something on a tenant's node: never from read-only mode
    views: tuple[str, ...] | None = None  # where it applies; None: everywhere
    footer: bool = True
    guard: Callable[[Context], str | None] | None = None  # a reason to refuse now, or None

    def applies(self, view: str) -> bool:
        return self.views is None or view in self.views

    def refusal(self, ctx: Context) -> str | None:
        if self.dangerous and ctx.readonly:
            return "read-only mode: no action can be started from this console"
        if not self.applies(ctx.view):
            return f"not available in the {ctx.view} view"
        return self.guard(ctx) if self.guard else None


def _needs_selection(ctx: Context) -> str | None:
    return None if ctx.has_selection else "select a row first"


def _needs_arbiter(ctx: Context) -> str | None:
    if not ctx.arbiter:
        return "this console has no arbiter (no database): it can only watch"
    return _needs_selection(ctx)


def _needs_arbiter_only(ctx: Context) -> str | None:
    return None if ctx.arbiter else "this console has no arbiter (no database): it can only watch"


TABLE_VIEWS = ("overview", "vms", "replication", "events", "hosts", "nodes", "tenant", "queue")
LIST_VIEWS = (*TABLE_VIEWS, "audit")  # filter and sort work in every table, the audit trail's too
OP_VIEWS = ("overview", "vms", "replication", "events", "hosts", "nodes", "tenant")

ACTIONS: tuple[Action, ...] = (
    Action("app.command", "colon", "Command (:vms, :events, :scope …)", "command"),
    Action("view.filter", "slash", "Filter rows", "filter", views=LIST_VIEWS),
    Action("view.open", "enter", "Drill down", "open", views=TABLE_VIEWS, footer=False, guard=_needs_selection),
    Action("app.back", "escape", "Back", "back"),
    Action("app.help", "question_mark", "Help: keys of this view", "help"),
    Action("view.sort", "s", "Sort by next column", "sort_next", views=LIST_VIEWS),
    Action("view.sort_reverse", "S", "Reverse sort", "sort_reverse", views=LIST_VIEWS, footer=False),
    Action("view.refresh", "r", "Poll the selected node now", "refresh", views=TABLE_VIEWS, guard=_needs_selection),
    Action("event.ack", "a", "Acknowledge event", "acknowledge", views=("events",), guard=_needs_selection),
    Action("op.discover", "d", "Discover: queue a discovery of the selected tenant's site", "operate('discover')",
           dangerous=True, views=OP_VIEWS, guard=_needs_arbiter),
    Action("op.verify", "v", "Verify: queue a verification (uses the recovery host)", "operate('verify')",
           dangerous=True, views=OP_VIEWS, guard=_needs_arbiter),
    Action("op.move", "m", "Planned move to the backup site", "operate('move')",
           dangerous=True, views=OP_VIEWS, guard=_needs_arbiter),
    Action("op.move_unplanned", "M", "Unplanned move (disaster): type the tenant's name to confirm",
           "operate('move-unplanned')", dangerous=True, views=OP_VIEWS, guard=_needs_arbiter),
    Action("op.dr_test", "t", "DR test (failover rehearsal)", "operate('dr-test')",
           dangerous=True, views=OP_VIEWS, guard=_needs_arbiter),
    Action("op.cleanup", "c", "Cleanup (after a DR test or an unplanned move)", "operate('cleanup')",
           dangerous=True, views=OP_VIEWS, guard=_needs_arbiter),
    Action("queue.cancel", "x", "Cancel the selected queued operation", "cancel_op",
           dangerous=True, views=("queue",), guard=_needs_arbiter),
    Action("queue.raise", "p", "Raise the selected operation over others (written reason)", "raise_op",
           dangerous=True, views=("queue",), guard=_needs_arbiter),
    Action("alert.recover", "exclamation_mark", "Act on the latest critical alert (pre-filled)", "recover_alert",
           dangerous=True, footer=False, guard=_needs_arbiter_only),
    Action("goto.overview", "0", "Overview", "goto('overview')", footer=False),
    Action("goto.vms", "1", "VMs", "goto('vms')", footer=False),
    Action("goto.replication", "2", "Replication", "goto('replication')", footer=False),
    Action("goto.events", "3", "Events", "goto('events')", footer=False),
    Action("goto.hosts", "4", "Hosts", "goto('hosts')", footer=False),
    Action("goto.nodes", "5", "Nodes", "goto('nodes')", footer=False),
    Action("goto.queue", "6", "Queue", "goto('queue')", footer=False),
    Action("goto.audit", "7", "Audit trail", "goto('audit')", footer=False),
    Action("app.quit", "q", "Quit", "quit"),
)

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}


class KeymapError(ValueError):
    pass


def remap(actions: Iterable[Action], keys: Mapping[str, str]) -> tuple[Action, ...]:
    """Apply the user's ``[ui.keys]``; unknown ids and clashing keys are
    refused with a message naming them."""
    actions = tuple(actions)
    known = {a.id for a in actions}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise KeymapError(f"unknown action id(s) in [ui.keys]: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    out = tuple(replace(a, key=keys.get(a.id, a.key)) for a in actions)
    seen: dict[str, str] = {}
    for a in out:
        for k in a.key.split(","):
            if k in seen and seen[k] != a.id:
                raise KeymapError(f"key {k!r} is bound to both {seen[k]} and {a.id}")
            seen[k] = a.id
    return out


def bindings(actions: Iterable[Action]) -> list[Binding]:
    return [
        Binding(a.key, f"guarded('{a.id}')", a.description, show=a.footer, id=a.id)
        for a in actions
    ]


# what the mark beside a key in ``?`` means
HELP_MARKS = {"!": "changes a node: asks for confirmation first", "×": "disabled: this console is read-only"}


def help_rows(actions: Iterable[Action], view: str, readonly: bool) -> list[tuple[str, str, str]]:
    """(key, description, mark) for the actions of a view, as ``?`` lists
    them; the mark is "", or a key of HELP_MARKS."""
    rows = []
    for a in actions:
        if not a.applies(view):
            continue
        mark = ("×" if readonly else "!") if a.dangerous else ""
        rows.append((display_key(a.key), a.description, mark))
    return rows


_KEY_NAMES = {"colon": ":", "slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter",
              "exclamation_mark": "!"}


def display_key(key: str) -> str:
    return ", ".join(_KEY_NAMES.get(k, k) for k in key.split(","))
