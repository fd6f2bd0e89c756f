"""Every operation is planned for both flavours from what the node reports:
PowerVS operations claim the workspaces they work on, a move claims both
ends (so the move home claims the shared recovery host it leaves), a move
home takes the discover/verify it needs first, and a failed cleanup can be
run again (issue 11, deliverables 1 and 2, "Stuck states")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ksystui.core.arbitration import Claim
from ksystui.core.lifecycle import Op
from ksystui.core.model import DiskGroup, Flavour, Host, Site, Vm, Workgroup
from ksystui.core.operations import PlanRefused, plan, preconditions, steps
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
PBRAZOS, SNORLAX = "u-pbrazos", "u-snorlax"


def snapshot(node: str, tenant: str, flavour: Flavour, **items: tuple) -> NodeSnapshot:
    secs = {kind: Section(kind, tuple(values), NOW) for kind, values in items.items()}
    return NodeSnapshot(node, tenant, flavour, 10, secs, NodeHealth(last_success=NOW))


def powervs(vm_state: str = "READY_TO_MOVE", active: str = "DAL", dr_test: str = "INIT") -> NodeSnapshot:
    names = ("cC_aixerp01", "cC_ibmi01")
    wgs = tuple(f"{n}_WG" for n in names)
    ws = {"DAL": "custC-dal12-prod", "WDC": "custC-wdc06-dr"}
    return snapshot(
        "ksysorch-dal12", "customerC", Flavour.POWERVS,
        vm=tuple(Vm(n, state=vm_state, dr_test_state=dr_test, workspace=ws[active]) for n in names),
        site=(Site("DAL", region="dal12", workspaces=(ws["DAL"],), active_workgroups=wgs if active == "DAL" else ()),
              Site("WDC", region="wdc06", workspaces=(ws["WDC"],), active_workgroups=wgs if active == "WDC" else ())),
        workgroup=tuple(Workgroup(w, home_workspace=ws["DAL"], backup_workspace=ws["WDC"], active_workspace=ws[active],
                                  home_site="DAL", active_site=active) for w in wgs),
        disk_group=tuple(DiskGroup(workgroup=w, cg_state="consistent_copying") for w in wgs),
    )


def onprem(vm_state: str = "READY_TO_MOVE", moved: bool = False) -> NodeSnapshot:
    """customerA's node; ``moved``: after its move to service_provider (the
    sites swapped types, the VMs run on snorlax)."""
    home, sp = ("BACKUP", "ACTIVE") if moved else ("ACTIVE", "BACKUP")
    return snapshot(
        "r7r3m116", "customerA", Flavour.ONPREM,
        vm=(Vm("cA_oradb01", state=vm_state, host="snorlax" if moved else "pbrazos"),),
        site=(Site("customerA", home), Site("service_provider", sp)),
        host=(Host("pbrazos", uuid=PBRAZOS, site="customerA", pair="snorlax"),
              Host("snorlax", uuid=SNORLAX, site="service_provider")),
        disk_group=(DiskGroup(name="VMRDG_cluster01_customerA", cg_state="consistent_synchronized"),),
    )


@pytest.mark.parametrize("op, claimed", [
    (Op.MOVE_PLANNED, {"custC-dal12-prod", "custC-wdc06-dr"}),
    (Op.MOVE_UNPLANNED, {"custC-dal12-prod", "custC-wdc06-dr"}),
    (Op.DR_TEST, {"custC-wdc06-dr"}),
])
def test_a_powervs_operation_claims_the_workspaces_it_works_on(op, claimed):
    # today: no host in PowerVS output, so nothing to claim, and the queue refused the
    # request with "ValueError: move on ksysorch-dal12 works on recovery hosts: name them"
    planned = plan(op, powervs(), force=True)
    assert set(planned.host_names) == claimed
    assert planned.claims == {Claim("node", "ksysorch-dal12"), *(Claim("host", f"workspace:{n}") for n in claimed)}
    assert planned.argv[:3] == ("ksysmgr", "-f", "-t") and "from=DAL" in planned.argv and "to=WDC" in planned.argv


def test_a_powervs_rehearsal_cleanup_is_planned_and_claims_the_dr_workspace():
    snap = powervs(dr_test="ACTIVE_COMPLETED")
    planned = plan(Op.CLEANUP, snap, force=True)
    assert planned.op is Op.DR_TEST_CLEANUP and planned.command == "ksysmgr -f -t cleanup site DAL dr_test=yes"
    assert planned.host_names == ("custC-wdc06-dr",)
    assert preconditions(planned.op, snap, NOW) == []


def test_a_powervs_resync_names_the_workgroup_whose_replication_is_behind():
    snap = powervs()
    groups = (DiskGroup(workgroup="cC_aixerp01_WG", cg_state="consistent_copying"),
              DiskGroup(workgroup="cC_ibmi01_WG", cg_state="idling_disconnected"))
    snap = NodeSnapshot(snap.node, snap.tenant, snap.flavour, 10,
                        {**snap.sections, "disk_group": Section("disk_group", groups, NOW)}, snap.health)
    assert plan(Op.RESYNC, snap, force=True).command == "ksysmgr -f resync workgroup cC_ibmi01_WG"
    assert plan(Op.RESYNC, snap, force=False, workgroup="cC_aixerp01_WG").claims == {Claim("node", "ksysorch-dal12")}
    with pytest.raises(PlanRefused, match="no workgroup nope_WG"):
        plan(Op.RESYNC, snap, force=True, workgroup="nope_WG")
    assert plan(Op.RESYNC, onprem(), force=True).command == "ksysmgr -f resync disk_group VMRDG_cluster01_customerA"


def test_the_move_home_claims_the_recovery_host_it_leaves_and_the_home_host():
    # issue 11: `submit move --site service_provider --to customerA` claimed only pbrazos
    planned = plan(Op.MOVE_PLANNED, onprem("READY_TO_MOVE", moved=True), force=True,
                   site="service_provider", to_site="customerA")
    assert planned.command == "ksysmgr -f -t move site from=service_provider to=customerA dr_type=planned"
    assert planned.claims == {Claim("node", "r7r3m116"), Claim("host", PBRAZOS), Claim("host", SNORLAX)}
    # and by default, from the site the VMs run on now to the other one
    assert plan(Op.MOVE_PLANNED, onprem("READY_TO_MOVE", moved=True), force=True).command == planned.command


def test_m_on_a_moved_tenant_proposes_the_discover_and_verify_the_move_home_needs_first():
    first, then = steps(Op.MOVE_PLANNED, onprem("MOVED", moved=True), force=True)
    assert first.op is Op.DISCOVER and first.command == "ksysmgr -t discover site service_provider verify=yes"
    assert first.claims == {Claim("node", "r7r3m116"), Claim("host", PBRAZOS)}  # it verifies against home
    assert "move home to customerA" in (first.purpose or "") and "MOVED" in (first.purpose or "")
    assert then.op is Op.MOVE_PLANNED and then.to_site == "customerA"
    # once ready, the move itself, in one step
    (only,) = steps(Op.MOVE_PLANNED, onprem("READY_TO_MOVE", moved=True), force=True)
    assert only.op is Op.MOVE_PLANNED and only.purpose is None


def test_a_moved_powervs_tenant_rediscovers_before_its_move_home():
    first, then = steps(Op.MOVE_PLANNED, powervs("MOVED", active="WDC"), force=True)
    assert first.command == "ksysmgr -t discover site WDC"  # PowerVS: no verify=yes
    assert then.command == "ksysmgr -f -t move site from=WDC to=DAL dr_type=planned"
    assert set(then.host_names) == {"custC-dal12-prod", "custC-wdc06-dr"}


@pytest.mark.parametrize("op", [Op.CLEANUP, Op.RECOVER])
def test_after_a_failed_cleanup_both_cleanup_and_recover_may_be_queued(op):
    # issue 11: after CLEANUP_FAILED ksystui refused both, while the node accepts
    # `ksysmgr -f cleanup site customerA`
    snap = onprem("CLEANUP_FAILED", moved=True)
    planned = plan(op, snap, force=True)
    assert preconditions(planned.op, snap, NOW) == []
    if op is Op.CLEANUP:
        assert planned.command == "ksysmgr -f -t cleanup site customerA"
    assert Claim("host", SNORLAX) in planned.claims


def test_a_node_that_reports_nothing_at_the_recovery_site_is_refused_with_a_sentence():
    bare = snapshot("n1", "t", Flavour.POWERVS, vm=(Vm("v", state="READY_TO_MOVE"),),
                    site=(Site("A", active_workgroups=("v_WG",)), Site("B")))
    with pytest.raises(PlanRefused, match="cannot tell what the planned move works on"):
        plan(Op.MOVE_PLANNED, bare, force=True)


@pytest.mark.parametrize("site, to_site, words", [
    ("nowhere", None, "r7r3m116 has no site nowhere: it has customerA, service_provider"),
    (None, "WDC", "r7r3m116 has no site WDC"),
    ("customerA", "customerA", "not from customerA to customerA"),
])
def test_a_site_the_node_does_not_have_is_refused_when_planned_not_by_the_node(site, to_site, words):
    with pytest.raises(PlanRefused, match=words):
        plan(Op.MOVE_PLANNED, onprem(), force=True, site=site, to_site=to_site)
