"""The VM lifecycle table that the simulator and the arbiter share."""

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksystui.core import lifecycle
from ksystui.core.lifecycle import Op, Stage
from ksystui.core.model import DR_TEST_STATES, VM_STATES, Flavour
from ksystui.core.schedule import next_daily_run, parse_hhmm


def test_every_state_named_by_the_table_is_a_known_state():
    for op in Op:
        assert lifecycle.ALLOWED_FROM[op] <= VM_STATES
        for table in (lifecycle.TRANSIENT, lifecycle.SUCCESS, lifecycle.FAILURE):
            assert table[op] is None or table[op] in VM_STATES
    for v in [*lifecycle.DR_TEST_SUCCESS.values(), *lifecycle.DR_TEST_FAILURE.values()]:
        assert v in DR_TEST_STATES
    for target in [*lifecycle.FAILURE_AT.values(), *lifecycle.FLAVOUR_SUCCESS.values()]:
        assert target is None or target in VM_STATES
    for dr_target in [*lifecycle.DR_TEST_TRANSIENT.values(), *lifecycle.DR_TEST_FAILURE_AT.values()]:
        assert dr_target is None or dr_target in DR_TEST_STATES
    assert {lifecycle.MANAGED, lifecycle.UNMANAGED, lifecycle.HOST_DOWN, lifecycle.HOST_BACK} <= VM_STATES
    assert lifecycle.DR_TEST_INITIAL in DR_TEST_STATES


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


@given(st.sampled_from(sorted(VM_STATES)), st.sampled_from(list(Op)), st.booleans(), st.sampled_from(list(Stage)),
       st.sampled_from(list(Flavour)))
def test_every_outcome_lands_in_a_known_state(state, op, ok, stage, flavour):
    assert lifecycle.transient_state(op, state) in VM_STATES
    assert lifecycle.state_after(op, state, ok, flavour=flavour, stage=stage) in VM_STATES


def test_what_an_operator_watching_query_vm_sees_mid_operation():
    assert lifecycle.transient_state(Op.DISCOVER, "INIT") == "DISCOVERING"
    assert lifecycle.transient_state(Op.MOVE_UNPLANNED, "DOWN") == "MOVING"
    assert lifecycle.transient_state(Op.DR_TEST, "READY_TO_MOVE") == "READY_TO_MOVE"  # production keeps running
    assert lifecycle.dr_test_transient_state(Op.DR_TEST, "INIT") == "ACTIVE"
    assert lifecycle.dr_test_transient_state(Op.DR_TEST_CLEANUP, "ACTIVE_COMPLETED") == "ACTIVE_COMPLETED"


def test_on_powervs_discovery_makes_a_vm_ready_to_move():
    assert lifecycle.state_after(Op.DISCOVER, "INIT", ok=True, flavour=Flavour.POWERVS) == "READY_TO_MOVE"
    assert lifecycle.state_after(Op.DISCOVER, "INIT", ok=True, flavour=Flavour.ONPREM) == "DISCOVERED"
    assert lifecycle.state_after(Op.DISCOVER, "INIT", ok=False, flavour=Flavour.POWERVS) == "DISCOVERY_FAILED"


def test_a_move_leaves_a_state_per_stage_it_failed_at():
    after = lambda op, stage, state="MOVING": lifecycle.state_after(op, state, ok=False, stage=stage)  # noqa: E731
    assert after(Op.MOVE_PLANNED, Stage.SHUTDOWN) == "SHUTDOWN_FAILED"
    assert after(Op.MOVE_PLANNED, Stage.ROLLED_BACK, "READY_TO_MOVE") == "READY_TO_MOVE"  # restarted where it was
    assert after(Op.MOVE_PLANNED, Stage.REVERSAL) == after(Op.MOVE_UNPLANNED, Stage.REVERSAL) == "MOVE_FAILED"
    assert after(Op.MOVE_UNPLANNED, Stage.CONTENDED) == "MOVE_FAILED"
    assert after(Op.MOVE_PLANNED, Stage.WORK) == "RESTART_FAILED"  # it could not boot on the other site
    # a stage that means nothing special for an operation is its plain failure
    assert after(Op.VERIFY, Stage.CONTENDED, "READY_TO_MOVE") == "VERIFY_FAILED"


def test_a_contended_rehearsal_fails_but_a_contended_cleanup_leaves_it_as_it_was():
    assert lifecycle.dr_test_state_after(Op.DR_TEST, "INIT", ok=False, stage=Stage.CONTENDED) == "ACTIVE_FAILED"
    assert lifecycle.dr_test_state_after(
        Op.DR_TEST_CLEANUP, "ACTIVE_COMPLETED", ok=False, stage=Stage.CONTENDED) == "ACTIVE_COMPLETED"
    assert lifecycle.dr_test_state_after(Op.DR_TEST_CLEANUP, "ACTIVE_COMPLETED", ok=False) == "DRTESTCLEANUP_FAILED"
    assert lifecycle.dr_test_state_after(Op.VERIFY, "ACTIVE", ok=False) == "ACTIVE"


def test_a_site_move_swaps_the_sites_and_an_unplanned_one_leaves_cleanup():
    active, backup = lifecycle.ACTIVE_SITE, lifecycle.BACKUP_SITE
    assert lifecycle.site_types_after(Op.MOVE_PLANNED, active, backup) == (backup, active)
    assert lifecycle.site_types_after(Op.MOVE_UNPLANNED, active, backup) == (backup, active)
    assert lifecycle.site_types_after(Op.DR_TEST, active, backup) == (active, backup)
    assert {op for op in Op if lifecycle.leaves_cleanup(op)} == {Op.MOVE_UNPLANNED}


def test_next_daily_run():
    now = datetime(2026, 11, 23, 10, 30)
    assert next_daily_run(now, "11:00") == datetime(2026, 11, 23, 11, 0)
    assert next_daily_run(now, "10:30") == datetime(2026, 11, 24, 10, 30)
    assert next_daily_run(now, "00:00") == datetime(2026, 11, 24, 0, 0)
    with pytest.raises(ValueError):
        parse_hhmm("7:5")
