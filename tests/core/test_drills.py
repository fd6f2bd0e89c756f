"""Drills against the agreed RTO (pure): the elapsed bar, the predicted
finish from past runs, the measured RTO per run with its verdict and trend,
the rehearsals never cleaned up, and what the two drill views say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ksystui.core.drill_rows import drill_header, drill_rows, drills_note, drills_rows
from ksystui.core.drill_steps import read_progress
from ksystui.core.drills import (
    DrillLive,
    DrillRun,
    bar,
    gauge,
    history,
    never_cleaned,
    past_rtos,
    predict,
    recovered_at,
    step_trend,
    trend_summary,
)
from ksystui.core.lifecycle import Op
from tests.core.test_drill_steps import SIM_DR_TEST_FAILING, stored

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
RTO = {"customerA": timedelta(minutes=30), "customerB": timedelta(hours=1)}


def rto_of(tenant: str) -> timedelta | None:
    return RTO.get(tenant)


def run(i: int, minutes: float | None, *, tenant="customerA", op=Op.DR_TEST, state="succeeded",
        cleaned: bool | None = None, recovered_after: float | None = None) -> DrillRun:
    start = T0 + timedelta(days=i)
    end = None if minutes is None else start + timedelta(minutes=minutes)
    rec = None if recovered_after is None else start + timedelta(minutes=recovered_after)
    if cleaned is None and op is Op.DR_TEST and state == "succeeded":
        cleaned = True
    return DrillRun(i, f"#{i}", tenant, "r7r3m116", op, state, "alice@ops/c1", start - timedelta(seconds=5),
                    start, end, recovered_at=rec, cleaned_up=cleaned)


def test_the_measured_rto_runs_to_the_last_vm_up_and_only_a_success_measures_one():
    assert run(1, 12, recovered_after=10).measured_rto == timedelta(minutes=10)  # the command's tail is not recovery
    assert run(1, 12).measured_rto == timedelta(minutes=12)  # no boot line: the end of the command
    assert run(1, 12, state="failed").measured_rto is None
    assert run(1, None, state="running").measured_rto is None


def test_the_bar_fills_with_the_share_of_the_rto_spent_and_says_over_without_colour():
    assert bar(0.5, 10) == "[█████░░░░░]"
    assert bar(0.0, 10) == "[░░░░░░░░░░]"
    assert bar(1.4, 10) == "[██████████!"
    assert bar(None, 10) == "[··········]"
    half = gauge(timedelta(minutes=15), timedelta(minutes=30))
    assert half.level == "ok" and half.words() == "15m00s of RTO 30m (50%)"
    assert gauge(timedelta(minutes=25), timedelta(minutes=30)).level == "near"
    over = gauge(timedelta(minutes=32), timedelta(minutes=30))
    assert over.level == "over" and over.words() == "32m00s: OVER RTO 30m by 2m00s"
    assert gauge(timedelta(minutes=3), None).words() == "3m00s, no RTO agreed for this tenant"


def test_the_finish_is_predicted_from_the_median_of_the_tenants_past_runs_of_the_same_operation():
    runs = [run(1, 10), run(2, 12), run(3, 40), run(4, 8, op=Op.MOVE_PLANNED), run(5, 9, tenant="customerB")]
    past = past_rtos(runs, "customerA", Op.DR_TEST)
    assert past == (timedelta(minutes=10), timedelta(minutes=12), timedelta(minutes=40))
    now_run = run(6, None, state="running")
    p = predict(now_run, past, now_run.started_at + timedelta(minutes=3), RTO["customerA"])
    assert p.expected == timedelta(minutes=12)  # the median: the one run that hung does not drag it
    assert p.finish_at == now_run.started_at + timedelta(minutes=12)
    assert "median of 3 past DR tests of customerA: 12m00s (within RTO)" in p.basis
    late = predict(now_run, past, now_run.started_at + timedelta(minutes=15))
    assert late.finish_at is None and "late by 3m00s" in late.basis
    assert predict(now_run, (), T0).basis == "no past DR test of customerA to go by"
    assert past_rtos(runs, "customerA", Op.DR_TEST, before=3) == (timedelta(minutes=10), timedelta(minutes=12))


def test_history_gives_each_run_its_measured_rto_verdict_and_trend_newest_first():
    runs = [run(1, 10), run(2, 10.05), run(3, 35), run(4, 20, state="failed"), run(5, 12),
            run(6, 50, tenant="customerB", op=Op.MOVE_PLANNED)]
    rows = history(runs, rto_of)
    by = {r.run.id: r for r in rows}
    assert [r.run.id for r in rows] == [6, 5, 4, 3, 2, 1]
    assert (by[1].verdict, by[1].trend) == ("met", "first")
    assert by[2].trend == "= same"
    assert (by[3].verdict, by[3].trend) == ("MISSED by 5m00s", "▲ 24m57s slower") and by[3].missed
    assert (by[4].verdict, by[4].trend, by[4].measured) == ("-", "-", None)  # failed: measures nothing
    assert by[5].trend == "▼ 23m00s faster"  # against run 3, the last one measured
    assert (by[6].verdict, by[6].trend) == ("met", "first")  # another tenant's and operation's series
    summary = trend_summary(runs, rto_of)
    assert summary[("customerA", Op.DR_TEST)] == (
        "customerA DR test: 4 measured, latest 12m00s (slower than the median 10m03s before it); "
        "RTO 30m: missed 1 of 4")


def test_a_rehearsal_no_cleanup_closed_is_listed_with_how_long_it_has_held_the_host():
    runs = [run(1, 10), run(2, 10, cleaned=False), run(3, 10, op=Op.MOVE_PLANNED), run(4, 10, state="failed")]
    assert [r.id for r in never_cleaned(runs)] == [2]
    note = drills_note(runs, rto_of, T0 + timedelta(days=3))
    assert note[-1].startswith("! #2 customerA DR test on r7r3m116 succeeded ")
    assert "never cleaned up" in note[-1]
    cells = {r.key: r for r in drills_rows(history(runs, rto_of))}
    assert cells[("drill", "2")].cells[-1] == "NO" and cells[("drill", "2")].style == "alert"
    assert cells[("drill", "1")].cells[-1] == "yes" and cells[("drill", "3")].cells[-1] == "-"


def test_the_live_drill_puts_failures_on_top_and_says_elapsed_against_the_rto():
    progress = read_progress(stored(SIM_DR_TEST_FAILING))
    live_run = DrillRun(7, "#7", "customerA", "r7r3m116", Op.DR_TEST, "running", "alice@ops/c1",
                        datetime(2026, 11, 30, 14, 59, 58, tzinfo=UTC), datetime(2026, 11, 30, 15, 0, 0, tzinfo=UTC),
                        detail="running 21s, ETA 40s")
    live = DrillLive(live_run, progress, (timedelta(minutes=1),))
    rows = drill_rows(live)
    assert rows[0].cells[0] == "✗ vmA2" and rows[0].cells[1] == "failed"
    failed_step = next(r for r in rows if r.cells[3] == "failed")
    assert failed_step.style == "alert" and failed_step.cells[-1] == "storage agent sa1 is unreachable"
    assert [r.cells[0] for r in rows if r.cells[1] == "running"] == ["▶ vmA3"]
    assert rows[-1].cells[0].strip() == "Site customerA_home"  # the operation's own step, last
    now = datetime(2026, 11, 30, 15, 0, 21, tzinfo=UTC)
    h = drill_header(live, RTO["customerA"], now, width=10)
    assert h.title == "DR TEST #7 for customerA on r7r3m116: running"  # the queue's ETA: the prediction says it
    assert h.rto_words == "21s of RTO 30m (1%)" and h.bar == "[░░░░░░░░░░]" and h.level == "ok"
    assert h.outlook == "finish predicted 15:01:00 UTC — median of 1 past DR test of customerA: 1m00s (within RTO)"
    assert h.vms == "VMs: 1 failed · 1 running · 1 up"
    assert recovered_at(progress.vms) is None  # not every VM is up


def test_an_ended_drill_shows_its_measured_rto_against_the_agreed_one():
    done = run(3, 35, recovered_after=34)
    live = DrillLive(done, read_progress([]), ())
    h = drill_header(live, RTO["customerA"], T0 + timedelta(days=10))
    assert h.outlook == "measured RTO 34m00s — MISSED the RTO" and h.level == "over"
    assert h.rto_words.startswith("34m00s: OVER RTO 30m by 4m00s")
    failed = DrillLive(run(4, 3, state="failed"), read_progress([]), ())
    assert drill_header(failed, None, T0).outlook.startswith("failed: measured no RTO")
    assert step_trend(None, None) == "-"


def test_a_drill_still_queued_says_why_it_waits_and_that_it_has_not_started():
    waiting = DrillRun(9, "#9", "customerA", "r7r3m116", Op.MOVE_PLANNED, "queued", "bob@ops/c2", T0,
                       detail="position 1: snorlax held by #8 customerB verify")
    h = drill_header(DrillLive(waiting, read_progress([]), (timedelta(minutes=20),)), RTO["customerA"], T0)
    assert h.title == ("PLANNED MOVE #9 for customerA on r7r3m116: queued "
                       "(position 1: snorlax held by #8 customerB verify)")
    assert h.rto_words == "not started yet; RTO 30m" and h.gauge is None and h.bar == "[" + "·" * 30 + "]"
    assert h.outlook.startswith("finish: unknown — median of 1 past planned move of customerA: 20m00s")
    assert h.outlook.endswith("not started yet") and h.vms == "VMs: none reached yet"
