"""The hosts view shows capacity (issue 14, deliverable 3): "per recovery
host, used and free CPU and memory by tenant; a scoped console sees its own
share and an anonymous "other tenants" total"."""

from __future__ import annotations

from ksystui.core.model import Flavour, Host, Site, Vm, Workgroup
from ksystui.core.snapshot import NodeSnapshot, Section
from ksystui.core.viewdefs import VIEWS
from ksystui.core.views import host_rows
from tests.core.test_capacity import (  # the seed's VMs: 280 GB / 17.5 CPU, 200 GB / 12.5 CPU
    A_VMS,
    B_VMS,
    NOW,
)
from tests.core.test_capacity import snapshot as node

SNORLAX = "a1f3c9e0"
COLUMNS = [c.key for c in VIEWS["hosts"].columns]


def cell(row, key: str) -> str:
    return row.cells[COLUMNS.index(key)]




def onprem(name: str, tenant: str, prod: str, vms: tuple, *, moved: bool = False, snorlax_gb: float | None = 512,
           dr_test: str = "INIT") -> NodeSnapshot:
    home, sp = ("BACKUP", "ACTIVE") if moved else ("ACTIVE", "BACKUP")
    size = {} if snorlax_gb is None else {"memory_capacity": f"{snorlax_gb:g}", "processors": "32"}
    return node(
        name, tenant, Flavour.ONPREM,
        vm=tuple(Vm(n, state="READY_TO_MOVE", status="ACTIVE", host="snorlax" if moved else prod,
                    memory_capacity=str(m), processors=str(c), dr_test_state=dr_test) for n, m, c in vms),
        site=(Site(tenant, home), Site("service_provider", sp)),
        host=(Host(prod, uuid=f"u-{prod}", site=tenant, pair="snorlax"),
              Host("snorlax", uuid=SNORLAX, site="service_provider", pair=prod, **size)),
    )


def seed(*, a_moved: bool = False, snorlax_gb: float | None = 512, b_dr_test: str = "INIT") -> dict[str, NodeSnapshot]:
    return {"r7r3m116": onprem("r7r3m116", "customerA", "pbrazos", A_VMS, moved=a_moved, snorlax_gb=snorlax_gb),
            "r7r3m108": onprem("r7r3m108", "customerB", "raichu", B_VMS, snorlax_gb=snorlax_gb, dr_test=b_dr_test)}


def on_snorlax(rows) -> dict[str, object]:
    return {r.tenant: r for r in rows if r.cells[1] == SNORLAX}


def test_before_any_move_snorlax_shows_its_size_all_free_and_no_share():
    rows = on_snorlax(host_rows(seed(), NOW))
    a, b = rows["customerA"], rows["customerB"]
    assert (cell(a, "mem"), cell(a, "cpu"), cell(a, "free"), cell(a, "share")) == (
        "0/512 GB", "0/32", "512 GB, 32 CPU", "-")
    assert cell(a, "shared") == "customerB (recovery)" and cell(b, "shared") == "customerA (recovery)"
    assert cell(a, "age") == "live"  # the age stays the last cell


def test_after_customerA_moved_onto_a_300_gb_snorlax_every_row_says_how_full_it_is_and_whose_use_it_is():
    rows = on_snorlax(host_rows(seed(a_moved=True, snorlax_gb=300), NOW))
    a, b = rows["customerA"], rows["customerB"]
    assert cell(a, "role") == "runs 5 VMs"
    assert (cell(a, "mem"), cell(a, "cpu"), cell(a, "free")) == ("280/300 GB", "17.5/32", "20 GB, 14.5 CPU")
    assert cell(a, "share") == "280 GB, 17.5 CPU" and cell(b, "share") == "-"
    # the unscoped view names every other tenant with its share
    assert cell(b, "shared") == "customerA (runs VMs: 280 GB, 17.5 CPU)"
    assert cell(a, "shared") == "customerB (recovery)"
    assert cell(b, "free") == "20 GB, 14.5 CPU"


def test_a_scoped_row_shows_its_own_share_and_the_others_summed_never_their_name():
    fleet = seed(a_moved=True, snorlax_gb=300)
    (b,) = on_snorlax(host_rows(fleet, NOW, scope="customerB")).values()
    assert cell(b, "shared") == "1 other tenant: 280 GB, 17.5 CPU"
    assert (cell(b, "mem"), cell(b, "free"), cell(b, "share")) == ("280/300 GB", "20 GB, 14.5 CPU", "-")
    (a,) = on_snorlax(host_rows(fleet, NOW, scope="customerA")).values()
    assert cell(a, "share") == "280 GB, 17.5 CPU" and cell(a, "shared") == "1 other tenant"
    text = repr([(r.cells, r.data) for r in host_rows(fleet, NOW, scope="customerB")])
    for word in ("customerA", "r7r3m116", "pbrazos", "cA_"):
        assert word not in text, word


