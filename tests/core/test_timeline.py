"""The replay's times and cursor (core.timeline): what --from/--to accept,
where "next event" and "next operation" stop, an operation as it stood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ksystui.core.timeline import (
    EVENT_KINDS,
    OPERATION_KINDS,
    Mark,
    Timeline,
    Transition,
    operation_at,
    parse_when,
)

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-30T14:00", datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),  # no zone: UTC
    ("2026-11-30 14:00:05", datetime(2026, 11, 30, 14, 0, 5, tzinfo=UTC)),
    ("2026-11-30T14:00Z", datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),
    ("2026-11-30T15:00+01:00", datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),
    ("-2h", NOW - timedelta(hours=2)),
    ("-30m", NOW - timedelta(minutes=30)),
    ("-1h30m", NOW - timedelta(minutes=90)),
    ("-7d", NOW - timedelta(days=7)),
    ("now", NOW),
])
def test_times_are_iso_8601_utc_by_default_or_a_span_back_from_now(text, expected):
    got = parse_when(text, NOW)
    assert got == expected and got.tzinfo is not None


@pytest.mark.parametrize("text", ["", "yesterday", "-2", "2h", "-2x", "--2h", "2026-13-01", "-0m"])
def test_a_wrong_time_says_what_is_wrong_in_one_line(text):
    with pytest.raises(ValueError) as err:
        parse_when(text, NOW)
    assert "\n" not in str(err.value) and ("-2h" in str(err.value) or "ISO 8601" in str(err.value))


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


MARKS = (Mark(at(1), "snapshot", "a", "n1", "n1: its data changed"), Mark(at(2), "event", "a", "n1", "HOST_FAILURE"),
         Mark(at(2), "alert", "a", "n1", "alert raised", 1), Mark(at(3), "operation", "a", "n1", "submit", 7),
         Mark(at(9), "operation", "a", "n1", "finish", 7), Mark(at(20), "event", "a", "n1", "outside"))


def test_the_cursor_stays_inside_the_window_and_jumps_to_the_next_mark_of_a_kind():
    line = Timeline(at(0), at(10), MARKS)
    assert [m.label for m in line.marks][-1] == "finish"  # a mark outside the window is not there
    assert line.step(at(9), timedelta(minutes=5)) == at(10) and line.step(at(1), -timedelta(hours=1)) == at(0)
    assert line.next_mark(at(0)).kind == "snapshot"
    assert line.next_mark(at(0), EVENT_KINDS).label == "HOST_FAILURE"
    assert line.next_mark(at(2), EVENT_KINDS) is None  # the alert is at the same instant: not after it
    assert line.next_mark(at(0), OPERATION_KINDS).label == "submit"
    assert line.next_mark(at(3), "operation").label == "finish"
    assert line.previous_mark(at(9), "operation").label == "submit"
    assert [m.kind for m in line.between(at(2), at(3))] == ["event", "alert", "operation"]
    with pytest.raises(ValueError):
        Timeline(at(1), at(0))


def test_an_operation_is_rebuilt_from_its_audited_transitions():
    records = [Transition(at(1), "submit", {"op": "move", "pair_id": None}),
               Transition(at(2), "admit", {"fence": 4, "console": "svc"}),
               Transition(at(3), "requeue", {"reason": "node gone"}),
               Transition(at(4), "raise", {"raised": 2, "reason": "customer waits"}),
               Transition(at(5), "admit", {"fence": 5, "console": "svc"}),
               Transition(at(6), "start", {"fence": 5}),
               Transition(at(8), "finish", {"state": "succeeded", "rc": 0, "outcome": "moved"})]
    assert operation_at(records, at(0)) is None
    assert operation_at(records, at(1)).state == "queued"
    assert (operation_at(records, at(2.5)).state, operation_at(records, at(2.5)).fence) == ("admitted", 4)
    requeued = operation_at(records, at(3.5))
    assert (requeued.state, requeued.fence, requeued.admitted_at) == ("queued", None, None)
    assert operation_at(records, at(4)).raised == 2
    running = operation_at(records, at(7))
    assert (running.state, running.started_at, running.finished_at) == ("running", at(6), None)
    done = operation_at(records, at(8))
    assert (done.state, done.rc, done.outcome, done.finished_at) == ("succeeded", 0, "moved", at(8))
    # a DR test learns its cleanup's id when the cleanup is submitted
    assert operation_at(records, at(8), pair_id=9, paired_at=at(9)).pair_id is None
    assert operation_at(records, at(9), pair_id=9, paired_at=at(9)).pair_id == 9


def test_a_cancel_or_an_operator_s_resolution_keeps_the_row_s_outcome():
    cancelled = [Transition(at(1), "submit", {}), Transition(at(2), "cancel", {"reason": "no"})]
    assert operation_at(cancelled, at(2), final_outcome="cancelled by bob: no").outcome == "cancelled by bob: no"
    doubt = [Transition(at(1), "submit", {}), Transition(at(2), "admit", {"fence": 1}),
             Transition(at(3), "start", {}), Transition(at(4), "finish", {"state": "in_doubt", "outcome": "lost"}),
             Transition(at(6), "rejudge", {"from": "in_doubt", "to": "succeeded"})]
    assert operation_at(doubt, at(5)).state == "in_doubt"
    settled = operation_at(doubt, at(6), final_outcome="lost; the node says done")
    assert (settled.state, settled.outcome, settled.finished_at) == ("succeeded", "lost; the node says done", at(4))
    assert parse_when("2026-11-30T16:00+01:00", NOW).tzinfo in (UTC, UTC)
