"""The report's model (core/report.py) and its HTML/JSON (report/render.py),
from an operation detail as the arbiter gives it: no database, no browser."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ksystui.core.op_detail import AuditRecordView, OperationDetail, OutputLine
from ksystui.core.readouts import QueueLine
from ksystui.core.report import build_report, report_json, span
from ksystui.report import render_html, render_json

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ALICE = "alice@ops1/ops1:42:abc"


def record(seq: int, action: str, *, op: str = "#7", **detail: str) -> AuditRecordView:
    return AuditRecordView(seq, str(seq), f"2026-11-30 10:0{seq}:00", ALICE, action, op, "customerA", "nodeA",
                           tuple(detail.items()), prev_hash=f"h{seq - 1}", hash=f"hmac-sha256:{seq:064x}")


def detail(op: str = "DR test", state: str = "succeeded", *, output: tuple[OutputLine, ...] = (),
           started: str = "2026-11-30 10:02:00", finished: str = "2026-11-30 10:14:30",
           audit: tuple[AuditRecordView, ...] | None = None) -> OperationDetail:
    line = QueueLine(7, "snorlax", "customerA", "nodeA", op, state, None, 1, "", "ksysmgr move")
    records = audit if audit is not None else (
        record(1, "submit", confirmed="True", op="dr-test"), record(2, "start"), record(3, "finish", state=state))
    return OperationDetail(line, ("ksysmgr", "-f", "-t", "move", "site", "dr_test=yes"), "siteA", "siteB",
                           ("snorlax",), ALICE, "2026-11-30 10:01:00", "2026-11-30 10:02:00", started, finished,
                           0 if state == "succeeded" else 1, "exit 0", "", output, records)


def out(at: str, text: str) -> OutputLine:
    return OutputLine(f"2026-11-30 {at}", text)


STREAM = (
    out("10:02:05", "Rehearsal VM creation has started for VM vm1"),
    out("10:03:05", "Rehearsal VM vm1_Rehearsal creation has completed"),
    out("10:03:10", "Rehearsal VM creation has started for VM vm2"),
    out("10:04:00", "Boot up on siteB Site has started for VM vm2_Rehearsal"),
    out("10:05:00", "Boot up on siteB Site has failed for VM vm2_Rehearsal: no free memory on snorlax"),
)


def test_measured_rto_against_the_agreed_one_with_who_requested_and_confirmed():
    r = build_report(detail(), generated_at=NOW, agreed_rto=timedelta(minutes=30), agreed_rpo=timedelta(minutes=15),
                     anchor="hmac-sha256:abc")
    assert (r.measured_rto, r.measured_rto_seconds, r.agreed_rto, r.rto_verdict) == ("12m 30s", 750.0, "30m 00s", "met")
    assert r.requested_by == r.confirmed_by == ALICE and "confirmed" in r.confirmation
    assert r.queue_wait == "1m 00s" and r.agreed_rpo == "15m 00s" and "not recorded" in r.rpo_at_start
    assert r.verify_command == "ksystui audit verify --anchor hmac-sha256:abc"
    assert [e.what for e in r.timeline] == ["submit", "start", "finish"]
    late = build_report(detail(), generated_at=NOW, agreed_rto=timedelta(minutes=10))
    assert late.rto_verdict == "missed"
    assert build_report(detail(), generated_at=NOW).rto_verdict == "not judged"


def test_each_vm_with_its_step_durations_failures_first():
    r = build_report(detail(state="failed", output=STREAM), generated_at=NOW, agreed_rto=timedelta(hours=1))
    assert [(v.vm, v.outcome) for v in r.vms] == [("vm2", "failed"), ("vm1", "completed")]
    assert r.vms[0].failure == "Boot up: no free memory on snorlax"
    assert [(s.name, s.duration) for s in r.vms[1].steps] == [("Rehearsal VM creation", "1m 00s")]
    assert r.rto_verdict == "missed"  # a failed drill never meets its RTO, however quick
    page = render_html(r)
    assert page.index("1 VM failed") < page.index("Virtual machines")


def test_a_rehearsal_never_cleaned_up_is_said_and_a_cleanup_is_named():
    alone = build_report(detail(), generated_at=NOW)
    assert alone.rehearsal_note.startswith("never cleaned up")
    cleanup = detail(op="DR test cleanup", audit=(record(4, "submit", op="#8", pair_id="#7"),
                                                  record(5, "finish", op="#8")))
    paired = build_report(detail(), generated_at=NOW, cleanup=cleanup)
    assert paired.cleanup is not None and paired.rehearsal_note.startswith("closed by cleanup")
    assert [a.seq for a in paired.audit] == ["1", "2", "3", "4", "5"]
    assert build_report(detail(op="planned move"), generated_at=NOW).rehearsal_note == ""


def test_nothing_of_another_tenant_even_where_a_record_names_one():
    leaky = detail(audit=(record(1, "submit", confirmed="True", reason="waited behind customerB on nodeB"),))
    r = build_report(leaky, generated_at=NOW, foreign_names=["customerB", "nodeB", "customerA"])
    page, data = render_html(r), render_json(r)
    for text in (page, data):
        assert "customerB" not in text and "nodeB" not in text and "customerA" in text
    assert "waited behind another tenant on another tenant" in page


def test_the_html_is_self_contained_and_escaped_and_the_json_is_whole():
    hostile = detail(output=(out("10:02:05", "Rehearsal VM creation has started for VM <script>x</script>"),))
    r = build_report(hostile, generated_at=NOW, anchor="hmac-sha256:abc")
    page = render_html(r)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page and "<img" not in page
    assert "@page { size: A4" in page
    data = json.loads(render_json(r))
    assert data == json.loads(json.dumps(report_json(r))) and data["format"] == "ksystui-report/1"
    assert data["anchor"] == "hmac-sha256:abc" and data["failed_vms"] == []


def test_spans_read_as_people_write_them():
    assert [span(timedelta(seconds=s)) for s in (0, 42, 185, 3725)] == ["under 1s", "42s", "3m 05s", "1h 02m 05s"]
    assert span(None) == "-"


def test_what_a_tenants_report_must_not_name_keeps_the_shared_recovery_host():
    from ksystui.core.model import Flavour, Host, Vm
    from ksystui.core.report import foreign_names
    from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

    def snap(node: str, tenant: str, hosts: tuple[str, ...], vms: tuple[str, ...]) -> NodeSnapshot:
        secs = {"host": Section("host", tuple(Host(h) for h in hosts), NOW),
                "vm": Section("vm", tuple(Vm(v) for v in vms), NOW)}
        return NodeSnapshot(node, tenant, Flavour.ONPREM, 10, secs, NodeHealth(last_success=NOW))

    snaps = [snap("nodeA", "customerA", ("pikachu", "snorlax"), ("cA_db",)),
             snap("nodeB", "customerB", ("raichu", "snorlax"), ("cB_db",))]
    names = foreign_names("customerA", [("customerA", ("nodeA",)), ("customerB", ("nodeB",))], snaps)
    assert names == ["customerB", "nodeB", "cB_db", "raichu"]  # snorlax is customerA's recovery host too


def test_the_rpo_at_the_start_against_the_agreed_one_where_it_was_measured():
    from ksystui.core.report import RpoAtStart

    def rpo(lag_minutes: int) -> str:
        return build_report(detail(), generated_at=NOW, agreed_rpo=timedelta(minutes=15), rpo_at_start=RpoAtStart(
            timedelta(minutes=lag_minutes), "last consistent point (ksysmgr)")).rpo_at_start

    assert rpo(4) == "4m 00s (last consistent point (ksysmgr)): within the agreed 15m 00s"
    assert rpo(40) == "40m 00s (last consistent point (ksysmgr)): BREACH, above the agreed 15m 00s"
    unknown = RpoAtStart(None, why_unknown="not measurable: no consistent point reported")
    assert build_report(detail(), generated_at=NOW, rpo_at_start=unknown).rpo_at_start == unknown.why_unknown


def test_the_rpo_at_the_start_is_measured_on_the_record_of_the_node_then():
    """Issue 13: the report gives "RPO at the start" — from the node as the
    service had recorded it when the operation started."""
    from ksystui.core.report import rpo_at_start_of
    from tests.core.test_rpo import NOW, onprem_group, snap, stamp

    lagging = onprem_group(cg_state="consistent_copying", progress=62.5, consistent_at=stamp(NOW - timedelta(minutes=42)))
    got = rpo_at_start_of(snap("r7r3m116", "customerA", [lagging]), NOW, timedelta(minutes=15))
    assert got.lag == timedelta(minutes=42) and "last consistent point" in got.basis
    assert "not recorded" in rpo_at_start_of(None, NOW, timedelta(minutes=15)).why_unknown
    unknown = rpo_at_start_of(snap("r7r3m116", "customerA", [onprem_group(cg_state="consistent_copying", progress=97.0)]),
                              NOW, None)
    assert unknown.lag is None and unknown.why_unknown.startswith("not measurable: ")
