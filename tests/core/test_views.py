"""The rows each view shows; scoping proven on the rows themselves."""

from dataclasses import replace
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
    assert a.cells[0] == "snorlax" and a.cells[4:6] == ("recovery", "pbrazos") and a.cells[7] == "customerB (recovery)"
    scoped = host_rows(fleet(), NOW, scope="customerA")
    assert {r.tenant for r in scoped} == {"customerA"}
    assert scoped[0].cells[7] == "1 other tenant"


def failed_over(s):
    """customerA's node after its unplanned move: the service provider's site
    is the active one and its VMs run on snorlax."""
    home, backup = s.sites
    vms = tuple(replace(v, host="snorlax", state="MOVED") for v in s.vms)
    sections = {**s.sections,
                "site": replace(s.sections["site"], items=(replace(home, sitetype="BACKUP"),
                                                           replace(backup, sitetype="ACTIVE"))),
                "vm": replace(s.sections["vm"], items=vms)}
    return replace(s, sections=sections)


def test_after_a_failover_the_hosts_view_shows_who_runs_on_a_recovery_host_and_who_still_counts_on_it():
    """Why: "After customerA's unplanned move the hosts view showed snorlax as
    A's production host and "SHARED WITH -" everywhere, hiding that snorlax
    now runs B's recovery capacity." """
    f = fleet()
    f["r7r3m116"] = failed_over(f["r7r3m116"])
    rows = host_rows(f, NOW)
    on_snorlax = {r.tenant: r for r in rows if r.cells[1] == SNORLAX}
    assert set(on_snorlax) == {"customerA", "customerB"}
    a, b = on_snorlax["customerA"], on_snorlax["customerB"]
    assert a.cells[4] == "runs 2 VMs" and a.cells[5] == "pbrazos" and a.cells[7] == "customerB (recovery)"
    assert b.cells[4] == "recovery" and b.cells[5] == "raichu" and b.cells[7] == "customerA (runs VMs)"
    home = next(r for r in rows if r.cells[0] == "pbrazos")  # A's way home: its recovery host now
    assert home.tenant == "customerA" and home.cells[4] == "recovery"
    assert all(r.cells[7] != "-" for r in on_snorlax.values())
    # B's overview says its recovery host is no longer its own
    b_over = next(r for r in overview_rows(f, TENANTS, NOW) if r.tenant == "customerB")
    assert b_over.cells[9] == "snorlax (+1)"
    # a scoped view still only counts the others
    scoped = host_rows(f, NOW, scope="customerB")
    assert [r.cells[7] for r in scoped] == ["1 other tenant"]
    assert "customerA" not in repr([(r.cells, r.data) for r in scoped])


def test_age_is_the_age_of_the_last_successful_read_never_live_without_one():
    """Why: "AGE reads "live" for up to ~30 s with no successful read"."""
    ok = snap("n", "customerA", "pbrazos", [("vm1", "READY_TO_MOVE")], read_at=NOW - timedelta(seconds=4))
    assert vm_rows(ok, NOW)[0].cells[-1] == "live"
    # the latest polls failed (the node answers, its query does not): 15 s since the last good read
    failing = snap("n", "customerA", "pbrazos", [("vm1", "READY_TO_MOVE")], read_at=NOW - timedelta(seconds=15),
                   error_kind="command_failed", failures=1)
    assert vm_rows(failing, NOW)[0].cells[-1] == "15s"
    # nobody polled since (a stopped poller): still fresh for 3 intervals, but not "live"
    quiet = snap("n", "customerA", "pbrazos", [("vm1", "READY_TO_MOVE")], read_at=NOW - timedelta(seconds=25))
    assert vm_rows(quiet, NOW)[0].cells[-1] == "25s" and vm_rows(quiet, NOW)[0].style is None
    assert overview_rows({"n": quiet}, [TenantInfo("customerA", 1, "gold", ("n",))], NOW)[0].cells[5] == "25s"
    # one query failing (the others fine): its rows show their age
    one = replace(ok, sections={**ok.sections, "vm": replace(ok.sections["vm"], error="timeout")})
    assert vm_rows(one, NOW)[0].cells[-1] == "4s" and replication_rows(one, NOW)[0].cells[-1] == "live"


def test_hosts_view_and_tenant_detail_carry_ages():
    """Why: "the hosts view and the tenant drill-down show no age"."""
    f = fleet()
    hosts = {r.tenant: r for r in host_rows(f, NOW)}
    assert hosts["customerA"].cells[-1] == "live" and hosts["customerB"].cells[-1] == "45s"
    rows = tenant_rows(f, "customerB", NOW)
    assert rows and all(r.cells[-1] == "45s" and r.style == "stale" for r in rows)
    assert {r.cells[0] for r in rows} >= {"site", "host"}


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


def test_every_view_says_which_columns_a_narrow_terminal_keeps():
    """Status, WHY and AGE stay; long text stays too (it shrinks instead)."""
    from ksystui.core.viewdefs import VIEW_DEFS

    for view in VIEW_DEFS:
        keys = {c.key for c in view.columns}
        assert view.keep and set(view.keep) <= keys, view.name
        for key in ("age", "state", "conn", "severity", "detail", "description", "what", "error"):
            assert key not in keys or key in view.keep, (view.name, key)
        long = [c.key for c in view.columns if c.long_text]
        assert not long or set(long) & set(view.keep), view.name
