"""The console's side of the shared alerts: a new alert record is told
(toast, bell, and the recovery the core proposes, prepared when this
console could queue it); `a` acknowledges one with a written reason through
the arbiter; whether a provider service keeps the data fresh is said once in
a toast and kept in the banner. The records come from the ``SharedState``
every console reads; this console keeps none of its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import work
from textual.app import App
from textual.screen import Screen

from ksystui.core.alerts import AlertRecord
from ksystui.core.events import event_time
from ksystui.core.fleet_view import FleetView, ViewChanges
from ksystui.core.lifecycle import Op
from ksystui.core.model import KsysEvent
from ksystui.core.readouts import Preview
from ksystui.core.recovery import Proposal, offer, propose
from ksystui.ui.messages import AcknowledgeRequested, SharedChanged
from ksystui.ui.operate import QueueScreen, ReasonScreen
from ksystui.ui.ports import ArbiterClient, SharedNews


class AlertDesk(App[None]):
    """What the control room does with the records it shares (a base of
    ``ControlRoomApp``, which sets these attributes)."""

    state: FleetView
    readonly: bool
    arbiter: ArbiterClient | None
    bell_on_alert: bool
    service_note: str | None  # why no provider service keeps the data fresh, if none does
    last_alert: AlertRecord | None

    @property
    def scope(self) -> str | None:
        return self.state.scope

    def _apply(self, changes: dict[str, ViewChanges]) -> None:
        raise NotImplementedError

    def refresh_chrome(self, screen: Screen[Any]) -> None:
        raise NotImplementedError

    def _on_shared_news(self, news: SharedNews) -> None:
        # called from the source's task: only post, the handler runs on the app's loop
        self.post_message(SharedChanged(news))

    def on_shared_changed(self, message: SharedChanged) -> None:
        news = message.news
        # the proposal each console shows is judged on the fleet's state now (a stored
        # record's is the state-free one, which may not know a recovery host from a
        # production host)
        self._apply(self.state.set_alerts(tuple(self._judged(r) for r in news.alerts)))
        for record in news.new_alerts:
            if self.state.in_scope(record.tenant) and not record.acknowledged:
                self._alert(record)
        self._service_note(news.service_note)
        if news.queue_changed and self.screen_stack and isinstance(self.screen, QueueScreen):
            self.screen.reload()

    def _service_note(self, note: str | None) -> None:
        """Say it once when the provider service goes (or comes back); the
        banner keeps saying it while it lasts."""
        if note == self.service_note:
            return
        before, self.service_note = self.service_note, note
        if note is not None:
            self.notify(note, title="No provider service", severity="error", timeout=20)
        elif before is not None:
            self.notify("a provider service runs again: the data is fresh again", timeout=5)
        if self.screen_stack:
            self.refresh_chrome(self.screen)

    def _judge(self, record: AlertRecord) -> Proposal:
        """The core's recovery for this alert, on the latest state of the
        fleet this console may see (a scoped console names no other tenant)."""
        snaps = self.state.snapshots
        visible = [s for s in snaps.values() if self.state.in_scope(s.tenant)]
        at = event_time(KsysEvent(record.event, time=record.event_time))
        return propose(record.event, record.resource, snaps.get(record.node), visible, at=at)

    def _judged(self, record: AlertRecord) -> AlertRecord:
        return replace(record, proposal=self._judge(record).op)

    def _alert(self, record: AlertRecord) -> None:
        where = f" on {record.resource}" if record.resource else ""
        self.notify(f"{record.tenant}/{record.node}: {record.event}{where} — {record.description or ''}",
                    title="Critical event", severity="error", timeout=15)
        if self.bell_on_alert:
            self.bell()
        proposal = self._judge(record)
        self.last_alert = replace(record, proposal=proposal.op)  # what `!` prepares
        op = offer(proposal, readonly=self.readonly, can_submit=self.arbiter is not None)
        if op is not None:
            self._offer_recovery(record.node, op, proposal.reason)
        elif proposal.op is None:
            lost = bool(proposal.lost_protection)  # say it louder: tenants are unprotected now
            self.notify(f"No recovery to queue: {proposal.reason}", title="DR protection lost" if lost else
                        "Recovery", severity="error" if lost else "warning", timeout=30)

    @work(group="alerts")
    async def _offer_recovery(self, node: str, op: Op, reason: str) -> None:
        assert self.arbiter is not None  # offer() offers nothing without one
        try:
            p: Preview = await self.arbiter.preview(node, op, scope=self.scope)
        except Exception as exc:  # the node may be unreadable right now: say so
            self.notify(f"recovery for {node} cannot be planned yet: {exc}", severity="warning", timeout=10)
            return
        self.notify(f"Recovery ready: {p.label} of {p.planned.tenant} ({p.planned.command}), queue position "
                    f"{p.position}. Why: {reason}. Press ! to review and confirm.", title="Recovery",
                    severity="warning", timeout=30)

    @work(group="operate")
    async def on_acknowledge_requested(self, message: AcknowledgeRequested) -> None:
        record = self.state.alert(message.identity)
        if record is None:
            self.notify("this event raised no alert: only critical events are acknowledged", severity="warning")
            return
        if record.acknowledged:
            self.notify(f"already acknowledged by {record.acked_by}: {record.ack_reason or ''}", timeout=5)
            return
        if self.readonly or self.arbiter is None:  # the action's guard said so already; never write from here
            self.notify("this console cannot acknowledge", severity="warning")
            return
        reason = await self.push_screen_wait(ReasonScreen(
            f"Acknowledge {record.event} on {record.tenant}/{record.node}"
            f"{' (' + record.resource + ')' if record.resource else ''}. Why? (audited, shown in every console)"))
        if not reason:
            return
        try:
            ok = await self.arbiter.acknowledge(record.id, reason, scope=self.scope)
        except Exception as exc:
            self.notify(f"not acknowledged: {exc}", severity="error")
            return
        self.notify(f"{record.event} on {record.node} acknowledged: {reason}" if ok else
                    f"{record.event} on {record.node} was acknowledged meanwhile (by another console)",
                    severity="information" if ok else "warning")
