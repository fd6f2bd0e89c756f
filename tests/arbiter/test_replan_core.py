"""The re-planning rule, pure: a queued request is sent only if the node's
state now plans it exactly as it was queued."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site, Vm
from ksystui.core.operations import plan
from ksystui.core.replan import Queued, pending_rehearsal, rehearsal_blocks, replan
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

SNORLAX = "uuid-snorlax"


def node(active: str = "customerA", dr_test: str = "INIT", hosts: tuple[Host, ...] | None = None) -> NodeSnapshot:
    now = datetime.now(UTC)
    backup = "service_provider" if active == "customerA" else "customerA"
    hosts = hosts or (Host("pbrazos", uuid="uuid-pbrazos", site="customerA", pair="snorlax"),
                      Host("snorlax", uuid=SNORLAX, site="service_provider", pair="pbrazos"))
    return NodeSnapshot("r7r3m116", "customerA", Flavour.ONPREM, 60, {
        "vm": Section("vm", (Vm("cA_db", state="READY_TO_MOVE", dr_test_state=dr_test, host="pbrazos"),), now),
        "site": Section("site", (Site(active, "ACTIVE"), Site(backup, "BACKUP")), now),
        "host": Section("host", hosts, now),
    }, NodeHealth(last_success=now))


def queued(op: Op, snap: NodeSnapshot) -> Queued:
    p = plan(op, snap, force=True)
    return Queued(p.op, p.site, p.to_site, p.argv, p.recovery_hosts, p.on_recovery_hosts, True)


def test_a_request_planned_on_the_same_state_is_sent_as_queued():
    q = queued(Op.VERIFY, node())
    verdict = replan(q, node())
    assert verdict.applies and verdict.planned is not None and verdict.planned.argv == q.argv


def test_a_verify_planned_before_a_move_no_longer_applies_once_the_sites_flipped():
    verdict = replan(queued(Op.VERIFY, node()), node(active="service_provider"))
    assert not verdict.applies
    assert "planned for site customerA" in verdict.refusal and "service_provider" in verdict.refusal


def test_a_request_that_would_touch_a_host_it_did_not_claim_is_refused():
    q = queued(Op.VERIFY, node())
    moved = (Host("pbrazos", uuid="uuid-pbrazos", site="customerA", pair="raichu"),
             Host("raichu", uuid="uuid-raichu", site="service_provider", pair="pbrazos"))
    verdict = replan(q, node(hosts=moved))
    assert not verdict.applies and "raichu" in verdict.refusal and "did not claim" in verdict.refusal


def test_a_changed_command_line_is_refused_showing_both():
    q = queued(Op.VERIFY, node())
    verdict = replan(replace(q, argv=("ksysmgr", "verify", "site", "customerA")), node())
    assert not verdict.applies and "`ksysmgr verify site customerA`" in verdict.refusal


def test_a_planned_move_is_held_back_while_the_rehearsal_awaits_its_cleanup():
    """Issue 16, "A rehearsal overtaken" — at dispatch too: a move queued
    before the DR test ran finds the rehearsal not cleaned up."""
    q = queued(Op.MOVE_PLANNED, node())
    for state in ("ACTIVE", "ACTIVE_COMPLETED", "ACTIVE_FAILED", "DRTESTCLEANUP_FAILED"):
        verdict = replan(q, node(dr_test=state))
        assert not verdict.applies and state in verdict.refusal and "cleanup" in verdict.refusal
    assert replan(q, node(dr_test="DRTESTCLEANUP_COMPLETED")).applies
    # an unplanned move (production is gone) is never held back by a drill; INFERRED
    assert rehearsal_blocks(Op.MOVE_UNPLANNED, node(dr_test="ACTIVE_COMPLETED")) is None
    assert pending_rehearsal(node()) is None


def test_a_node_wide_setting_is_sent_as_it_was_written():
    q = Queued(Op.CONFIGURE, None, None, ("ksysmgr", "modify", "system", "auto_discovery_time=02:00"), (), False,
               True)
    verdict = replan(q, node(active="service_provider"))
    assert verdict.applies
