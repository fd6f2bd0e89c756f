"""Planning decides what an operation works on (pure): the command, the
recovery hosts, and whether it claims them — once, here, for every adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ksystui.core.arbitration import (
    Claim,
    Request,
    claims_of,
    ordered,
    ordered_by,
    works_on_recovery_hosts,
)
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site, Vm
from ksystui.core.operations import judge_outcome, plan
from ksystui.core.opstate import OpState
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"


def snap() -> NodeSnapshot:
    secs = {
        "vm": Section("vm", (Vm("cA_oradb01", state="READY_TO_MOVE", host="pbrazos"),), NOW),
        "site": Section("site", (Site("Austin", "ACTIVE"), Site("Dallas", "BACKUP")), NOW),
        "host": Section("host", (Host("pbrazos", uuid="u-pbrazos", site="Austin", pair="snorlax"),
                                 Host("snorlax", uuid=SNORLAX, site="Dallas", pair="pbrazos")), NOW),
    }
    return NodeSnapshot("r7r3m116", "customerA", Flavour.ONPREM, 10, secs, NodeHealth(last_success=NOW))


@pytest.mark.parametrize("op, verify, on_hosts", [
    (Op.VERIFY, False, True),
    (Op.MOVE_PLANNED, False, True),
    (Op.DR_TEST, False, True),
    (Op.DISCOVER, False, False),
    (Op.DISCOVER, True, True),
])
def test_plan_decides_whether_the_operation_claims_the_recovery_host(op, verify, on_hosts):
    planned = plan(op, snap(), force=False, verify=verify)
    assert planned.on_recovery_hosts is on_hosts
    assert ("verify=yes" in planned.argv) is (op is Op.DISCOVER and verify)
    hosts = {Claim("host", SNORLAX)} if on_hosts else set()
    if op is Op.MOVE_PLANNED:  # a move works on both ends: it leaves pbrazos too
        hosts.add(Claim("host", "u-pbrazos"))
    assert planned.claims == frozenset({Claim("node", "r7r3m116"), *hosts})


def test_the_claims_rule_and_its_names_in_the_store():
    assert claims_of("n1", ["h1", "h2"], on_recovery_hosts=False) == {Claim("node", "n1")}
    assert {c.resource for c in claims_of("n1", ["h1"], on_recovery_hosts=True)} == {"node:n1", "host:h1"}
    assert works_on_recovery_hosts(Op.CLEANUP) and not works_on_recovery_hosts(Op.CONFIGURE)
    assert works_on_recovery_hosts(Op.DISCOVER, verify=True) and not works_on_recovery_hosts(Op.DISCOVER)


def test_a_request_claims_what_it_was_planned_to_or_what_its_kind_does():
    by_kind = Request(1, "t", "n1", Op.DISCOVER, 1, 1, frozenset({"h1"}))
    told = Request(2, "t", "n2", Op.DISCOVER, 1, 2, frozenset({"h1"}), on_recovery_hosts=True)
    assert by_kind.claims == {Claim("node", "n1")}
    assert told.claims == {Claim("node", "n2"), Claim("host", "h1")}


def test_ordered_by_puts_any_rows_in_the_arbitration_order():
    reqs = [Request(1, "t", "a", Op.DISCOVER, 1, 1), Request(2, "t", "b", Op.MOVE_UNPLANNED, 3, 2),
            Request(3, "t", "c", Op.VERIFY, 1, 3, raised=1)]
    rows = [(f"row{r.id}", r) for r in reversed(reqs)]
    assert [name for name, _ in ordered_by(rows, lambda row: row[1])] == \
        [f"row{r.id}" for r in ordered(reqs)] == ["row3", "row2", "row1"]


def test_judge_outcome_speaks_in_states():
    started = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert judge_outcome(Op.VERIFY, started, snap(), node_busy=True)[0] is OpState.RUNNING
    assert judge_outcome(Op.VERIFY, started, snap(), node_busy=False)[0] is OpState.IN_DOUBT
