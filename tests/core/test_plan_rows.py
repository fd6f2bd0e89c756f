"""The `:plan` view's rows and lines (core.plan_rows), from a plan built of
core.disaster's own values (tests.plan_fake)."""

from __future__ import annotations

from dataclasses import replace

from ksystui.core.capacity import Size
from ksystui.core.plan_rows import PlanShown, host_line, plan_note, plan_rows, verdict
from tests.plan_fake import AT, HostNeed, seed_plan


def test_each_recovery_reads_its_order_times_rto_and_verdict_and_the_bad_ones_stand_out():
    a, b = plan_rows(PlanShown(seed_plan(), "pbrazos, raichu: 2 nodes fail"))
    assert a.cells == ("1", "customerA", "meets (9m00s to spare)", "30m", "+21m00s", "+0s", "r7r3m116",
                       "median of 3 past unplanned moves")
    assert a.style is None
    assert b.cells[:7] == ("2", "customerB", "DOES NOT FIT short 180 GB on snorlax", "1h", "-", "-", "r7r3m108")
    assert b.style == "alert"
    # with the instant the disaster strikes: the note says the clock time the offsets count from
    assert plan_note(PlanShown(seed_plan(), "x", AT))[0].startswith("If x (times count from now, ")


def test_verdicts_read_meets_breach_by_and_no_rto():
    a = seed_plan().outcomes[0]
    assert verdict(replace(a, breach_s=754.0)) == "BREACH by 12m34s"
    assert verdict(replace(a, rto=None)) == "no RTO agreed"
    assert verdict(a) == "meets (9m00s to spare)"
    assert verdict(replace(a, finish_s=None)) == "finish unknown"
    # another tenant's, in a scoped plan: only whether it fits
    assert verdict(a, hidden=True) == "recovers" and verdict(seed_plan().outcomes[1], hidden=True) == "DOES NOT FIT"


def test_a_scoped_plan_never_puts_another_tenants_name_on_a_row_even_when_the_plan_forgot_to_hide_it():
    leaky = seed_plan()  # for_tenant not applied: every name still in it
    rows = plan_rows(PlanShown(leaky, "x"), scope="customerB")
    text = repr([(r.cells, r.key, r.tenant, r.node, r.data) for r in rows if r.cells[1] != "customerB"])
    for word in ("customerA", "r7r3m116", "median of 3"):
        assert word not in text
    assert rows[0].cells[1] == "another tenant"
    # the scoped plan (for_tenant) hides them in the lines above the rows as well
    note = "\n".join(plan_note(PlanShown(leaky.for_tenant("customerB"), "every production host")))
    assert "customerA" not in note and "r7r3m116" not in note


def test_each_recovery_host_reads_its_need_against_its_size():
    need = HostNeed("u", "snorlax", Size(512, 32), Size(), Size(480, 30), True, Size())
    assert host_line(need) == "snorlax: needs 480 GB, 30 CPU of 512 GB, 32 CPU: fits"
    busy = replace(need, before=Size(64, 4))
    assert host_line(busy) == "snorlax: needs 480 GB, 30 CPU of 512 GB, 32 CPU (64 GB, 4 CPU in use before): fits"
    unknown = replace(need, total=None)
    assert host_line(unknown).endswith("its size is not reported: not checked")
    lines = plan_note(PlanShown(seed_plan(), "pbrazos: 1 node fails"))
    assert lines[:2] == ["If pbrazos: 1 node fails", "2 recoveries: 1 meets its RTO, 1 does not fit; "
                                                     "all that can run are back after 21m00s"]


def test_a_plan_over_many_hosts_and_tenants_keeps_its_note_short_the_hosts_that_do_not_fit_first():
    plan = seed_plan()
    fine = [HostNeed(f"u{i}", f"host{i:02d}", Size(512, 32), Size(), Size(10, 1), True, Size()) for i in range(20)]
    many = replace(plan, hosts=(*fine, *plan.hosts),
                   what_ifs=(replace(plan.what_ifs[1], better=tuple(f"t{i}: DOES NOT FIT -> meets" for i in range(9))),))
    lines = plan_note(PlanShown(many, "everything"))
    assert lines[3].startswith("  snorlax: needs") and "  … 13 more" in lines
    assert lines[-1] == "  … and 4 more recoveries" and len(lines) < 20


def test_a_recovery_host_the_disaster_takes_reads_so_and_its_recoveries_have_none_left():
    need = HostNeed("u", "snorlax", Size(512, 32), Size(280, 17.5), Size(200, 12.5), False, Size(), down=True)
    assert host_line(need) == "snorlax: needed by recoveries (200 GB, 12.5 CPU) but it FAILS in this disaster"
    plan = seed_plan()
    a, b = plan.outcomes
    lost = replace(b, shortfalls=(), lost_hosts=("snorlax",))
    shown = PlanShown(replace(plan, outcomes=(a, lost), hosts=(need,)), "every production host")
    assert plan_note(shown)[1] == ("2 recoveries: 1 meets its RTO, 1 has no recovery host left; "
                                   "all that can run are back after 21m00s")
    row = plan_rows(shown)[1]
    assert row.cells[2] == "NO RECOVERY HOST: snorlax fails too" and row.style == "alert"