def test_a_host_whose_size_nobody_reports_reads_not_reported_and_still_shows_each_share():
    rows = on_snorlax(host_rows(seed(a_moved=True, snorlax_gb=None), NOW))
    a, b = rows["customerA"], rows["customerB"]
    assert (cell(a, "mem"), cell(a, "cpu"), cell(a, "free")) == ("not reported",) * 3
    assert cell(a, "share") == "280 GB, 17.5 CPU"
    assert cell(b, "shared") == "customerA (runs VMs: 280 GB, 17.5 CPU)"


def test_vms_that_print_no_size_are_not_passed_off_as_taking_nothing():
    fleet = seed(a_moved=True)
    a = fleet["r7r3m116"]
    vms = tuple(Vm(v.name, state="MOVED", status="ACTIVE", host="snorlax") for v in a.vms)
    fleet["r7r3m116"] = NodeSnapshot(a.node, a.tenant, a.flavour, 10,
                                     {**a.sections, "vm": Section("vm", vms, NOW)}, a.health)
    rows = on_snorlax(host_rows(fleet, NOW))
    assert cell(rows["customerA"], "share") == "not reported"
    assert cell(rows["customerA"], "mem") == "0/512 GB"


def test_dr_test_clones_count_as_the_rehearsing_tenants_share():
    rows = on_snorlax(host_rows(seed(b_dr_test="ACTIVE_COMPLETED"), NOW))
    assert cell(rows["customerB"], "share") == "200 GB, 12.5 CPU (DR test)"
    assert cell(rows["customerA"], "shared") == "customerB (recovery: 200 GB, 12.5 CPU (DR test))"
    assert cell(rows["customerA"], "mem") == "200/512 GB"


def test_a_host_booted_past_its_size_says_over_by_how_much():
    fleet = seed(a_moved=True, snorlax_gb=300, b_dr_test="ACTIVE")
    row = on_snorlax(host_rows(fleet, NOW))["customerB"]
    assert cell(row, "mem") == "480/300 GB" and cell(row, "free") == "OVER 180 GB, 2 CPU"


def powervs(active: str) -> NodeSnapshot:
    wgs = tuple(f"{n}_WG" for n in ("cC_aixerp01", "cC_ibmi01"))
    return node(
        "ksysorch-dal12", "customerC", Flavour.POWERVS,
        vm=tuple(Vm(n, state="READY_TO_MOVE", status="ACTIVE", workspace="custC-dal12-prod", memory_capacity=str(m),
                    processors=str(p), inactive_vm_mem="2", inactive_vm_cpu="0.25")
                 for n, m, p in (("cC_aixerp01", 32, 2), ("cC_ibmi01", 24, 1))),
        site=(Site("DAL", workspaces=("custC-dal12-prod",), active_workgroups=wgs if active == "DAL" else ()),
              Site("WDC", workspaces=("custC-wdc06-dr",), active_workgroups=wgs if active == "WDC" else ())),
        workgroup=tuple(Workgroup(w, active_site=active) for w in wgs),
        host=(Host("dh-wdc06-01", uuid="u-dh", site="WDC", memory_capacity="128", processors="8"),),
    )


def test_a_powervs_tenants_dedicated_host_is_a_recovery_host_with_its_inactive_backups_held():
    fleet = {**seed(), "ksysorch-dal12": powervs("DAL")}
    (c,) = [r for r in host_rows(fleet, NOW) if r.cells[1] == "u-dh"]
    assert (c.tenant, cell(c, "recovery"), cell(c, "role")) == ("customerC", "dh-wdc06-01", "recovery")
    assert (cell(c, "mem"), cell(c, "cpu"), cell(c, "share")) == ("4/128 GB", "0.5/8", "4 GB, 0.5 CPU (inactive backups)")
    assert cell(c, "shared") == "-"
    # after its failover its VMs run there
    fleet["ksysorch-dal12"] = powervs("WDC")
    (c,) = [r for r in host_rows(fleet, NOW) if r.cells[1] == "u-dh"]
    assert cell(c, "role") == "runs 2 VMs" and cell(c, "share") == "56 GB, 3 CPU"
    # other tenants' scoped views never see it
    assert all(r.cells[1] != "u-dh" for r in host_rows(fleet, NOW, scope="customerB"))
