"""The console over a simulated fleet, without a network: a transport that
hands ksysmgr command lines straight to the in-process simulator, so the real
monitors, parsers and fleet run exactly as they do over SSH."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from textual.widgets import Input, OptionList, Static

from ksystui.core.model import Flavour
from ksystui.fleet.fleet import Fleet
from ksystui.fleet.monitor import NodeMonitor
from ksystui.sim.world import SimWorld
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.screens import TableViewScreen
from ksystui.ui.widgets.virtual_table import VirtualTable
from tests.in_process import InProcessTransport

FROZEN = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)


def local_fleet(world: SimWorld, interval: float = 0.3) -> Fleet:
    fleet = Fleet()
    for name, node in world.nodes.items():
        fleet.add(NodeMonitor(name, node.tenant, Flavour(node.flavour), InProcessTransport(world, name),
                              interval=interval, jitter=0.0))
    return fleet


def tenant_infos(world: SimWorld):
    from ksystui.core.tenants import TenantInfo

    return [TenantInfo(t.name, t.priority, t.tier, tuple(n for n, node in world.nodes.items() if node.tenant == t.name),
                       t.rto, t.rpo)
            for t in world.tenants.values()]


@pytest.fixture
async def polled(world):
    """A fleet whose every node has been read once."""
    fleet = local_fleet(world)
    await fleet.refresh_all()
    yield fleet
    await fleet.stop()


class Console(ControlRoomApp):
    """The console as a test drives it: it keeps every notification it shows
    (what the operator read in the toasts), in order."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.notes: list[str] = []

    def notify(self, message, **kw) -> None:
        self.notes.append(str(message))
        super().notify(message, **kw)

    def noted(self, words: str) -> bool:
        return any(words in n for n in self.notes)


def console(world, fleet, **kw) -> Console:
    kw.setdefault("start_fleet", False)
    return Console(fleet, tenant_infos(world), **kw)


def _plain(visual) -> str:
    for attr in ("plain", "text"):
        value = getattr(visual, attr, None)
        if isinstance(value, str):
            return value
    return str(visual)


def _shown(widget) -> bool:
    return all(w.display for w in widget.ancestors_with_self if hasattr(w, "display"))


def screen_text(app) -> str:
    """The words on the screen on top, read from its widgets as the operator
    reads them: every shown text, the table's column labels (the sorted one
    with its arrow) and the rows in view, inputs and the palette's options."""
    parts: list[str] = []
    for w in app.screen.query("*"):
        if not _shown(w):
            continue
        if isinstance(w, VirtualTable):
            parts.append(" ".join(c.label + (("▼" if w.sort_state[1] else "▲") if w.sort_state
                                             and w.sort_state[0] == c.key else "") for c in w.columns))
            parts += [" ".join(map(str, r.cells)) for r in w.visible_rows()]
        elif isinstance(w, Static):
            parts.append(_plain(w.visual))
        elif isinstance(w, Input):
            parts.append(w.value)
        elif isinstance(w, OptionList):
            parts += [_plain(o.prompt) for o in w.options]
    return "\n".join(parts)


def footer_keys(app) -> list[str]:
    """The descriptions of the keys the footer shows now (the bindings that
    are active on this screen and meant to be shown)."""
    return [b.binding.description for b in app.screen.active_bindings.values() if b.binding.show and b.enabled]


def showing(app, view: str) -> bool:
    """The view is on top and its table (if it has one) is there to read."""
    screen = app.screen
    return getattr(screen, "view", None) == view and (not isinstance(screen, TableViewScreen) or screen.ready)


async def until(pilot, condition, timeout: float = 10.0, settle: float = 0.0) -> None:
    """Wait until what the operator would see has happened (a busy machine is
    slower, never wrong), then until the console has handled what is queued."""
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.05)
    await pilot.pause(settle or None)


async def press_until(pilot, condition, *keys: str, timeout: float = 10.0) -> None:
    """Press keys, then wait for what they should show."""
    await pilot.press(*keys)
    await until(pilot, condition, timeout)




class MemoryAlerts:
    """The shared alert records as a provider service keeps them, in memory:
    every new critical event the fleet reads becomes one record (the core's
    ``alerts_for``), told once to every console subscribed; ``acknowledge``
    is what the arbiter port's acknowledgement does to the record."""

    def __init__(self, fleet: Fleet | None = None, *, service_note: str | None = None) -> None:
        self.alerts: tuple = ()
        self.service_note = service_note
        self._subscribers: list = []
        self._seen: set[str] = set()
        if fleet is not None:
            for snap in fleet.snapshots.values():
                self.raise_from(snap.node, snap.tenant, snap.events, tell=False)
            fleet.subscribe(lambda change: self.raise_from(change.node, change.tenant, change.new_events))

    def subscribe_shared(self, fn):
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def tell(self, new=(), queue_changed=False) -> None:
        from ksystui.client.source import News

        for fn in list(self._subscribers):
            fn(News(self.alerts, tuple(new), self.service_note, queue_changed))

    def raise_from(self, node, tenant, events, *, tell: bool = True) -> None:
        from ksystui.core.alerts import AlertRecord, alerts_for

        new = []
        for a in alerts_for(node, tenant, events):
            if a.identity in self._seen:
                continue
            self._seen.add(a.identity)
            new.append(AlertRecord(len(self._seen), a.identity, a.tenant, a.node, a.event, a.event_id, a.event_time,
                                   a.description, a.resource, a.proposal, datetime.now(UTC), None, None, None))
        if new:
            self.alerts = (*reversed(new), *self.alerts)
            if tell:
                self.tell(new)

    def acknowledge(self, alert_id: int, who: str, reason: str) -> bool:
        from dataclasses import replace

        target = next((a for a in self.alerts if a.id == alert_id and not a.acknowledged), None)
        if target is None:
            return False
        self.alerts = tuple(replace(a, acked_by=who, acked_at=datetime.now(UTC), ack_reason=reason)
                            if a.id == alert_id else a for a in self.alerts)
        self.tell()
        return True

    def set_note(self, note: str | None) -> None:
        self.service_note = note
        self.tell()


class AckingArbiter:
    """An arbiter client that only acknowledges (into ``MemoryAlerts``), as
    ``who``: for the consoles of these tests that queue nothing."""

    def __init__(self, alerts: MemoryAlerts, who: str = "alice@noc1/console-1") -> None:
        self.book = alerts
        self.who = who

    async def acknowledge(self, alert_id: int, reason: str, *, scope=None) -> bool:
        return self.book.acknowledge(alert_id, self.who, reason)


def alerting_console(world, fleet, **kw) -> Console:
    """A console with the alert records a service would share (in memory)."""
    book = MemoryAlerts(fleet)
    kw.setdefault("arbiter", AckingArbiter(book))
    app = console(world, fleet, shared=book, **kw)
    app.book = book
    return app
