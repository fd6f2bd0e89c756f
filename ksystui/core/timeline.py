"""The record as a replay walks it: times people type, the marks of a
window, and where a cursor goes next. Pure.

A replay shows the console as it was at one instant, the cursor. The
window's *marks* are the instants worth stopping at: a node's data changed
(``snapshot``), a KSYS event was first seen (``event``), an alert was
raised, acknowledged or resolved (``alert``, ``ack``, ``resolve``), an
operation changed state (``operation``: submitted, admitted, started,
finished, requeued, cancelled, raised, resolved, re-judged) and any other
audited action (``audit``). The cursor steps by a duration or jumps to the
next mark of a kind; it never leaves the window.

An operation's state at an instant is rebuilt from its audit records (every
transition is audited, in order, with its time): :func:`operation_at`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ksystui.core.durations import parse_duration

__all__ = [
    "EVENT_KINDS",
    "MARK_KINDS",
    "OPERATION_KINDS",
    "Mark",
    "OpAt",
    "Timeline",
    "Transition",
    "latest_at",
    "operation_at",
    "parse_when",
    "utc",
]

MARK_KINDS = ("snapshot", "event", "alert", "ack", "resolve", "operation", "audit")
EVENT_KINDS = frozenset({"event", "alert", "ack", "resolve"})  # what "next event" stops at
OPERATION_KINDS = frozenset({"operation"})  # what "next operation" stops at

_RELATIVE = re.compile(r"^-\s*(?P<span>\S+)$")


def utc(when: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_when(text: str, now: datetime) -> datetime:
    """A time as ``--from``/``--to`` take it: ISO 8601 (UTC when it names no
    zone: ``2026-11-30T14:00``, ``2026-11-30 14:00:05+01:00``, ``…Z``), a
    span before ``now`` (``-2h``, ``-30m``, ``-1h30m``, ``-7d``) or ``now``.
    Raises ``ValueError`` with one line saying what is wrong and an example."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise ValueError('a time is ISO 8601 (e.g. "2026-11-30T14:00Z") or a span back from now (e.g. "-2h")')
    if raw.lower() == "now":
        return utc(now)
    relative = _RELATIVE.match(raw)
    if relative:
        try:
            return utc(now) - parse_duration(relative.group("span"))
        except ValueError:
            raise ValueError(f'{raw!r}: a span back from now is a minus and a duration, e.g. "-2h", "-30m" '
                             'or "-1h30m"') from None
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise ValueError(f'{raw!r}: not a time (ISO 8601 such as "2026-11-30T14:00Z", or a span back '
                         'such as "-2h")') from None
    return utc(when)


@dataclass(frozen=True)
class Mark:
    """An instant of the window worth stopping at."""

    at: datetime
    kind: str  # one of MARK_KINDS
    tenant: str | None
    node: str | None
    label: str  # one short line: what happened
    ref: int | None = None  # alert id / operation id / audit seq


def _kinds(kind: str | Collection[str] | None) -> Collection[str] | None:
    if kind is None:
        return None
    return (kind,) if isinstance(kind, str) else kind


