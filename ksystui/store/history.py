"""Snapshot history: what the service saw of each node, poll by poll,
cheaply (see ``history_tables``), and the window a replay reads back.

The feed records each stored poll in the transaction that publishes it
(:func:`record_poll`): the whole snapshot, compressed, when its content
differs from the node's last recorded one; otherwise only its times. The
leader's retention forgets what is older than ``[service]
history_retention`` but keeps, per node, the newest snapshot from before
the cut: a replay starting at the cut still has every node's state
(:func:`prune_history`).

:class:`HistoryWindow` is a window read back for a replay: every node's
frames (content or times) from the last one before the window's start to
its end, in memory, so moving the cursor reads no database. A snapshot as
of an instant is the node's content then, with the times of its newest
poll then: the ages a replay shows are the ones the live console showed.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.timeline import utc
from ksystui.store.codec import CodecError, SectionMemo, snapshot_to_data
from ksystui.store.codec import (
    _enc_datetime as snapshot_to_data_datetime,  # the codec's spelling of a time
)
from ksystui.store.engine import read_connection
from ksystui.store.history_tables import poll_history, snapshot_history

__all__ = ["Frame", "HistoryWindow", "compress", "decompress", "prune_history", "read_window", "record_poll"]

# the health fields that change with every poll (times and the failure count): not content
_HEALTH_TIMES = ("last_attempt", "last_success", "consecutive_failures", "latency_ms", "next_attempt")
_HEALTH_DATETIMES = frozenset({"last_attempt", "last_success", "next_attempt"})
_MICROSECOND = timedelta(microseconds=1)
_LEVEL = 6  # zlib: most of the gain of 9 at a fraction of the time


def compress(data: Mapping[str, Any]) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), _LEVEL)


def decompress(blob: bytes) -> dict[str, Any]:
    try:
        data = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError) as exc:
        raise CodecError(f"a recorded snapshot cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise CodecError("a recorded snapshot is not an object")
    return data


def _times_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A poll's times, as the codec wrote them, compactly: its sequence
    (``q``); the distinct times (``t``: a poll has two or three, its
    sections mostly share one); the health's times and counters (``h``, in
    ``_HEALTH_TIMES`` order, a time as its index in ``t``); each section's
    read time (``r``: indexes, the sections in name order)."""
    stamps: list[Any] = []
    where: dict[str, int] = {}

    def index(value: Any) -> int | None:
        if value is None:
            return None
        key = json.dumps(value, sort_keys=True)
        if key not in where:
            where[key] = len(stamps)
            stamps.append(value)
        return where[key]

    health = raw.get("health") or {}
    sections = raw.get("sections") or {}
    h = [index(health.get(k)) if k in _HEALTH_DATETIMES else health.get(k) for k in _HEALTH_TIMES]
    r = [index(sections[kind].get("read_at")) if isinstance(sections[kind], dict) else None
         for kind in sorted(sections)]
    return {"q": raw.get("sequence", 0), "t": _as_offsets(stamps), "h": h, "r": r}


