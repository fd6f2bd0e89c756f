"""Which recovery an alert calls for, judged on the node's state and the
fleet's, each with its reason (issue 11, deliverable 3 and "Recovery
advice"), and when the console offers it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site, Vm
from ksystui.core.operations import plan, preconditions
from ksystui.core.recovery import (
    Proposal,
    act_on_alert,
    offer,
    propose,
    proposed_recovery,
)
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SNORLAX = "a1f3c9e0-snorlax"


def node(name: str, tenant: str, prod: str, *, vm_state: str = "READY_TO_MOVE", on: str | None = None,
         moved: bool = False, snorlax: str = "Operating", prod_state: str = "Operating",
         dr_test: str = "INIT") -> NodeSnapshot:
    """One of the seed's on-prem tenants: production host ``prod`` paired with
    snorlax; ``moved``: after its move (VMs on snorlax, sites swapped)."""
    site = f"{tenant}"
    home, sp = ("BACKUP", "ACTIVE") if moved else ("ACTIVE", "BACKUP")
    vms = tuple(Vm(f"{tenant[-1]}_vm{i}", state=vm_state, host=on or ("snorlax" if moved else prod),
                   dr_test_state=dr_test) for i in (1, 2))
    secs = {
        "vm": Section("vm", vms, NOW),
        "site": Section("site", (Site(site, home), Site("service_provider", sp)), NOW),
        "host": Section("host", (
            Host(prod, uuid=f"u-{prod}", site=site, pair="snorlax", state=prod_state, hmcs=(f"hmc-{prod}",)),
            Host("snorlax", uuid=SNORLAX, site="service_provider", state=snorlax, hmcs=("vmhmc6",))), NOW),
    }
    return NodeSnapshot(name, tenant, Flavour.ONPREM, 10, secs, NodeHealth(last_success=NOW))


def fleet(**a_kw) -> tuple[NodeSnapshot, NodeSnapshot]:
    b_kw = {k: v for k, v in a_kw.items() if k == "snorlax"}
    return node("r7r3m116", "customerA", "pbrazos", **a_kw), node("r7r3m108", "customerB", "raichu", **b_kw)


def test_a_failed_production_host_calls_for_an_unplanned_move_to_its_healthy_recovery_host():
    a, b = fleet(prod_state="Error")
    p = propose("HOST_FAILURE", "pbrazos", a, (a, b))
    assert p.op is Op.MOVE_UNPLANNED and "production host pbrazos failed" in p.reason and "snorlax" in p.reason
    assert p.lost_protection == ()


def test_a_failed_recovery_host_is_never_moved_onto_and_says_who_lost_dr_protection():
    # issue 11: when snorlax itself failed, the alert proposed an unplanned move of customerA onto it
    a, b = fleet(snorlax="Error")
    for snap in (a, b):
        p = propose("HOST_FAILURE", "snorlax", snap, (a, b))
        assert p.op is None and "recovery host snorlax failed: no move onto it" in p.reason
        assert p.lost_protection == ("customerA", "customerB")
        assert "DR protection lost for customerA, customerB" in p.reason


def test_a_production_host_whose_recovery_host_is_down_too_gets_no_move():
    a, b = fleet(prod_state="Error", snorlax="Error")
    p = propose("HOST_FAILURE", "pbrazos", a, (a, b))
    assert p.op is None and "not operating either" in p.reason


def test_after_a_move_snorlax_runs_the_vms_its_failure_moves_them_home_and_b_lost_protection():
    a, b = node("r7r3m116", "customerA", "pbrazos", moved=True, snorlax="Error"), \
        node("r7r3m108", "customerB", "raichu", snorlax="Error")
    assert propose("HOST_FAILURE", "snorlax", a, (a, b)).op is Op.MOVE_UNPLANNED  # home, to pbrazos
    p = propose("HOST_FAILURE", "snorlax", b, (a, b))
    assert p.op is None and p.lost_protection == ("customerB",)  # A runs there: it is A's production now


def test_vms_left_restart_failed_call_for_recover_not_a_move_onto_the_failed_host():
    # issue 11: after a failed failback left VMs RESTART_FAILED, it proposed an unplanned
    # move onto the failed pbrazos instead of recover
    a, b = fleet(vm_state="RESTART_FAILED", prod_state="Error")
    p = propose("HOST_FAILURE", "pbrazos", a, (a, b))
    assert p.op is Op.RECOVER and "RESTART_FAILED" in p.reason and "pbrazos is not operating" in p.reason
    assert propose("MOVE_FAILED", None, a, (a, b)).op is Op.RECOVER


def test_cleanup_failed_calls_for_the_forced_cleanup_the_node_accepts():
    a = node("r7r3m116", "customerA", "pbrazos", vm_state="CLEANUP_FAILED", moved=True)
    p = propose("CLEANUP_FAILED", "customerA", a, (a,))
    assert p.op is Op.CLEANUP and "ksysmgr -f cleanup site customerA" in p.reason and "or recover" in p.reason
    planned = plan(p.op, a, force=True)
    assert planned.command == "ksysmgr -f -t cleanup site customerA" and preconditions(planned.op, a, NOW) == []


@pytest.mark.parametrize("event, resource, op, words", [
    ("STG_UNREACHABLE", "salocal_A", None, "storage agent salocal_A is unreachable"),
    ("HMC_UNREACHABLE", "hmc-pbrazos", None, "the VMs keep running"),
    ("REPLICATION_FAILURE", None, Op.RESYNC, "resync"),
    ("DRTEST_FAILED", None, Op.DR_TEST_CLEANUP, "cleanup"),
    ("SOMETHING_NEW", None, None, "no recovery operation is known for SOMETHING_NEW"),
])
def test_other_alerts_propose_what_the_reference_supports_or_say_why_nothing(event, resource, op, words):
    # issue 11: only HOST_FAILURE triggered a proposal at all
    a, b = fleet()
    p = propose(event, resource, a, (a, b))
    assert p.op is op and words in p.reason


def test_an_unreachable_recovery_site_hmc_costs_every_tenant_its_protection():
    a, b = fleet()
    p = propose("HMC_UNREACHABLE", "vmhmc6", a, (a, b))
    assert p.op is None and p.lost_protection == ("customerA", "customerB") and "snorlax" in p.reason


def test_a_rehearsal_left_failed_calls_for_its_cleanup():
    a = node("r7r3m116", "customerA", "pbrazos", dr_test="ACTIVE_FAILED")
    assert propose("DRTEST_FAILED", None, a).op is Op.DR_TEST_CLEANUP


def test_no_snapshot_no_judgement():
    assert propose("HOST_FAILURE", "pbrazos", None).op is None


def test_only_a_console_that_could_queue_it_offers_it():
    move = Proposal(Op.MOVE_UNPLANNED, "why")
    assert offer(move, readonly=False, can_submit=True) is Op.MOVE_UNPLANNED
    assert offer(move, readonly=True, can_submit=True) is None
    assert offer(move, readonly=False, can_submit=False) is None


def test_acting_on_an_alert_without_a_judged_recovery_verifies_never_moves():
    assert proposed_recovery("HOST_FAILURE") is Op.MOVE_UNPLANNED  # the record's state-free proposal
    assert act_on_alert("HOST_FAILURE") is Op.VERIFY
    assert act_on_alert("STG_UNREACHABLE") is Op.VERIFY
