"""One registry of the console's actions.

Each action has an id, a default key, a description, a ``dangerous`` flag,
the capability a view must have for it to act there (``core.viewdefs``)
and a guard. The same registry feeds the key bindings, the footer (only the
keys that act in the view on screen), the ``?`` help, the command palette
and read-only gating; users remap keys by action id in their config
(``[ui.keys] "view.filter" = "f"``). The number keys come from the view
registry: each view with a key gets a ``goto.<view>`` action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from textual.binding import Binding

from ksystui.core.viewdefs import VIEW_DEFS, VIEWS, Capability, ViewDef


@dataclass(frozen=True)
class Context:
    """What a guard may look at."""

    view: str
    readonly: bool
    capabilities: frozenset[Capability] = frozenset()  # of the view on screen
    has_selection: bool = False
    arbiter: bool = False  # this console has an arbiter to submit to


@dataclass(frozen=True)
class Action:
    id: str  # stable name users remap by
    key: str  # Textual key name(s), comma-separated
    description: str
    method: str  # the action_* method (without the prefix), on the screen or the app
    dangerous: bool = False  # changes something on a tenant's node: never from read-only mode
    writes: bool = False  # writes a record every console shares (an acknowledgement): not from read-only mode
    needs: Capability | None = None  # what a view must support for it to act there; None: everywhere
    footer: bool = True
    guard: Callable[[Context], str | None] | None = None  # a reason to refuse now, or None
    palette: bool = True  # offered in the command palette (number keys are, as views)

    def applies(self, capabilities: frozenset[Capability]) -> bool:
        return self.needs is None or self.needs in capabilities

    def refusal(self, ctx: Context) -> str | None:
        if self.dangerous and ctx.readonly:
            return "read-only mode: no action can be started from this console"
        if self.writes and ctx.readonly:
            return "read-only mode: this console changes nothing"
        if not self.applies(ctx.capabilities):
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


# Enter opens a queue row (the operation, whole) and an audit row (the record, whole): the
# registry (core.viewdefs) does not say so yet, the console does. Harmless once it does.
_OPENS_ROWS = {"queue": frozenset({Capability.DRILL}), "audit": frozenset({Capability.DRILL})}


def capabilities_of(view: str) -> frozenset[Capability]:
    """What the view on screen supports; a screen outside the registry (a
    detail, a dialog) supports nothing but the global keys."""
    vd = VIEWS.get(view)
    return (vd.capabilities | _OPENS_ROWS.get(view, frozenset())) if vd is not None else frozenset()


def goto_actions(views: Iterable[ViewDef] = VIEW_DEFS) -> tuple[Action, ...]:
    return tuple(Action(f"goto.{v.name}", v.key, v.title, f"goto('{v.name}')", footer=False, palette=False)
                 for v in views if v.key)


LIST, DRILL, POLL, ACK, OPERATE, QUEUE = (Capability.LIST, Capability.DRILL, Capability.POLL,
                                          Capability.ACKNOWLEDGE, Capability.OPERATE, Capability.QUEUE)

ACTIONS: tuple[Action, ...] = (
    Action("app.command", "colon", "Command (:vms, :events, :scope …)", "command", palette=False),
    Action("view.filter", "slash", "Filter rows", "filter", needs=LIST),
    Action("view.open", "enter", "Drill down", "open", needs=DRILL, footer=False, guard=_needs_selection),
    Action("app.back", "escape", "Back", "back", palette=False),
    Action("app.help", "question_mark", "Help: keys of this view", "help"),
    Action("view.sort", "s", "Sort by next column", "sort_next", needs=LIST),
    Action("view.sort_reverse", "S", "Reverse sort", "sort_reverse", needs=LIST, footer=False),
    Action("view.refresh", "r", "Poll the selected node now", "refresh", needs=POLL, guard=_needs_selection),
    Action("event.ack", "a", "Acknowledge event", "acknowledge",
           writes=True, needs=ACK, guard=_needs_arbiter),
    Action("op.discover", "d", "Discover: queue a discovery of the selected tenant's site", "operate('discover')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter),
    Action("op.verify", "v", "Verify: queue a verification (uses the recovery host)", "operate('verify')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter),
    Action("op.move", "m", "Planned move to the backup site", "operate('move')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter),
    Action("op.move_unplanned", "M", "Unplanned move (disaster): type the tenant's name to confirm",
           "operate('move-unplanned')", dangerous=True, needs=OPERATE, guard=_needs_arbiter),
    Action("op.dr_test", "t", "DR test (failover rehearsal)", "operate('dr-test')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter),
    Action("op.cleanup", "c", "Cleanup (after a DR test or an unplanned move)", "operate('cleanup')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter),
    Action("op.recover", "R", "Recover: restart VMs a move or cleanup left failed", "operate('recover')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter, footer=False),
    Action("op.resync", "y", "Resync: re-synchronise replication (a workgroup / disk group)", "operate('resync')",
           dangerous=True, needs=OPERATE, guard=_needs_arbiter, footer=False),
    Action("queue.cancel", "x", "Cancel the selected queued operation", "cancel_op",
           dangerous=True, needs=QUEUE, guard=_needs_arbiter),
    Action("queue.raise", "p", "Raise the selected operation over others (written reason)", "raise_op",
           dangerous=True, needs=QUEUE, guard=_needs_arbiter),
    Action("alert.recover", "exclamation_mark", "Act on the latest critical alert (pre-filled)", "recover_alert",
           dangerous=True, footer=False, guard=_needs_arbiter_only),
    *goto_actions(),
    Action("app.quit", "q", "Quit", "quit"),
)



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
    capabilities = capabilities_of(view)
    for a in actions:
        if not a.applies(capabilities):
            continue
        mark = ("×" if readonly else "!") if a.dangerous else ("×" if readonly and a.writes else "")
        rows.append((display_key(a.key), a.description, mark))
    return rows


_KEY_NAMES = {"colon": ":", "slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter",
              "exclamation_mark": "!", "full_stop": ".", "comma": ",", "plus": "+", "minus": "-", "space": "Space"}


def display_key(key: str) -> str:
    return ", ".join(_KEY_NAMES.get(k, k) for k in key.split(","))
