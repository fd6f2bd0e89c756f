"""The rows each view shows; scoping proven on the rows themselves."""

from datetime import UTC, datetime, timedelta

from ksystui.core.model import DiskGroup, Flavour, Host, KsysEvent, Site, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.core.tenants import TenantInfo
from ksystui.core.views import (
    host_rows,
    node_rows,
    overview_rows,
    replication_rows,
    tenant_rows,
    vm_rows,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SNORLAX = "a1f3c9e0"


def snap(node, tenant, prod, vms, read_at=NOW, error_kind=None, failures=0, events=(), recovery=SNORLAX):
    secs = {
        "vm": Section("vm", tuple(Vm(v, state=s, host=prod, priority="High") for v, s in vms), read_at),
        "site": Section("site", (Site(tenant, "ACTIVE"), Site("service_provider", "BACKUP")), read_at),
        "host": Section("host", (Host(prod, uuid=f"u-{prod}", site=tenant, pair="snorlax"),
                                 Host("snorlax", uuid=recovery, site="service_provider", pair=prod)), read_at),
        "disk_group": Section("disk_group", (DiskGroup(name=f"DG_{node}", cg_state="consistent_copying",
                                                       progress=62.5),), read_at),
        "event": Section("event", tuple(events), read_at),
    }
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 10, secs,
                        NodeHealth(last_success=read_at, error_kind=error_kind, consecutive_failures=failures,
                                   last_error="connection refused" if failures else None))


def fleet():
    return {
        "r7r3m116": snap("r7r3m116", "customerA", "pbrazos", [("cA_oradb01", "READY_TO_MOVE"), ("cA_nimsrv", "MOVED")],
                         events=[KsysEvent("HOST_FAILURE", "error", "Host failure.", "2026-11-23T02:59:00Z",
                                           "pbrazos", "e1")]),
        "r7r3m108": snap("r7r3m108", "customerB", "raichu", [("cB_db2core", "READY_TO_MOVE")],
                         read_at=NOW - timedelta(seconds=45)),
        "x": snap("x", "customerC", "pikachu", [("cC_web", "INIT")], failures=1, error_kind="unreachable",
                  recovery="other-uuid"),
    }


TENANTS = [TenantInfo("customerA", 1, "gold", ("r7r3m116",)), TenantInfo("customerB", 2, "silver", ("r7r3m108",)),
           TenantInfo("customerC", 3, "bronze", ("x",))]


def test_overview_orders_by_agreement_and_flags_freshness():
    rows = overview_rows(fleet(), TENANTS, NOW, open_critical={"r7r3m116": 1})
    assert [r.cells[0] for r in rows] == ["customerA", "customerB", "customerC"]
    a, b, c = rows
    assert a.cells[4] == "fresh" and a.style == "alert" and a.cells[8] == "1"
    assert "MOVED:1" in a.cells[6] and "READY_TO_MOVE:1" in a.cells[6]
    assert a.cells[9] == "snorlax (+1)"
    assert b.cells[4] == "stale" and b.style == "stale" and b.cells[5] == "45s"
    assert c.cells[4] == "unreachable" and c.style == "unreachable"


def test_vm_rows_dim_stale_data_with_its_age():
    rows = vm_rows(fleet()["r7r3m108"], NOW)
    assert rows[0].style == "stale" and rows[0].cells[-1] == "45s"
    fresh = vm_rows(fleet()["r7r3m116"], NOW)
    assert fresh[0].style is None and fresh[0].cells[-1] == "live"
    assert fresh[0].cells[:6] == ("customerA", "r7r3m116", "customerA", "pbrazos", "cA_oradb01", "READY_TO_MOVE")


def test_replication_rows_show_progress_and_lag():
    (row,) = replication_rows(fleet()["r7r3m116"], NOW)
    assert row.cells[4:7] == ("consistent_copying", "62.5%", "37.5%")


def test_hosts_view_names_sharers_unscoped_and_only_counts_them_scoped():
    rows = host_rows(fleet(), NOW)
    a = next(r for r in rows if r.tenant == "customerA")
    assert a.cells[0] == "snorlax" and a.cells[6] == "customerB"
    scoped = host_rows(fleet(), NOW, scope="customerA")
    assert {r.tenant for r in scoped} == {"customerA"}
    assert scoped[0].cells[6] == "1 other tenant"


def test_scoped_rows_hold_no_other_tenant_anywhere():
    f = fleet()
    others = ("customerB", "customerC", "r7r3m108", "raichu", "cB_", "pikachu", "cC_")
    rows = (overview_rows(f, TENANTS, NOW, scope="customerA") + host_rows(f, NOW, scope="customerA")
            + node_rows(f, NOW, scope="customerA") + tenant_rows(f, "customerA"))
    text = repr([r.cells for r in rows])
    for word in others:
        assert word not in text, word


def test_node_rows_explain_staleness():
    rows = {r.cells[0]: r for r in node_rows(fleet(), NOW)}
    assert rows["x"].cells[2] == "unreachable" and rows["x"].cells[5] == "connection refused"
    assert rows["r7r3m108"].cells[4] == "45s ago"
