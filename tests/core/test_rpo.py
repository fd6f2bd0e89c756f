"""The recovery point in time against the agreed RPO (core.rpo), and how the
overview and the tenant view show it: measured, the breach in words, or
"not measurable" with the reason. Pure: hand-made snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ksystui.core.model import DiskGroup, Flavour, KsysEvent, ManagedVm
from ksystui.core.rpo import (
    dr_recovery_time,
    measure_rpo,
    parse_point,
    rpo_cell,
    rto_cell,
    worst,
)
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.core.tenants import TenantInfo
from ksystui.core.viewdefs import VIEWS
from ksystui.core.views import agreement_rows, overview_rows, replication_rows, tenant_rows

NOW = datetime(2026, 11, 30, 15, 0, 0, tzinfo=UTC)
A = TenantInfo("customerA", 1, "gold", ("r7r3m116",), rto=timedelta(minutes=30), rpo=timedelta(minutes=15))
B = TenantInfo("customerB", 2, "silver", ("r7r3m108",), rto=timedelta(hours=1), rpo=timedelta(minutes=30))
C = TenantInfo("customerC", 3, "bronze", ("ksysorch-dal12",), rto=timedelta(hours=4), rpo=timedelta(hours=1))


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def onprem_group(**kw) -> DiskGroup:
    base = dict(name="VMRDG_cluster01_customerA", cg_name="cluster01_customerA_CG", cg_state="consistent_synchronized",
                progress=100.0, site="customerA", active_site="customerA")
    return DiskGroup(**{**base, **kw})


def snap(node: str, tenant: str, groups=(), *, flavour=Flavour.ONPREM, events=(), managed=(), read_at=NOW,
         rest_events=(), error=None, interval=10.0) -> NodeSnapshot:
    sections = {"disk_group": Section("disk_group", tuple(groups), read_at, error),
                "event": Section("event", tuple(events), read_at),
                "vm": Section("vm", (), read_at)}
    if managed or rest_events:
        sections["rest_vm"] = Section("rest_vm", tuple(managed), read_at)
        sections["rest_event"] = Section("rest_event", tuple(rest_events), read_at)
    health = NodeHealth(last_attempt=read_at, last_success=read_at)
    return NodeSnapshot(node, tenant, flavour, interval, sections, health, sequence=1)


# --- measuring ----------------------------------------------------------------------------
def test_an_older_consistent_point_from_ksysmgr_is_a_lag_in_time_and_a_breach_over_the_target():
    """Why: "replication lag injected in the simulator shows as an RPO breach with its measured time"."""
    g = onprem_group(cg_state="consistent_copying", progress=62.5, consistent_at=stamp(NOW - timedelta(minutes=42)))
    r = measure_rpo(snap("r7r3m116", "customerA", [g]), NOW, A.rpo)
    assert r.lag == timedelta(minutes=42) and r.breach is True and r.target == A.rpo and not r.at_least
    assert "last consistent point 2026-11-30 14:18:00Z (ksysmgr)" in r.basis
    assert rpo_cell(r) == "BREACH 42m00s / 15m"


def test_within_the_target_is_ok_and_exactly_the_target_is_no_breach():
    g = onprem_group(cg_state="consistent_copying", progress=99.0, consistent_at=stamp(NOW - timedelta(minutes=15)))
    r = measure_rpo(snap("r7r3m116", "customerA", [g]), NOW, A.rpo)
    assert r.lag == timedelta(minutes=15) and r.breach is False
    assert rpo_cell(r) == "ok 15m00s / 15m"


def test_a_copy_in_sync_reads_zero_lag():
    r = measure_rpo(snap("r7r3m116", "customerA", [onprem_group()]), NOW, A.rpo)
    assert r.lag == timedelta(0) and r.breach is False and "in sync" in r.basis


def test_a_percentage_copied_is_not_a_time_and_the_reading_says_so():
    g = onprem_group(cg_state="consistent_copying", progress=62.5)
    r = measure_rpo(snap("r7r3m116", "customerA", [g]), NOW, A.rpo)
    assert r.lag is None and r.breach is None
    assert r.unknown_why == "copy consistent_copying, 62.5% copied, and no consistent point given"
    assert rpo_cell(r) == "not measurable / 15m: copy consistent_copying, 62.5% copied, and no consistent point given"


@pytest.mark.parametrize("sections, why", [
    ({}, "replication not read yet"),
    ({"disk_group": Section("disk_group", (), None, "query disk_group: timed out")}, "query disk_group: timed out"),
    ({"disk_group": Section("disk_group", (), NOW)}, "no disk groups: replication not set up"),
])
def test_nothing_to_measure_says_why(sections, why):
    s = NodeSnapshot("r7r3m116", "customerA", Flavour.ONPREM, 10.0, sections)
    r = measure_rpo(s, NOW, A.rpo)
    assert r.lag is None and r.unknown_why == why and rpo_cell(r) == f"not measurable / 15m: {why}"


def test_a_stopped_copy_is_behind_at_least_since_the_event_that_said_so_and_no_longer_after_it_resumed():
    g = onprem_group(cg_state="idling_disconnected", progress=100.0)
    failed = KsysEvent("REPLICATION_FAILURE", "error", time=stamp(NOW - timedelta(minutes=20)),
                       resource="VMRDG_cluster01_customerA")
    r = measure_rpo(snap("r7r3m116", "customerA", [g], events=[failed]), NOW, A.rpo)
    assert r.lag == timedelta(minutes=20) and r.at_least and r.breach is True
    assert rpo_cell(r) == "BREACH ≥20m00s / 15m" and "REPLICATION_FAILURE" in r.basis
    resumed = KsysEvent("REPLICATION_RESUMED", "info", time=stamp(NOW - timedelta(minutes=5)),
                        resource="VMRDG_cluster01_customerA")
    assert measure_rpo(snap("r7r3m116", "customerA", [g], events=[failed, resumed]), NOW, A.rpo).lag is None
    other = KsysEvent("REPLICATION_FAILURE", "error", time=stamp(NOW), resource="another_group")
    assert measure_rpo(snap("r7r3m116", "customerA", [g], events=[other]), NOW, A.rpo).lag is None


def test_powervs_takes_the_consistent_point_from_the_service_and_the_older_of_both_sources():
    wg = DiskGroup(workgroup="cC_aix01_WG", cg_name="rccg-x", cg_state="consistent_copying", progress=99.0)
    vm = ManagedVm("id1", "cC_aix01", dr_average_time="420", workgroup="cC_aix01_WG",
                   last_consistent_time=stamp(NOW - timedelta(minutes=90)))
    s = snap("ksysorch-dal12", "customerC", [wg], flavour=Flavour.POWERVS, managed=[vm])
    r = measure_rpo(s, NOW, C.rpo)
    assert r.lag == timedelta(minutes=90) and r.breach is True and "(DR Automation service)" in r.basis
    both = DiskGroup(workgroup="cC_aix01_WG", cg_state="consistent_copying", progress=99.0,
                     consistent_at=stamp(NOW - timedelta(minutes=30)))
    r = measure_rpo(snap("ksysorch-dal12", "customerC", [both], flavour=Flavour.POWERVS, managed=[vm]), NOW, C.rpo)
    assert r.lag == timedelta(minutes=90)  # the older point: what a failover now would lose at most


def test_powervs_event_times_from_the_service_bound_the_lag_from_below():
    wg = DiskGroup(workgroup="cC_aix01_WG", cg_state="consistent_copying", progress=80.0)
    lag = KsysEvent("REPLICATION_LAG", "warning", time=stamp(NOW - timedelta(minutes=70)), resource="cC_aix01_WG",
                    source="DR Automation service")
    r = measure_rpo(snap("ksysorch-dal12", "customerC", [wg], flavour=Flavour.POWERVS, rest_events=[lag]), NOW, C.rpo)
    assert r.lag == timedelta(minutes=70) and r.at_least and r.breach is True


def test_the_node_reads_its_worst_group_and_a_tenant_its_worst_node():
    ok = onprem_group(name="g1")
    late = onprem_group(name="g2", cg_state="consistent_copying", consistent_at=stamp(NOW - timedelta(minutes=50)))
    unknown = onprem_group(name="g3", cg_state="consistent_copying", progress=50.0)
    assert measure_rpo(snap("n", "customerA", [ok, late, unknown]), NOW, A.rpo).group == "g2"  # the breach first
    assert measure_rpo(snap("n", "customerA", [ok, unknown]), NOW, A.rpo).group == "g3"  # then what may hide one
    two = TenantInfo("customerA", 1, "gold", ("n1", "n2"), rpo=timedelta(hours=1))
    r = worst([measure_rpo(s, NOW) for s in (snap("n1", "customerA", [ok]), snap("n2", "customerA", [late]))],
              two.rpo)
    assert r is not None and r.lag == timedelta(minutes=50) and r.breach is False


def test_an_old_read_still_measures_and_says_how_old():
    g = onprem_group(cg_state="consistent_copying", consistent_at=stamp(NOW - timedelta(minutes=40)))
    r = measure_rpo(snap("n", "customerA", [g], read_at=NOW - timedelta(minutes=5)), NOW, A.rpo)
    assert r.lag == timedelta(minutes=40) and r.basis.endswith("; read 5m00s ago")


@pytest.mark.parametrize("text, want", [
    ("2026-11-30T14:18:00Z", datetime(2026, 11, 30, 14, 18, tzinfo=UTC)),
    ("2026-11-30 14:18:00", datetime(2026, 11, 30, 14, 18, tzinfo=UTC)),
    ("2026-11-30T15:18:00+01:00", datetime(2026, 11, 30, 14, 18, tzinfo=UTC)),
    ("2026/11/30/14/18/00", datetime(2026, 11, 30, 14, 18, tzinfo=UTC)),
    ("yesterday", None), ("", None), (None, None), ("2026/13/40/99/00/00", None),
])
def test_consistent_points_as_nodes_and_storage_print_them(text, want):
    assert parse_point(text) == want


def test_no_agreement_shows_the_measured_lag_without_a_verdict():
    g = onprem_group(cg_state="consistent_copying", consistent_at=stamp(NOW - timedelta(minutes=42)))
    r = measure_rpo(snap("n", "customerA", [g]), NOW)
    assert r.breach is None and rpo_cell(r) == "42m00s (none agreed)"


def test_the_rto_cell_sets_the_services_average_dr_time_against_the_agreed_rto():
    assert rto_cell(timedelta(minutes=30), None) == "30m"
    assert rto_cell(None, None) == "-"
    assert rto_cell(timedelta(hours=4), timedelta(minutes=7)) == "4h, DR est 7m00s"
    assert rto_cell(timedelta(minutes=5), timedelta(minutes=7)) == "5m, DR est 7m00s BREACH"
    vms = [ManagedVm("1", "a", dr_average_time="420"), ManagedVm("2", "b", dr_average_time="n/a"),
           ManagedVm("3", "c", dr_average_time="600")]
    # one rule with the disaster planner: the VMs' averages one after another (17m: 7m + 10m)
    assert dr_recovery_time(snap("n", "customerC", [], flavour=Flavour.POWERVS, managed=vms)) == \
        timedelta(minutes=17)


# --- the overview and the tenant view ---------------------------------------------------------
def fleet() -> dict[str, NodeSnapshot]:
    a = onprem_group(cg_state="consistent_copying", progress=62.5, consistent_at=stamp(NOW - timedelta(minutes=40)))
    b = onprem_group(name="VMRDG_cluster02_customerB", cg_state="consistent_copying", progress=90.0,
                     consistent_at=stamp(NOW - timedelta(minutes=10)))
    c = DiskGroup(workgroup="cC_aix01_WG", cg_state="consistent_copying", progress=97.0)
    return {"r7r3m116": snap("r7r3m116", "customerA", [a]), "r7r3m108": snap("r7r3m108", "customerB", [b]),
            "ksysorch-dal12": snap("ksysorch-dal12", "customerC", [c], flavour=Flavour.POWERVS,
                                   managed=[ManagedVm("1", "cC_aix01", dr_average_time="420", workgroup="cC_aix01_WG")])}


def cell(row, key: str) -> str:
    keys = [c.key for c in VIEWS["overview"].columns]
    return row.cells[keys.index(key)]


def test_the_overview_shows_every_tenants_agreement_and_its_measured_rpo_with_the_breach_in_words():
    rows = {r.tenant: r for r in overview_rows(fleet(), [A, B, C], NOW)}
    assert cell(rows["customerA"], "rto") == "30m"
    assert cell(rows["customerA"], "rpo") == "BREACH 40m00s / 15m" and rows["customerA"].style == "alert"
    assert cell(rows["customerB"], "rpo") == "ok 10m00s / 30m" and rows["customerB"].style is None
    assert cell(rows["customerC"], "rto") == "4h, DR est 7m00s"
    assert cell(rows["customerC"], "rpo") == ("not measurable / 1h: copy consistent_copying, 97% copied, "
                                              "and no consistent point given")
    assert rows["customerC"].style is None
    # a narrow terminal keeps the RPO (the breach) whatever else it drops
    assert VIEWS["overview"].kept("rpo")


def test_a_scoped_overview_measures_only_its_tenant():
    rows = overview_rows(fleet(), [A, B, C], NOW, scope="customerB")
    assert [r.tenant for r in rows] == ["customerB"] and "BREACH" not in " ".join(rows[0].cells)


def test_the_tenant_view_opens_on_its_agreement_and_what_the_rpo_was_measured_from():
    rows = tenant_rows(fleet(), "customerA", NOW, A)
    rto, rpo = rows[0], rows[1]
    assert rto.cells[:2] == ("agreement", "RTO") and rto.cells[4] == "30m agreed"
    assert rpo.cells[:3] == ("agreement", "RPO", "r7r3m116") and rpo.style == "alert"
    assert rpo.cells[4] == ("BREACH measured 40m00s against 15m agreed — last consistent point "
                            "2026-11-30 14:20:00Z (ksysmgr) in VMRDG_cluster01_customerA")
    (c_rto, c_rpo) = agreement_rows(fleet(), C, NOW)
    assert c_rto.cells[4] == "4h agreed; DR time 7m00s by the DR Automation service's averages, one VM after another"
    assert c_rpo.cells[4].startswith("not measurable: copy consistent_copying") and c_rpo.cells[4].endswith("; 1h agreed")
    # without the tenant's configuration, or with no objective in it, the view is as before
    assert all(r.cells[0] != "agreement" for r in tenant_rows(fleet(), "customerA", NOW))
    plain = TenantInfo("customerA", 1, "gold", ("r7r3m116",))
    assert all(r.cells[0] != "agreement" for r in tenant_rows(fleet(), "customerA", NOW, plain))
    # Enter on the RTO line opens the tenant's (default) node, as every line of the view opens its node
    assert rto.node == "r7r3m116" and VIEWS["tenant"].drill(rto) is not None


def test_the_replication_lag_column_is_a_time_where_measured_and_the_percent_left_where_not():
    (a,) = replication_rows(fleet()["r7r3m116"], NOW)
    (c,) = replication_rows(fleet()["ksysorch-dal12"], NOW)
    keys = [k.key for k in VIEWS["replication"].columns]
    assert a.cells[keys.index("lag")] == "40m00s"
    assert c.cells[keys.index("lag")] == "3%"


def test_the_consoles_tenant_view_carries_the_agreement_of_the_tenant_it_opens():
    from ksystui.core.fleet_view import FleetView

    fv = FleetView([A, B, C], clock=lambda: NOW)
    for s in fleet().values():
        fv.update(s)
    assert [r.cells[1] for r in fv.rows_for("tenant", "customerA")[:2]] == ["RTO", "RPO"]
    scoped = FleetView([A, B, C], scope="customerB", clock=lambda: NOW)
    for s in fleet().values():
        scoped.update(s)
    assert scoped.rows_for("tenant", "customerA") == []  # another tenant's agreement: nothing


def test_ksysmgr_output_with_the_storages_own_spelling_of_the_consistent_point_measures_too():
    from ksystui.core.ksysmgr.parse import parse_disk_group

    text = ("Name:                VMRDG_cluster01_customerA\n"
            "CGState:             consistent_copying\n"
            "Progress:            88.0\n"
            "Freeze Time:         2026/11/30/14/18/00\n")
    (g,) = parse_disk_group(text)
    assert g.consistent_at == "2026/11/30/14/18/00" and g.extra == ()
    assert measure_rpo(snap("r7r3m116", "customerA", [g]), NOW, A.rpo).lag == timedelta(minutes=42)
