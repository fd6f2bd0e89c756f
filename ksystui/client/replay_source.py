"""A console's source for a replay: the record of a window, at a cursor.

``ReplaySource`` is what a replayed console reads instead of the live
database (``client.source.DatabaseSource``): ``ui.ports.SnapshotSource``
and ``SharedState`` as they stood at the cursor ``at``. It reads the window
once when it opens (snapshot history, alerts, operations: see
``store.history`` and ``store.history_reads``) and moves the cursor in
memory: ``seek``, ``step``, ``next_mark``; every move tells the subscribers
what a live console would have been told (the nodes whose snapshot differs,
the alerts raised in between, "the queue changed").

Opened on a database URL (``sqlite:///…``, ``postgresql://…``) or on an
incident bundle's file (``ksystui incident export``): a bundle says its own
window and tenant. Nothing here writes, reaches a node or needs a secret.

The queue, the audit trail and the operation details of a replayed console
(``ui.ports.ArbiterClient``, read-only) are ``arbiter.replay.ReplayArbiter``
over this source: a client may not import the arbiter (import contract), so
the command line wires the two, as it wires the live console's port.

Naming: ``start()`` is the port's (a replay starts nothing: the cursor
moves when asked); the window is ``timeline.start`` … ``end``. ``source.cursor`` is the same
replay seen as a cursor (``start``, ``end``, ``at``, ``marks``, ``seek``,
``step``, ``next_mark``) for whoever wants those names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from ksystui.client.source import NodeNotice
from ksystui.core.alerts import AlertRecord
from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot, event_identity
from ksystui.core.timeline import Mark, Timeline, utc
from ksystui.store.bundle import BundleInfo, read_bundle_info
from ksystui.store.engine import StoreError, migrate, open_engine
from ksystui.store.history import Frame, HistoryWindow, read_window
from ksystui.store.history_reads import (
    OperationsRecord,
    alert_as_of,
    alerts_at,
    read_marks,
    read_operations,
)

__all__ = ["ReplayCursor", "ReplayNews", "ReplaySource", "database_url"]

SHOWN_ALERTS = 500  # as the live console (client.source)


@dataclass(frozen=True)
class ReplayNews:
    """What changed in the shared records as the cursor moved (``ui.ports.SharedNews``)."""

    alerts: tuple[AlertRecord, ...]
    new_alerts: tuple[AlertRecord, ...] = ()
    service_note: str | None = None
    queue_changed: bool = False


def database_url(url_or_bundle: str | Path) -> str:
    """A database URL as given, or a file's (a bundle is a SQLite file)."""
    text = str(url_or_bundle)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    if not path.is_file():
        raise StoreError(f"{text}: no such file (an incident bundle, or a database URL such as sqlite:///PATH)")
    return f"sqlite:///{path.resolve()}"


