"""The control room: a k9s-style Textual app over the live fleet.

It reads snapshots from a ``SnapshotSource`` and the records every console
shares (alerts and their acknowledgements, whether a provider service runs)
from a ``SharedState`` (``ui`` never touches a transport or the database)
and keeps its picture in the core's ``FleetView``. Source callbacks only
post messages; screens post messages too (``DrillDownRequested``,
``OperationRequested``, …) and the handlers here decide. What a view is (its columns, rows, keys, drill-down, actions)
is the core's view registry; the ``:`` line is the core's interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from textual import work
from textual.screen import Screen

from ksystui.core.alerts import AlertRecord
from ksystui.core.command_line import (
    CommandScope,
    Help,
    OpenTenant,
    Quit,
    Refused,
    SetScope,
    SetTheme,
    SwitchView,
    Unknown,
    command_words,
    interpret,
)
from ksystui.core.completion import History
from ksystui.core.fleet_view import FleetView, ViewChanges
from ksystui.core.lifecycle import Op
from ksystui.core.operations import OP_WORDS
from ksystui.core.readouts import Preview
from ksystui.core.recovery import act_on_alert
from ksystui.core.tenants import TenantInfo
from ksystui.core.viewdefs import HOME_VIEW, VIEWS, FromArbiter, OpenDetail, OpenView, open_tenant
from ksystui.resources import THEMES_DIR
from ksystui.ui.actions import ACTIONS, Action, Context, bindings, capabilities_of, remap
from ksystui.ui.alerting import AlertDesk
from ksystui.ui.audit_screen import AuditScreen
from ksystui.ui.chrome import Banner, Breadcrumb, FleetHeader, banner_text, header_text
from ksystui.ui.command_prompt import CommandPrompt
from ksystui.ui.drilling import DRILL_VIEWS, DrillDesk
from ksystui.ui.messages import (
    AuditRecordRequested,
    CancelRequested,
    DrillDownRequested,
    OperationDetailRequested,
    OperationRequested,
    RaiseRequested,
    RefreshRequested,
    ScreenShown,
    SnapshotReceived,
)
from ksystui.ui.op_detail import OperationScreen
from ksystui.ui.operate import AskScreen, ConfirmScreen, QueueScreen, ReasonScreen
from ksystui.ui.palette import ConsoleCommands
from ksystui.ui.plan_screen import PLAN_VIEW, PlanScreen
from ksystui.ui.ports import ArbiterClient, FleetNotice, SharedState, SnapshotSource
from ksystui.ui.quitting import QuitDesk
from ksystui.ui.replaying import REPLAY_ACTIONS, REPLAY_IDS, Replay, ReplayDesk, cursor_clock
from ksystui.ui.screens import (
    ArbiterTableScreen,
    BaseScreen,
    DetailScreen,
    HelpScreen,
    TableScreen,
    TableViewScreen,
)
from ksystui.ui.selecting import SelectionDesk

THEMES = {"dark": "textual-dark", "light": "textual-light", "high-contrast": "ansi-dark"}
# the views read from the arbiter, by the view name each screen declares
ARBITER_SCREENS: dict[str, type[ArbiterTableScreen]] = {s.view: s for s in (QueueScreen, AuditScreen)}

__all__ = ["THEMES", "ControlRoomApp", "SnapshotReceived"]


class ControlRoomApp(AlertDesk, SelectionDesk, QuitDesk, DrillDesk, ReplayDesk):
    TITLE = "ksystui"
    COMMANDS = {ConsoleCommands}  # only ours: the palette must not offer what the registry gates
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        fleet: SnapshotSource,
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
        arbiter: ArbiterClient | None = None,  # how this console queues operations (None: watch only)
        greeting: str | None = None,  # said once the console is up (the demo: how to attach another)
        shared: SharedState | None = None,  # the alert records every console shares (None: no alerts)
        replay: Replay | None = None,  # a recorded window to replay: the source, the clock, and the keys
        playing: bool = False,  # a replay plays from the start (else it waits for space)
    ):
        # the replay's keys may be remapped in the same [ui.keys]: a live console leaves them be
        keys = {k: v for k, v in (keys or {}).items() if replay is not None or k not in REPLAY_IDS}
        self.actions: tuple[Action, ...] = remap((*(REPLAY_ACTIONS if replay else ()), *ACTIONS), keys)
        self._action_by_id = {a.id: a for a in self.actions}
        super().__init__(css_path=_theme_css(theme))
        for b in bindings(self.actions):
            if b.id in REPLAY_IDS:
                # the replay's keys come first (g/G before the table's first/last row); typing disables them
                self._bindings.bind(b.key, b.action, b.description, show=b.show, priority=True)
            else:
                self.bind(b.key, b.action, description=b.description, show=b.show)
        self.replay = replay
        self.replay_starts_playing = playing
        if replay is not None:  # a recorded past: read only, no bell, and its clock is the cursor
            readonly, bell = True, False
            clock = cursor_clock(replay)  # every age on screen is as of the cursor, never now
        self.fleet = fleet
        self.greeting = greeting
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
        self.shared = shared
        self.service_note: str | None = None  # why no provider service keeps the data fresh, if none does
        self.last_alert: AlertRecord | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.command_history = History()  # the `:` commands run, for Up/Down

    # --- life cycle -------------------------------------------------------------------
    def on_mount(self) -> None:
        self.theme = THEMES.get(self.theme_name, "textual-dark")
        self.ansi_color = self.theme_name == "high-contrast"  # the terminal's own 16 colours
        for snap in list(self.fleet.snapshots.values()):
            self.state.update(snap)
        self._unsubscribe.append(self.fleet.subscribe(self._on_fleet_notice))
        if self.shared is not None:
            self.state.set_alerts(tuple(self._judged(a) for a in self.shared.alerts))  # as later news is
            self._unsubscribe.append(self.shared.subscribe_shared(self._on_shared_news))
        if self.start_fleet:
            self.fleet.start()
        self.set_interval(self.tick_seconds, self._tick)
        self.set_interval(1.0, self._clock)
        if self.replay is not None:
            self.start_replay(playing=self.replay_starts_playing)
        self._show(self._screen_for(OpenView(HOME_VIEW)), push=True)
        if self.greeting:
            self.notify(self.greeting, title="ksystui demo", timeout=30)
        if self.shared is not None:
            self._service_note(self.shared.service_note)

    def _on_fleet_notice(self, notice: FleetNotice) -> None:
        # called from the fleet's task: only post, the handler runs on the app's loop
        self.post_message(SnapshotReceived(notice.snapshot, tuple(notice.new_events)))

    async def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # --- data ---------------------------------------------------------------------------
    def on_snapshot_received(self, message: SnapshotReceived) -> None:
        self._apply(self.state.update(message.snapshot))
        self._judge_again(message.snapshot.node)

    def _judge_again(self, node: str) -> None:
        """The recovery an alert proposes follows its node's state: judged
        when the shared news comes, and again as the node's data changes (a
        move done, the alert's row no longer offers it). A replay judges the
        same way at any instant, so it shows what the live console showed."""
        if self.shared is None:
            return
        alerts = self.state.alerts
        judged = tuple(self._judged(a) if a.node == node else a for a in alerts)
        if any(j.proposal != a.proposal for j, a in zip(judged, alerts, strict=True)):
            self._apply(self.state.set_alerts(judged))

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

    def on_screen_shown(self, message: ScreenShown) -> None:
        if self.screen_stack:
            self.refresh_chrome(self.screen)

    def refresh_chrome(self, screen: Screen[Any]) -> None:
        if not isinstance(screen, BaseScreen):
            return
        nodes = self.state.node_states()
        # a replay may span days: its clock says which day the cursor is on
        clock = self.clock().astimezone().strftime("%Y-%m-%d %H:%M:%S" if self.replay else "%H:%M:%S")
        try:
            screen.query_one(FleetHeader).update(
                header_text(self.scope, self.readonly, nodes, clock, replaying=self.replay is not None))
            self.place_bar(screen)
            crumbs = [s.crumb() for s in self.screen_stack if isinstance(s, BaseScreen)]
            screen.query_one(Breadcrumb).update(" › ".join(crumbs))
            banner = screen.query_one(Banner)
        except Exception:  # the screen is still composing
            return
        text = banner_text(nodes, self.service_note)
        banner.set_class(text is not None, "-shown")
        if text is not None:
            banner.update(text)

    # --- actions (all through the registry) ----------------------------------------------------
    def _view_on_screen(self) -> str:
        return getattr(self.screen, "view", "")  # a dialog or detail: no view, only the global keys

    def context(self) -> Context:
        screen = self.screen
        view = self._view_on_screen()
        has = isinstance(screen, TableViewScreen) and screen.selected() is not None
        return Context(view=view, readonly=self.readonly, capabilities=capabilities_of(view),
                       has_selection=has, arbiter=self.arbiter is not None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows, and keys run, only the actions that act in this view."""
        if action == "guarded" and parameters and self.screen_stack:
            known = self._action_by_id.get(str(parameters[0]))
            if known is not None and not known.applies(capabilities_of(self._view_on_screen())):
                return False
            if not self.replay_key_enabled(str(parameters[0])):
                return False
        return True

    def palette_actions(self, view: str) -> Sequence[Action]:
        caps = capabilities_of(view)
        return [a for a in self.actions if a.palette and a.applies(caps)]

    async def action_guarded(self, action_id: str, deferred: bool = False) -> None:
        if isinstance(self.screen, TableViewScreen) and not self.screen.ready:
            # A key typed right after the one that opened this view ("0" then "c"): act on
            # the view once it is there, not on a table that does not exist yet. Still not
            # there after a refresh (the console is closing): drop the key.
            if not deferred:
                self.call_after_refresh(self.action_guarded, action_id, True)
            return
        action = self._action_by_id[action_id]
        reason = self.replay_refusal(action) or action.refusal(self.context())
        if reason:
            self.notify(f"{action.description}: {reason}", severity="warning", timeout=3)
            return
        name, _, _args = action.method.partition("(")
        target = self.screen if hasattr(self.screen, f"action_{name}") else self
        await self.run_action(action.method, target)

    def action_command(self) -> None:
        self.push_screen(CommandPrompt(self.command_words(), self.command_history), self._command_done)

    def _command_done(self, value: str | None) -> None:
        if value:
            self.run_command(value)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._view_on_screen() or "detail", self.readonly, self.actions))

    async def action_back(self) -> None:
        screen = self.screen
        if isinstance(screen, TableViewScreen) and screen.close_filter():
            return
        if len([s for s in self.screen_stack if isinstance(s, BaseScreen)]) > 1:
            self.pop_screen()

    def action_goto(self, view: str) -> None:
        self._show(self._screen_for(OpenView(view)))

    # --- what screens ask ------------------------------------------------------------------
    def on_drill_down_requested(self, message: DrillDownRequested) -> None:
        view = VIEWS.get(message.view)
        target = view.drill(message.row) if view is not None and view.drill is not None else None
        if isinstance(target, OpenView):
            self._show(self._screen_for(target), push=True)
        elif isinstance(target, OpenDetail):
            self.push_screen(DetailScreen(target.title, target.pairs))

    def on_operation_detail_requested(self, message: OperationDetailRequested) -> None:
        if self.arbiter is not None:
            self.push_screen(OperationScreen(self.arbiter, message.op_id, message.shown, self.scope))

    @work(group="detail")
    async def on_audit_record_requested(self, message: AuditRecordRequested) -> None:
        if self.arbiter is None:
            return
        record = await self.arbiter.audit_record(message.seq, self.scope)
        if record is None:
            self.notify("that record is not there (or not this console's to show)", severity="warning")
            return
        title = f"Audit record {message.shown}" if message.shown else f"Audit record ({record.action})"
        self.push_screen(DetailScreen(title, record.pairs()))

    def on_refresh_requested(self, message: RefreshRequested) -> None:
        self.fleet.refresh_now(message.node)
        self.notify(f"polling {message.node} now (the provider service reads it)", timeout=1.5)

    # --- operations (through the arbiter) -------------------------------------------------
    def on_operation_requested(self, message: OperationRequested) -> None:
        row = message.row
        node = row.node if row is not None else None
        if node is None and row is not None and row.tenant:
            tenant = self.state.tenant(row.tenant)
            node = tenant.default_node if tenant is not None else None
        if node is None:
            self.notify("select a row of a tenant's node first", severity="warning")
            return
        self._review(node, OP_WORDS[message.word])

    def action_recover_alert(self) -> None:
        if self.last_alert is None:
            self.notify("no critical alert to act on", severity="warning")
            return
        record = self.last_alert
        self._review(record.node, record.proposal or act_on_alert(record.event))

    @work(group="operate")
    async def _review(self, node: str, op: Op) -> None:
        assert self.arbiter is not None  # the actions' guard: no arbiter, no operation
        try:
            preview: Preview = await self.arbiter.preview(node, op, scope=self.scope)
        except Exception as exc:
            self.notify(f"cannot plan it: {exc}", severity="error")
            return
        confirm = ConfirmScreen(preview)
        typed = await self.push_screen_wait(confirm)
        if typed is None:
            self.notify("cancelled: nothing queued", timeout=2)
            return
        try:
            # over capacity, the confirmation took the written reason why it must run anyway (audited)
            op_id = await self.arbiter.submit(preview, typed or None, capacity_reason=confirm.capacity_reason)
        except Exception as exc:
            self.notify(f"not queued: {exc}", severity="error")
            return
        # a scoped console names no global id (its gaps would tell of other tenants' requests)
        queued = "queued" if self.scope is not None else f"queued #{op_id}"
        self.notify(f"{queued}: {preview.planned.command}", title="Queued", timeout=6)
        if confirm.and_watch:
            self.show_drill(op_id)

    @work(group="operate")
    async def on_cancel_requested(self, message: CancelRequested) -> None:
        assert self.arbiter is not None
        op_id, shown = message.op_id, message.shown
        # cancelling is marked dangerous: like every such action, it asks first
        sure = await self.push_screen_wait(AskScreen(
            f"Cancel {shown}? {message.what}".rstrip(),
            "It will not run; the cancellation is audited. Enter cancels it; Esc keeps it queued."))
        if not sure:
            self.notify(f"nothing cancelled: {shown} stays queued", timeout=3)
            return
        ok = await self.arbiter.cancel(op_id, "cancelled from the console")
        self.notify(f"{shown} cancelled" if ok else f"{shown} could not be cancelled (no longer queued)",
                    severity="information" if ok else "warning")

    @work(group="operate")
    async def on_raise_requested(self, message: RaiseRequested) -> None:
        assert self.arbiter is not None
        op_id, shown = message.op_id, message.shown
        reason = await self.push_screen_wait(ReasonScreen(f"Raise {shown} over the other waiting operations. "
                                                          "Why? (audited)"))
        if not reason:
            return
        ok = await self.arbiter.raise_priority(op_id, reason)
        self.notify(f"{shown} raised: {reason}" if ok else f"{shown} could not be raised",
                    severity="information" if ok else "warning")

    # --- commands -------------------------------------------------------------------------------
    def _command_scope(self) -> CommandScope:
        return CommandScope(tuple(t.name for t in self.tenants), self.scope, self.scope_locked, tuple(THEMES))

    def command_words(self) -> list[str]:
        return command_words(self._command_scope())

    def run_command(self, text: str) -> None:
        cmd = interpret(text, self._command_scope())
        if isinstance(cmd, SwitchView):
            self._show(self._screen_for(OpenView(cmd.view, preset_filter=cmd.preset_filter)))
        elif isinstance(cmd, OpenTenant):
            self._show(self._screen_for(open_tenant(cmd.tenant)))
        elif isinstance(cmd, SetScope):
            self.state.set_scope(cmd.tenant)
            self._show(self._screen_for(OpenView(HOME_VIEW)))
        elif isinstance(cmd, SetTheme):
            self.theme_name = cmd.theme
            self.theme = THEMES[cmd.theme]
            self.ansi_color = cmd.theme == "high-contrast"
        elif isinstance(cmd, Help):
            self.action_help()
        elif isinstance(cmd, Quit):
            self.run_worker(self.action_quit(), group="quit-command")
        elif isinstance(cmd, Refused | Unknown):
            self.notify(cmd.message, severity="warning")

    def _screen_for(self, target: OpenView) -> BaseScreen:
        if target.view in DRILL_VIEWS:
            return self.drill_screen_for(target.view, target.preset_filter)
        if target.view == PLAN_VIEW:  # `:plan FAIL,...`: what fails, not a filter
            return PlanScreen(self.arbiter, self.scope, target.preset_filter)
        if isinstance(VIEWS[target.view].source, FromArbiter):
            return ARBITER_SCREENS[target.view](self.arbiter, self.scope)
        return TableScreen(target.view, self.state, preset_filter=target.preset_filter, tenant=target.tenant,
                           title=target.title)


def _theme_css(theme: str) -> list[str | PurePath]:
    base = THEMES_DIR / "base.tcss"
    own = THEMES_DIR / f"{theme}.tcss"
    return [p for p in (base, own) if Path(p).exists()]