def _as_offsets(stamps: list[Any]) -> list[Any]:
    """The first time as written, the others as microseconds after it (a
    poll's queries each have their own read time: ISO strings would make
    most of a poll's record); as written when they are not all plain times
    of one offset (a repeated wall time, say)."""
    if len(stamps) < 2 or not all(isinstance(v, str) for v in stamps):
        return stamps
    try:
        times = [datetime.fromisoformat(v) for v in stamps]
    except ValueError:
        return stamps
    offset = times[0].utcoffset()
    if offset is None or any(t.utcoffset() != offset or t.fold for t in times):
        return stamps
    return [stamps[0], *((t - times[0]) // _MICROSECOND for t in times[1:])]


def _from_offsets(stamps: list[Any]) -> list[Any]:
    if len(stamps) < 2 or not all(isinstance(v, int) for v in stamps[1:]):
        return stamps
    first = datetime.fromisoformat(stamps[0])
    return [stamps[0], *((first + v * _MICROSECOND).isoformat() for v in stamps[1:])]


def _content_digest(raw: Mapping[str, Any]) -> str:
    """The snapshot without its times: equal digests, equal screens but for ages."""
    health = {k: v for k, v in (raw.get("health") or {}).items() if k not in _HEALTH_TIMES}
    sections = {kind: {k: v for k, v in s.items() if k != "read_at"} if isinstance(s, dict) else s
                for kind, s in (raw.get("sections") or {}).items()}
    content = {**raw, "sequence": 0, "health": health, "sections": sections}
    return hashlib.sha256(json.dumps(content, separators=(",", ":"), sort_keys=True).encode()).hexdigest()


def _with_times(data: Mapping[str, Any], times: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded content ``data`` with a later poll's ``times`` (:func:`_times_of`)."""
    stamps = _from_offsets(list(times.get("t") or []))

    def stamp(i: Any) -> Any:
        return None if i is None else stamps[i]

    raw = dict(data["snapshot"])
    raw["sequence"] = times.get("q", raw.get("sequence", 0))
    h = times.get("h") or []
    raw["health"] = {**(raw.get("health") or {}), **{
        k: stamp(v) if k in _HEALTH_DATETIMES else v for k, v in zip(_HEALTH_TIMES, h, strict=False)}}
    sections = dict(raw.get("sections") or {})
    for kind, i in zip(sorted(sections), times.get("r") or [], strict=False):
        if isinstance(sections[kind], dict):
            sections[kind] = {**sections[kind], "read_at": stamp(i)}
    raw["sections"] = sections
    return {**data, "snapshot": raw}


@dataclass(frozen=True)
class _Recorded:
    """A node's last recorded content, as this process knows it."""

    snapshot_id: int
    digest: str
    skeleton: NodeSnapshot


# (database, node) -> its last recorded content: most polls repeat it, and comparing the model
# objects costs a small fraction of encoding them (trusted only while the database's newest row for
# the node is still that one, same id and digest: another writer's row, or another database, is not)
_LAST: dict[tuple[str, str], _Recorded] = {}
_LAST_MAX = 20_000


def _skeleton(snap: NodeSnapshot) -> NodeSnapshot:
    """The snapshot without its times (what the digest covers)."""
    health = replace(snap.health, last_attempt=None, last_success=None, next_attempt=None, consecutive_failures=0,
                     latency_ms=None)
    return replace(snap, sequence=0, health=health,
                   sections={kind: replace(s, read_at=None) for kind, s in snap.sections.items()})


def _raw_times(snap: NodeSnapshot) -> dict[str, Any]:
    """The part of the codec's JSON a poll's times come from, without encoding the rest."""
    h = snap.health
    return {"sequence": snap.sequence,
            "health": {k: _stamp(getattr(h, k)) if k in _HEALTH_DATETIMES else getattr(h, k) for k in _HEALTH_TIMES},
            "sections": {kind: {"read_at": _stamp(s.read_at)} for kind, s in snap.sections.items()}}


def _stamp(value: datetime | None) -> Any:
    return None if value is None else snapshot_to_data_datetime(value)


def record_poll(conn: Connection, snap: NodeSnapshot, at: datetime) -> bool:
    """Record one stored poll of ``snap.node`` in ``conn``'s transaction: the
    snapshot whole when its content changed (True), else its times only."""
    last = conn.execute(sa.select(snapshot_history.c.id, snapshot_history.c.digest)
                        .where(snapshot_history.c.node == snap.node)
                        .order_by(snapshot_history.c.id.desc()).limit(1)).first()
    key = (str(conn.engine.url), snap.node)
    known = _LAST.get(key)
    skeleton = _skeleton(snap)
    if last is not None and known is not None and (known.snapshot_id, known.digest) == (last.id, last.digest) \
            and known.skeleton == skeleton:
        _insert_poll(conn, snap, at, last.id, _raw_times(snap))
        return False
    data = snapshot_to_data(snap)
    raw = data["snapshot"]
    digest = _content_digest(raw)
    if len(_LAST) >= _LAST_MAX:
        _LAST.clear()
    if last is not None and last.digest == digest:
        _LAST[key] = _Recorded(last.id, digest, skeleton)
        _insert_poll(conn, snap, at, last.id, raw)
        return False
    new_id = conn.execute(sa.insert(snapshot_history).values(
        node=snap.node, tenant=snap.tenant, at=at, digest=digest, data=compress(data))
        .returning(snapshot_history.c.id)).scalar_one()
    _LAST[key] = _Recorded(new_id, digest, skeleton)
    return True


def _insert_poll(conn: Connection, snap: NodeSnapshot, at: datetime, snapshot_id: int, raw: Mapping[str, Any]) -> None:
    conn.execute(sa.insert(poll_history).values(node=snap.node, tenant=snap.tenant, at=at, snapshot_id=snapshot_id,
                                                times=json.dumps(_times_of(raw), separators=(",", ":"))))


def prune_history(engine: Engine, older_than: datetime) -> tuple[int, int]:
    """Forget snapshots and polls recorded before ``older_than``, except each
    node's newest snapshot from before it (where a replay of what is kept
    starts); return (snapshots, polls) forgotten."""
    cut = utc(older_than)
    with engine.begin() as conn:
        polls = conn.execute(sa.delete(poll_history).where(poll_history.c.at < cut)).rowcount
        base = sa.select(sa.func.max(snapshot_history.c.id)).where(snapshot_history.c.at < cut) \
            .group_by(snapshot_history.c.node)
        snaps = conn.execute(sa.delete(snapshot_history).where(
            snapshot_history.c.at < cut, snapshot_history.c.id.not_in(base))).rowcount
    return snaps, polls


@dataclass(frozen=True)
class Frame:
    """One recorded poll of a node: its content row, and its own times when
    it repeated that content (None: the content row's own poll)."""

    at: datetime
    node: str
    tenant: str
    snapshot_id: int
    times: Mapping[str, Any] | None = None


class HistoryWindow:
    """The recorded polls of a window, every node's (of ``scope``), in memory."""

    def __init__(self, start: datetime, end: datetime, frames: Iterable[Frame], contents: Mapping[int, bytes]):
        self.start, self.end = utc(start), utc(end)
        self.frames: dict[str, list[Frame]] = {}
        for f in sorted(frames, key=lambda f: (f.at, f.times is not None)):
            self.frames.setdefault(f.node, []).append(f)
        self._times = {node: [f.at for f in fs] for node, fs in self.frames.items()}
        self._contents = dict(contents)
        self._decoded: dict[int, dict[str, Any]] = {}
        self._memo = SectionMemo()

    @property
    def nodes(self) -> dict[str, str]:
        """node -> tenant, of every node recorded in the window."""
        return {node: fs[0].tenant for node, fs in self.frames.items()}

    def content_changes(self) -> list[Frame]:
        """The polls inside the window whose content changed (the replay's ``snapshot`` marks)."""
        return sorted((f for fs in self.frames.values() for f in fs
                       if f.times is None and self.start <= f.at <= self.end), key=lambda f: f.at)

    def frame_at(self, node: str, at: datetime) -> Frame | None:
        i = bisect.bisect_right(self._times.get(node, []), utc(at))
        return self.frames[node][i - 1] if i else None

    def snapshot_at(self, node: str, at: datetime) -> NodeSnapshot | None:
        """The node as the service had published it at ``at`` (None: not yet read)."""
        frame = self.frame_at(node, at)
        if frame is None:
            return None
        data = self._content(frame.snapshot_id)
        if data is None:
            return None
        return self._memo.load(data if frame.times is None else _with_times(data, frame.times))

    def first_snapshot(self, node: str) -> NodeSnapshot | None:
        """The node's earliest frame of the window (what it is, how often it is read)."""
        fs = self.frames.get(node)
        return self.snapshot_at(node, fs[0].at) if fs else None

    def _content(self, snapshot_id: int) -> dict[str, Any] | None:
        data = self._decoded.get(snapshot_id)
        if data is None:
            blob = self._contents.get(snapshot_id)
            if blob is None:
                return None
            data = self._decoded[snapshot_id] = decompress(blob)
        return data


def read_window(engine: Engine, start: datetime, end: datetime, *, scope: str | None = None) -> HistoryWindow:
    """Every node's (of ``scope``) recorded polls from its last one at or
    before ``start`` to ``end``, and the contents they name."""
    start, end = utc(start), utc(end)
    frames: list[Frame] = []
    with read_connection(engine) as conn:
        for table in (snapshot_history, poll_history):
            scoped = (table.c.tenant == scope,) if scope is not None else ()
            base = sa.select(sa.func.max(table.c.id)).where(table.c.at <= start, *scoped).group_by(table.c.node)
            cols = [table.c.id, table.c.node, table.c.tenant, table.c.at]
            cols += [table.c.snapshot_id, table.c.times] if table is poll_history else []
            rows = conn.execute(sa.select(*cols).where(
                sa.or_(table.c.id.in_(base), sa.and_(table.c.at > start, table.c.at <= end)), *scoped)).all()
            for r in rows:
                if table is poll_history:
                    frames.append(Frame(r.at, r.node, r.tenant, r.snapshot_id, json.loads(r.times)))
                else:
                    frames.append(Frame(r.at, r.node, r.tenant, r.id))
        # a node's base may be a poll whose content was recorded earlier: keep only the newest of the two
        frames = _newest_base(frames, start)
        wanted = sorted({f.snapshot_id for f in frames})
        contents: dict[int, bytes] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            contents.update((r.id, bytes(r.data)) for r in conn.execute(
                sa.select(snapshot_history.c.id, snapshot_history.c.data).where(snapshot_history.c.id.in_(chunk))))
    return HistoryWindow(start, end, frames, contents)


def _newest_base(frames: list[Frame], start: datetime) -> list[Frame]:
    newest: dict[str, Frame] = {}
    for f in frames:
        if f.at <= start and (f.node not in newest or (f.at, f.times is not None) > (
                newest[f.node].at, newest[f.node].times is not None)):
            newest[f.node] = f
    return [f for f in frames if f.at > start or newest.get(f.node) is f]
