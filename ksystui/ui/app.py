"""The control room: a k9s-style Textual app over the live fleet.

It reads snapshots from the fleet (``ui`` never touches a transport or the
database) and keeps its picture in a ``FleetView``. Fleet callbacks only post
messages; handlers on the app update the screens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input

from ksystui.core.events import is_critical
from ksystui.core.operations import OP_WORDS as OP_BY_WORD
from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.tenants import TenantInfo
from ksystui.core.views import ViewRow, tenant_rows
from ksystui.resources import THEMES_DIR
from ksystui.ui.actions import ACTIONS, Action, Context, bindings, remap
from ksystui.ui.audit_screen import AuditScreen
from ksystui.ui.chrome import Banner, Breadcrumb, FleetHeader, banner_text, header_text
from ksystui.ui.operate import ConfirmScreen, QueueScreen, ReasonScreen
from ksystui.ui.screens import (
    BaseScreen,
    DetailScreen,
    HelpScreen,
    TableScreen,
    TableViewScreen,
    object_pairs,
)
from ksystui.ui.state import FleetView, ViewChanges

# the recovery an alert offers, pre-filled (the seed: a production host fails → move)
RECOVERY_FOR = {"HOST_FAILURE": "move-unplanned"}
THEMES = {"dark": "textual-dark", "light": "textual-light", "high-contrast": "ansi-dark"}
VIEW_COMMANDS = ("overview", "tenants", "vms", "replication", "events", "hosts", "nodes", "queue", "audit")


@dataclass
class SnapshotReceived(Message):
    snapshot: NodeSnapshot
    new_events: tuple = ()


class CommandScreen(ModalScreen[str | None]):
    """``:`` — a k9s-style command line with completion."""

    DEFAULT_CSS = """
    CommandScreen { align: left bottom; background: transparent; }
    CommandScreen > Input { width: 100%; border: tall $accent; }
    """
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, words: list[str]):
        super().__init__()
        self.words = words

    def compose(self) -> ComposeResult:
        yield Input(placeholder=":vms  :events  :tenant NAME  :scope …  (Tab completes)", id="command",
                    suggester=SuggestFromList(self.words, case_sensitive=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip().lstrip(":"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConsoleCommands(Provider):
    """The command palette: every view and command, in scope."""

    def _commands(self) -> list[tuple[str, str]]:
        app: ControlRoomApp = self.app  # type: ignore[assignment]
        return [(f":{w}", f"Run :{w}") for w in app.command_words()]

    async def discover(self) -> Hits:
        for name, help_text in self._commands():
            yield DiscoveryHit(name, partial(self.app.run_command, name.lstrip(":")), help=help_text)  # type: ignore[attr-defined]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.run_command, name.lstrip(":")),  # type: ignore[attr-defined]
                          help=help_text)


class ControlRoomApp(App):
    TITLE = "ksystui"
    COMMANDS = {ConsoleCommands}  # only ours: the palette must not offer what the registry gates
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        fleet,
        tenants: Iterable[TenantInfo],
        *,
        scope: str | None = None,
        readonly: bool = False,
        theme: str = "dark",
        keys: Mapping[str, str] | None = None,
        bell: bool = True,
        start_fleet: bool = True,
        tick_seconds: float = 2.0,
        clock: Callable[[], datetime] | None = None,
        arbiter=None,  # ArbiterPort: how this console queues operations (None: watch only)
    ):
        self.actions: tuple[Action, ...] = remap(ACTIONS, keys or {})
        super().__init__(css_path=_theme_css(theme))
        for b in bindings(self.actions):
            self.bind(b.key, b.action, description=b.description, show=b.show)
        self.fleet = fleet
        self.tenants = list(tenants)
        self.scope_locked = scope is not None
        self.readonly = readonly
        self.theme_name = theme
        self.bell_on_alert = bell
        self.start_fleet = start_fleet
        self.tick_seconds = tick_seconds
        self.clock = clock or (lambda: datetime.now(UTC))
        self.state = FleetView(self.tenants, scope, clock=self.clock)
        self.arbiter = arbiter
        self.last_alert: tuple[str, str, str] | None = None  # (tenant, node, event name)
        self._unsubscribe = None

    # --- life cycle -------------------------------------------------------------------
    def on_mount(self) -> None:
        self.theme = THEMES.get(self.theme_name, "textual-dark")
        self.ansi_color = self.theme_name == "high-contrast"  # the terminal's own 16 colours
        for snap in list(self.fleet.snapshots.values()):
            self.state.update(snap)
        self._unsubscribe = self.fleet.subscribe(
            lambda change: self.post_message(SnapshotReceived(change.snapshot, change.new_events)))
        if self.start_fleet:
            self.fleet.start()
        self.set_interval(self.tick_seconds, self._tick)
        self.set_interval(1.0, self._clock)
        self.push_screen(TableScreen("overview"))

    async def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()

    @property
    def scope(self) -> str | None:
        return self.state.scope

    # --- data ---------------------------------------------------------------------------
    def on_snapshot_received(self, message: SnapshotReceived) -> None:
        changes = self.state.update(message.snapshot)
        self._apply(changes)
        snap = message.snapshot
        if self.state.in_scope(snap.tenant):
            for ev in message.new_events:
                if is_critical(ev):
                    self._alert(snap, ev)

    def _alert(self, snap: NodeSnapshot, ev) -> None:
        where = f" on {ev.resource}" if ev.resource else ""
        self.notify(f"{snap.tenant}/{snap.node}: {ev.name}{where} — {ev.description or ''}",
                    title="Critical event", severity="error", timeout=15)
        if self.bell_on_alert:
            self.bell()
        self.last_alert = (snap.tenant, snap.node, ev.name)
        if self.arbiter is not None and not self.readonly and ev.name in RECOVERY_FOR:
            self._offer_recovery(snap.node, ev.name)

    @work(group="alerts")
    async def _offer_recovery(self, node: str, event: str) -> None:
        try:
            p = await self.arbiter.preview(node, OP_BY_WORD[RECOVERY_FOR[event]], scope=self.scope)
        except Exception as exc:  # the node may be unreadable right now: say so
            self.notify(f"recovery for {node} cannot be planned yet: {exc}", severity="warning", timeout=10)
            return
        self.notify(f"Recovery ready: {p.label} of {p.planned.tenant} ({p.planned.command}), queue position "
                    f"{p.position}. Press ! to review and confirm.", title="Recovery", severity="warning",
                    timeout=30)

    def _tick(self) -> None:
        self._apply(self.state.tick())

    def _clock(self) -> None:
        if self.screen_stack:
            self.refresh_chrome(self.screen)

    def _apply(self, changes: dict[str, ViewChanges]) -> None:
        # Snapshots and ticks are queued messages: one can arrive after shutdown has popped every
        # screen. The state is already updated; a screen pushed later reloads from it.
        if not self.screen_stack:
            return
        screen = self.screen
        if isinstance(screen, TableScreen):
            screen.apply_changes(changes)
        self.refresh_chrome(screen)

    def rows_for(self, screen: TableScreen) -> list[ViewRow]:
        if screen.view == "tenant":
            return tenant_rows(self.state.snapshots, screen.tenant or "")
        return self.state.rows_of(screen.view)

    def refresh_chrome(self, screen) -> None:
        if not isinstance(screen, BaseScreen):
            return
        nodes = self.state.node_states()
        try:
            screen.query_one(FleetHeader).update(
                header_text(self.scope, self.readonly, nodes, self.clock().astimezone().strftime("%H:%M:%S")))
            crumbs = [s.crumb() for s in self.screen_stack if isinstance(s, BaseScreen)]
            screen.query_one(Breadcrumb).update(" › ".join(crumbs))
            banner = screen.query_one(Banner)
        except Exception:  # the screen is still composing
            return
        text = banner_text(nodes)
        banner.set_class(text is not None, "-shown")
        if text is not None:
            banner.update(text)

    # --- actions (all through the registry) ----------------------------------------------------
    def context(self) -> Context:
        screen = self.screen
        view = getattr(screen, "view", "overview")
        has = isinstance(screen, TableViewScreen) and screen.selected() is not None
        return Context(view=view, readonly=self.readonly, has_selection=has, arbiter=self.arbiter is not None)

    async def action_guarded(self, action_id: str, deferred: bool = False) -> None:
        if isinstance(self.screen, TableViewScreen) and not self.screen.ready:
            # A key typed right after the one that opened this view ("0" then "c"): act on
            # the view once it is there, not on a table that does not exist yet. Still not
            # there after a refresh (the console is closing): drop the key.
            if not deferred:
                self.call_after_refresh(self.action_guarded, action_id, True)
            return
        action = next(a for a in self.actions if a.id == action_id)
        reason = action.refusal(self.context())
        if reason:
            self.notify(f"{action.description}: {reason}", severity="warning", timeout=3)
            return
        name, _, args = action.method.partition("(")
        target = self.screen if hasattr(self.screen, f"action_{name}") else self
        await self.run_action(action.method, target)

    def action_command(self) -> None:
        self.push_screen(CommandScreen(self.command_words()), self._command_done)

    def _command_done(self, value: str | None) -> None:
        if value:
            self.run_command(value)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(getattr(self.screen, "view", "overview"), self.readonly, self.actions))

    def action_back(self) -> None:
        screen = self.screen
        if isinstance(screen, TableViewScreen) and screen.close_filter():
            return
        if len([s for s in self.screen_stack if isinstance(s, BaseScreen)]) > 1:
            self.pop_screen()

    def action_goto(self, view: str) -> None:
        self.run_command(view)

    # --- operations (through the arbiter) -------------------------------------------------
    def action_operate(self, word: str) -> None:
        row = self.screen.selected() if isinstance(self.screen, TableScreen) else None
        node = row.node if row is not None else None
        if node is None and row is not None and row.tenant:
            t = next((t for t in self.tenants if t.name == row.tenant), None)
            node = t.nodes[0] if t and t.nodes else None
        if node is None:
            self.notify("select a row of a tenant's node first", severity="warning")
            return
        self._review(node, OP_BY_WORD[word])

    def action_recover_alert(self) -> None:
        if self.last_alert is None:
            self.notify("no critical alert to act on", severity="warning")
            return
        _tenant, node, event = self.last_alert
        self._review(node, OP_BY_WORD[RECOVERY_FOR.get(event, "verify")])

    @work(group="operate")
    async def _review(self, node: str, op) -> None:
        try:
            preview = await self.arbiter.preview(node, op, scope=self.scope)
        except Exception as exc:
            self.notify(f"cannot plan it: {exc}", severity="error")
            return
        typed = await self.push_screen_wait(ConfirmScreen(preview))
        if typed is None:
            self.notify("cancelled: nothing queued", timeout=2)
            return
        try:
            op_id = await self.arbiter.submit(preview, typed or None)
        except Exception as exc:
            self.notify(f"not queued: {exc}", severity="error")
            return
        self.notify(f"queued #{op_id}: {preview.planned.command}", title="Queued", timeout=6)

    @work(group="operate")
    async def cancel_queued(self, op_id: int) -> None:
        ok = await self.arbiter.cancel(op_id, "cancelled from the console")
        self.notify(f"#{op_id} cancelled" if ok else f"#{op_id} could not be cancelled (no longer queued)",
                    severity="information" if ok else "warning")

    @work(group="operate")
    async def raise_queued(self, op_id: int) -> None:
        reason = await self.push_screen_wait(ReasonScreen(f"Raise #{op_id} over the other waiting operations. "
                                                          "Why? (audited)"))
        if not reason:
            return
        ok = await self.arbiter.raise_priority(op_id, reason)
        self.notify(f"#{op_id} raised: {reason}" if ok else f"#{op_id} could not be raised",
                    severity="information" if ok else "warning")

    def refresh_node(self, node: str) -> None:
        self.fleet.refresh_now(node)
        self.notify(f"polling {node} now", timeout=1.5)

    def acknowledge(self, identity: str) -> None:
        self._apply(self.state.acknowledge(identity))

    # --- commands -------------------------------------------------------------------------------
    def command_words(self) -> list[str]:
        words = list(VIEW_COMMANDS) + ["help", "quit"] + [f"theme {t}" for t in THEMES]
        words += [f"tenant {t.name}" for t in self.state.visible_tenants()]
        if not self.scope_locked:
            words += ["scope all"] + [f"scope {t.name}" for t in self.tenants]
        return words

    def run_command(self, text: str) -> None:
        word, _, arg = text.strip().partition(" ")
        word, arg = word.lower(), arg.strip()
        if word in ("overview", "tenants"):
            self._switch(TableScreen("overview"))
        elif word in ("vms", "replication", "events", "hosts", "nodes"):
            self._switch(TableScreen(word, preset_filter=arg))
        elif word == "queue":
            self._switch(QueueScreen())
        elif word == "audit":
            self._switch(AuditScreen())
        elif word == "tenant":
            if not arg or not self.state.in_scope(arg) or arg not in {t.name for t in self.tenants}:
                # never confirm or deny another tenant's existence in a scoped console
                self.notify("no such tenant in this console", severity="warning")
                return
            self._switch(TableScreen("tenant", tenant=arg, title=f"Tenant {arg}"))
        elif word == "scope":
            self._set_scope(arg)
        elif word == "theme":
            if arg not in THEMES:
                self.notify(f"themes: {', '.join(THEMES)}", severity="warning")
                return
            self.theme_name = arg
            self.theme = THEMES[arg]
            self.ansi_color = arg == "high-contrast"
        elif word == "help":
            self.action_help()
        elif word in ("quit", "q"):
            self.exit()
        else:
            self.notify(f"unknown command :{text}", severity="warning")

    def _set_scope(self, arg: str) -> None:
        if self.scope_locked:
            self.notify("this console is scoped to one tenant", severity="warning")
            return
        if arg in ("all", ""):
            self.state.set_scope(None)
        elif arg in {t.name for t in self.tenants}:
            self.state.set_scope(arg)
        else:
            self.notify(f"no tenant {arg!r}", severity="warning")
            return
        self._switch(TableScreen("overview"))

    def _switch(self, screen) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def drill_down(self, screen: TableScreen, row: ViewRow) -> None:
        kind = row.key[0]
        if kind == "overview":
            self.push_screen(TableScreen("tenant", tenant=row.tenant, title=f"Tenant {row.tenant}"))
        elif kind in ("t", "replication", "host"):
            self.push_screen(TableScreen("vms", preset_filter=f"node:{row.node}"))
        elif kind == "vm":
            vm = row.data.data if isinstance(row.data, ViewRow) else row.data
            pairs = [("tenant", row.tenant or ""), ("node", row.node or "")] + object_pairs(vm)
            self.push_screen(DetailScreen(f"VM {row.key[2]}", pairs))
        elif kind == "event":
            pairs = [("tenant", row.tenant or ""), ("node", row.node or "")] + object_pairs(row.data)
            self.push_screen(DetailScreen(f"Event {row.cells[4]}", pairs))
        elif kind == "node":
            self.push_screen(DetailScreen(f"Node {row.node}", node_pairs(row.data)))


def node_pairs(snap: NodeSnapshot) -> list[tuple[str, str]]:
    """Why a node's values are as fresh as they are, query by query."""
    h = snap.health
    out = [
        ("tenant", snap.tenant), ("flavour", snap.flavour.value), ("poll interval", f"{snap.interval:g} s"),
        ("last attempt", str(h.last_attempt or "never")), ("last success", str(h.last_success or "never")),
        ("last error", h.last_error or "-"), ("error kind", h.error_kind or "-"),
        ("consecutive failures", str(h.consecutive_failures)), ("latency", f"{h.latency_ms or 0:.0f} ms"),
        ("host key", h.host_key), ("next attempt", str(h.next_attempt or "-")),
    ]
    for kind, sec in sorted(snap.sections.items()):
        state = f"read {sec.read_at:%H:%M:%S}" if sec.read_at else "never read"
        if sec.error:
            state += f"; last attempt failed: {sec.error}"
        out.append((f"query {kind}", state))
    return out


def _theme_css(theme: str) -> list[Path]:
    base = THEMES_DIR / "base.tcss"
    own = THEMES_DIR / f"{theme}.tcss"
    return [p for p in (base, own) if p.exists()]