class ReplaySource:
    """The record of a window at a cursor (see the module's docstring)."""

    def __init__(self, engine: Engine, window: HistoryWindow, timeline: Timeline, alerts: list[AlertRecord],
                 operations: OperationsRecord, *, scope: str | None = None, bundle: BundleInfo | None = None):
        self.engine = engine
        self.window = window
        self.timeline = timeline
        self.scope = scope
        self.bundle = bundle
        self.operations = operations
        self._all_alerts = alerts  # every alert raised by the window's end, as it stands now
        self.at = timeline.start
        self.snapshots: dict[str, NodeSnapshot] = {}
        self.alerts: tuple[AlertRecord, ...] = ()
        self.service_note: str | None = None
        self._frames: dict[str, Frame | None] = {}
        self._subscribers: list[Callable[[NodeNotice], None]] = []
        self._shared: list[Callable[[ReplayNews], None]] = []
        self._empty = {node: self._empty_snapshot(node) for node in window.nodes}
        self._settle(self.at, tell=False)

    # --- opening ------------------------------------------------------------------------------------
    @classmethod
    async def open(cls, url_or_bundle: str | Path, start: datetime | None = None, end: datetime | None = None, *,
                   scope: str | None = None) -> ReplaySource:
        """Read the window ``start`` … ``end`` of a database or a bundle (a
        bundle's own window and tenant when not given). ``StoreError`` when
        it cannot be read; ``ValueError`` for a window that cannot be replayed."""
        return await asyncio.to_thread(cls._open, url_or_bundle, start, end, scope)

    @classmethod
    def _open(cls, url_or_bundle: str | Path, start: datetime | None, end: datetime | None,
              scope: str | None) -> ReplaySource:
        engine = open_engine(database_url(url_or_bundle))
        try:
            migrate(engine)
            bundle = read_bundle_info(engine)
            if bundle is not None and bundle.tenant is not None:
                if scope is not None and scope != bundle.tenant:
                    raise ValueError(f"this bundle holds tenant {bundle.tenant} only, not {scope}")
                scope = bundle.tenant
            first = utc(start) if start is not None else bundle.start if bundle is not None else None
            last = utc(end) if end is not None else bundle.end if bundle is not None else datetime.now(UTC)
            if first is None:
                raise ValueError("a replay needs the start of its window (--from)")
            if last <= first:
                raise ValueError(f"the window ends ({last:%Y-%m-%d %H:%M:%S}) before it starts "
                                 f"({first:%Y-%m-%d %H:%M:%S})")
            window = read_window(engine, first, last, scope=scope)
            timeline = Timeline(first, last, tuple(read_marks(engine, window, tenant=scope)))
            alerts = alerts_at(engine, last, tenant=scope, limit=1_000_000)
            operations = read_operations(engine, last)  # every tenant's: a scoped queue says "another tenant's"
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, window, timeline, alerts, operations, scope=scope, bundle=bundle)

    async def stop(self) -> None:
        await asyncio.to_thread(self.engine.dispose)

    # --- the window and the cursor -------------------------------------------------------------------
    @property
    def end(self) -> datetime:
        return self.timeline.end

    @property
    def marks(self) -> tuple[Mark, ...]:
        """The window's marks, oldest first (the header bar's ticks)."""
        return self.timeline.marks

    @property
    def cursor(self) -> ReplayCursor:
        """This replay as a cursor over its window (``start`` is the window's there)."""
        return ReplayCursor(self)

    def now(self) -> datetime:
        """The replayed console's clock: the cursor (ages are shown as of it)."""
        return self.at

    def seek(self, at: datetime) -> datetime:
        """Move the cursor to ``at`` (held inside the window) and tell the
        subscribers what changed; return where it is."""
        self._settle(self.timeline.clamp(at), tell=True)
        return self.at

    def step(self, delta: timedelta) -> datetime:
        """Move the cursor by ``delta`` (back when negative)."""
        return self.seek(self.timeline.step(self.at, delta))

    def next_mark(self, kind: str | Collection[str] | None = None) -> Mark | None:
        """Move to the next mark (of ``kind``: ``core.timeline.EVENT_KINDS``,
        ``OPERATION_KINDS``, or one kind); None (and no move) when there is none."""
        mark = self.timeline.next_mark(self.at, kind)
        if mark is not None:
            self.seek(mark.at)
        return mark

    def previous_mark(self, kind: str | Collection[str] | None = None) -> Mark | None:
        mark = self.timeline.previous_mark(self.at, kind)
        if mark is not None:
            self.seek(mark.at)
        return mark

    # --- what the UI reads (SnapshotSource, SharedState) ---------------------------------------------
    def subscribe(self, fn: Callable[[NodeNotice], None]) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def subscribe_shared(self, fn: Callable[[ReplayNews], None]) -> Callable[[], None]:
        self._shared.append(fn)
        return lambda: self._shared.remove(fn)

    def start(self) -> None:
        """The port's: nothing to follow, the cursor moves when asked."""

    def refresh_now(self, node: str) -> None:
        """A replay polls nothing."""

    # --- moving -------------------------------------------------------------------------------------
    def _empty_snapshot(self, node: str) -> NodeSnapshot:
        first = self.window.first_snapshot(node)
        tenant = self.window.nodes[node]
        if first is None:
            raise ValueError(f"the record of node {node} cannot be read")
        return NodeSnapshot(node, tenant, first.flavour, first.interval)

    def _settle(self, at: datetime, *, tell: bool) -> None:
        before, self.at = self.at, at
        notices: list[NodeNotice] = []
        for node in self.window.nodes:
            frame = self.window.frame_at(node, at)
            if node in self._frames and frame is self._frames[node]:
                continue
            self._frames[node] = frame
            snap = self.window.snapshot_at(node, at) if frame is not None else None
            snap = snap or self._empty[node]
            old = self.snapshots.get(node)
            self.snapshots[node] = snap
            notices.append(NodeNotice(snap, _new_events(old, snap) if at > before else ()))
        shown = [a for a in self._all_alerts if utc(a.raised_at) <= at][:SHOWN_ALERTS]
        alerts = tuple(alert_as_of(a, at) for a in shown)
        new = tuple(a for a in alerts if before < utc(a.raised_at) <= at) if at > before else ()
        self.alerts = alerts
        if not tell:
            return
        for notice in notices:
            for fn in list(self._subscribers):
                fn(notice)
        news = ReplayNews(self.alerts, new, self.service_note, queue_changed=True)
        for tell_shared in list(self._shared):
            tell_shared(news)

    @property
    def nodes(self) -> Mapping[str, str]:
        """node -> tenant, of every node in the record of the window."""
        return self.window.nodes


def _new_events(old: NodeSnapshot | None, new: NodeSnapshot) -> tuple[KsysEvent, ...]:
    seen = {event_identity(old.node, e) for e in old.events} if old is not None else set()
    return tuple(e for e in new.events if event_identity(new.node, e) not in seen)


class ReplayCursor:
    """A replay as a cursor: the window (``start``, ``end``), where it stands
    (``at``), its marks and its moves. ``ReplaySource`` itself cannot call
    the window's start ``start``: that is the snapshot source's method."""

    def __init__(self, source: ReplaySource):
        self.source = source

    @property
    def at(self) -> datetime:
        return self.source.at

    @property
    def start(self) -> datetime:
        return self.source.timeline.start

    @property
    def end(self) -> datetime:
        return self.source.timeline.end

    @property
    def marks(self) -> tuple[Mark, ...]:
        return self.source.marks

    def seek(self, at: datetime) -> datetime:
        return self.source.seek(at)

    def step(self, delta: timedelta) -> datetime:
        return self.source.step(delta)

    def next_mark(self, kind: str | Collection[str] | None = None) -> Mark | None:
        return self.source.next_mark(kind)
