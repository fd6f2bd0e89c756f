"""The VM lifecycle table that the simulator and the arbiter share."""

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksystui.core import lifecycle
from ksystui.core.lifecycle import Op
from ksystui.core.model import DR_TEST_STATES, VM_STATES
from ksystui.core.schedule import next_daily_run, parse_hhmm


def test_every_state_named_by_the_table_is_a_known_state():
    for op in Op:
        assert lifecycle.ALLOWED_FROM[op] <= VM_STATES
        for table in (lifecycle.TRANSIENT, lifecycle.SUCCESS, lifecycle.FAILURE):
            assert table[op] is None or table[op] in VM_STATES
    for v in [*lifecycle.DR_TEST_SUCCESS.values(), *lifecycle.DR_TEST_FAILURE.values()]:
        assert v in DR_TEST_STATES


def test_the_seed_article_sequence():
    # discovery, then verification make a VM READY_TO_MOVE; a planned move needs it
    s = "INIT"
    assert lifecycle.refusal(Op.MOVE_PLANNED, "vm", s) is not None
    s = lifecycle.state_after(Op.DISCOVER, s, ok=True)
    assert s == "DISCOVERED"
    assert lifecycle.refusal(Op.MOVE_PLANNED, "vm", s) is not None
    s = lifecycle.state_after(Op.VERIFY, s, ok=True)
    assert s == "READY_TO_MOVE"
    assert lifecycle.refusal(Op.MOVE_PLANNED, "vm", s) is None
    assert lifecycle.state_after(Op.MOVE_PLANNED, s, ok=True) == "MOVED"


def test_refusal_explains_itself():
    r = lifecycle.refusal(Op.MOVE_PLANNED, "cA_oradb01", "VERIFY_FAILED")
    assert r is not None and "cA_oradb01" in r.reason and "VERIFY_FAILED" in r.reason and "READY_TO_MOVE" in r.reason


def test_dr_test_needs_ready_vm_and_clean_rehearsal_state():
    assert lifecycle.refusal(Op.DR_TEST, "v", "READY_TO_MOVE", "INIT") is None
    assert lifecycle.refusal(Op.DR_TEST, "v", "READY_TO_MOVE", "ACTIVE_COMPLETED") is not None
    assert lifecycle.refusal(Op.DR_TEST, "v", "DISCOVERED", "INIT") is not None
    assert lifecycle.dr_test_state_after(Op.DR_TEST, "INIT", ok=True) == "ACTIVE_COMPLETED"
    assert lifecycle.dr_test_state_after(Op.DR_TEST_CLEANUP, "ACTIVE_COMPLETED", ok=True) == "DRTESTCLEANUP_COMPLETED"


def test_unplanned_move_accepts_vms_whose_host_died():
    assert lifecycle.refusal(Op.MOVE_UNPLANNED, "v", "DOWN") is None
    assert lifecycle.refusal(Op.MOVE_PLANNED, "v", "DOWN") is not None


def test_only_discovery_and_resync_stay_off_the_recovery_host():
    assert {op for op in Op if not lifecycle.touches_recovery_host(op)} == {Op.DISCOVER, Op.RESYNC, Op.CONFIGURE}


@given(st.sampled_from(sorted(VM_STATES)), st.sampled_from(list(Op)), st.booleans())
def test_state_after_always_lands_in_a_known_state(state, op, ok):
    assert lifecycle.state_after(op, state, ok) in VM_STATES


def test_next_daily_run():
    now = datetime(2026, 11, 23, 10, 30)
    assert next_daily_run(now, "11:00") == datetime(2026, 11, 23, 11, 0)
    assert next_daily_run(now, "10:30") == datetime(2026, 11, 24, 10, 30)
    assert next_daily_run(now, "00:00") == datetime(2026, 11, 24, 0, 0)
    with pytest.raises(ValueError):
        parse_hhmm("7:5")