@dataclass(frozen=True)
class Timeline:
    """A window and its marks (oldest first); the cursor's moves."""

    start: datetime
    end: datetime
    marks: tuple[Mark, ...] = ()
    _times: tuple[datetime, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a window ends after it starts")
        ordered = tuple(sorted((m for m in self.marks if self.start <= m.at <= self.end),
                               key=lambda m: (m.at, MARK_KINDS.index(m.kind) if m.kind in MARK_KINDS else 99)))
        object.__setattr__(self, "marks", ordered)
        object.__setattr__(self, "_times", tuple(m.at for m in ordered))

    def clamp(self, at: datetime) -> datetime:
        """``at`` held inside the window."""
        return min(max(utc(at), self.start), self.end)

    def step(self, at: datetime, delta: timedelta) -> datetime:
        """The cursor moved by ``delta`` (back when negative), inside the window."""
        return self.clamp(utc(at) + delta)

    def next_mark(self, at: datetime, kind: str | Collection[str] | None = None) -> Mark | None:
        """The first mark after ``at`` (of ``kind``: a kind, or several), or None."""
        kinds = _kinds(kind)
        for m in self.marks[bisect.bisect_right(self._times, utc(at)):]:
            if kinds is None or m.kind in kinds:
                return m
        return None

    def previous_mark(self, at: datetime, kind: str | Collection[str] | None = None) -> Mark | None:
        """The last mark before ``at`` (of ``kind``), or None."""
        kinds = _kinds(kind)
        for m in reversed(self.marks[:bisect.bisect_left(self._times, utc(at))]):
            if kinds is None or m.kind in kinds:
                return m
        return None

    def between(self, first: datetime, last: datetime) -> tuple[Mark, ...]:
        """The marks from ``first`` to ``last``, both included."""
        return self.marks[bisect.bisect_left(self._times, utc(first)):bisect.bisect_right(self._times, utc(last))]


# --- an operation as of an instant ----------------------------------------------------------------
@dataclass(frozen=True)
class OpAt:
    """What an operation's row said at an instant (the fields that change)."""

    state: str
    fence: int | None = None
    holder: str | None = None
    admitted_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rc: int | None = None
    outcome: str | None = None
    raised: int = 0
    raise_reason: str | None = None
    pair_id: int | None = None


@dataclass(frozen=True)
class Transition:
    """One audit record of an operation, as :func:`operation_at` reads it."""

    at: datetime
    action: str
    detail: Mapping[str, Any]


_FINISHED_STATES = frozenset({"succeeded", "failed", "cancelled"})


def operation_at(transitions: Iterable[Transition], at: datetime, *, paired_at: datetime | None = None,
                 pair_id: int | None = None, final_outcome: str | None = None) -> OpAt | None:
    """The operation as it stood at ``at``, from its audit records (oldest
    first); None when it was not submitted yet. ``pair_id``: the row's pair
    now, ``paired_at``: when it was paired when the pair was submitted
    later (a DR test learns its cleanup then). ``final_outcome``: the row's
    outcome now, kept where the records hold none (a cancel, a resolve)."""
    when = utc(at)
    state: OpAt | None = None
    for t in transitions:
        if utc(t.at) > when:
            break
        d = t.detail
        if t.action == "submit":
            state = OpAt("queued", pair_id=_int(d.get("pair_id")))
        elif state is None:
            continue
        elif t.action == "admit":
            state = _with(state, state="admitted", fence=_int(d.get("fence")), holder=_str(d.get("console")),
                          admitted_at=utc(t.at))
        elif t.action == "start":
            state = _with(state, state="running", started_at=utc(t.at))
        elif t.action == "finish":
            state = _with(state, state=str(d.get("state") or state.state), rc=_int(d.get("rc")),
                          outcome=_str(d.get("outcome")), finished_at=utc(t.at))
        elif t.action == "requeue":
            state = _with(state, state="queued", fence=None, holder=None, admitted_at=None)
        elif t.action == "cancel":
            state = _with(state, state="cancelled", finished_at=utc(t.at), outcome=final_outcome)
        elif t.action == "raise":
            state = _with(state, raised=_int(d.get("raised")) or state.raised + 1, raise_reason=_str(d.get("reason")))
        elif t.action in ("resolve", "rejudge"):
            to = str(d.get("to") or state.state)
            state = _with(state, state=to, finished_at=state.finished_at or utc(t.at),
                          outcome=final_outcome if to in _FINISHED_STATES else state.outcome)
    if state is not None and pair_id is not None and state.pair_id is None \
            and (paired_at is None or utc(paired_at) <= when):
        state = _with(state, pair_id=pair_id)
    return state


def _with(current: OpAt, **changes: Any) -> OpAt:
    return replace(current, **changes)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def latest_at(times: Sequence[datetime], at: datetime) -> int | None:
    """The index of the last of ``times`` (ascending) at or before ``at``, or None."""
    i = bisect.bisect_right(times, utc(at))
    return i - 1 if i else None
