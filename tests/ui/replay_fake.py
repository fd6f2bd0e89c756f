"""A recorded window in memory, for the replay console's tests: snapshots
and alert records with the times they were published; at a cursor it gives
what stood then and tells its subscribers what changed as the cursor moves
(the ``ui.replaying.Replay`` a real replay source gives from the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ksystui.client.source import News, NodeNotice
from ksystui.core.alerts import AlertRecord
from ksystui.core.snapshot import NodeSnapshot


@dataclass(frozen=True)
class FakeMark:
    at: datetime
    kind: str


class FakeReplay:
    def __init__(self, start: datetime, end: datetime, frames: list[tuple[datetime, NodeSnapshot]],
                 alerts: list[AlertRecord] = (), marks: list[FakeMark] = ()) -> None:
        self.start, self.end, self.at = start, end, start  # the cursor's (a live source's start() is not called)
        self.frames = sorted(frames, key=lambda f: f[0])
        self.records = list(alerts)
        self.marks = tuple(marks)
        self.service_note: str | None = None
        self.seeks: list[datetime] = []
        self._subs: list = []
        self._shared: list = []
        self.snapshots: dict[str, NodeSnapshot] = self._as_of(start)
        self.alerts = self._alerts_as_of(start)

    def _as_of(self, t: datetime) -> dict[str, NodeSnapshot]:
        out: dict[str, NodeSnapshot] = {}
        for when, snap in self.frames:
            if when <= t:
                out[snap.node] = snap
        return out

    def _alerts_as_of(self, t: datetime) -> tuple[AlertRecord, ...]:
        return tuple(sorted((a for a in self.records if a.raised_at <= t), key=lambda a: a.raised_at, reverse=True))

    # --- SnapshotSource / SharedState -----------------------------------------------------
    def subscribe(self, fn):
        self._subs.append(fn)
        return lambda: self._subs.remove(fn)

    def subscribe_shared(self, fn):
        self._shared.append(fn)
        return lambda: self._shared.remove(fn)

    def refresh_now(self, node: str) -> None:
        raise AssertionError("a replay is never asked to poll a node")

    # --- the cursor ---------------------------------------------------------------------------
    async def seek(self, t: datetime) -> None:
        self.seeks.append(t)
        self.at = t
        snaps = self._as_of(t)
        changed = [s for n, s in snaps.items() if self.snapshots.get(n) is not s]
        self.snapshots = snaps
        for snap in changed:
            for fn in list(self._subs):
                fn(NodeNotice(snap, ()))
        alerts = self._alerts_as_of(t)
        if alerts != self.alerts:
            new = tuple(a for a in alerts if a not in self.alerts)
            self.alerts = alerts
            for fn in list(self._shared):
                fn(News(alerts, new, None, True))


class NoArbiter:
    """A replay's arbiter: it reads an empty queue and refuses every change
    (the tests assert the console never asks)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def lines(self, scope=None):
        return []

    async def rehearsals_left(self, scope=None):
        return []

    async def audit(self, scope, limit):
        return []

    async def audit_status(self, scope=None):
        return "the chain holds"

    async def running_here(self, scope=None):
        return []

    def __getattr__(self, name):
        async def refused(*args, **kw):
            self.asked.append(name)
            raise AssertionError(f"a replayed console asked the arbiter to {name}")

        return refused
