"""Which recovery an alert calls for, and when the console offers it."""

from ksystui.core.lifecycle import Op
from ksystui.core.recovery import act_on_alert, offer_on_alert, proposed_recovery


def test_a_failed_host_calls_for_an_unplanned_move():
    assert proposed_recovery("HOST_FAILURE") is Op.MOVE_UNPLANNED
    assert proposed_recovery("HMC_UNREACHABLE") is None


def test_only_a_console_that_could_queue_it_offers_it():
    assert offer_on_alert("HOST_FAILURE", readonly=False, can_submit=True) is Op.MOVE_UNPLANNED
    assert offer_on_alert("HOST_FAILURE", readonly=True, can_submit=True) is None
    assert offer_on_alert("HOST_FAILURE", readonly=False, can_submit=False) is None
    assert offer_on_alert("HMC_UNREACHABLE", readonly=False, can_submit=True) is None


def test_acting_on_an_alert_without_a_recovery_verifies():
    assert act_on_alert("HOST_FAILURE") is Op.MOVE_UNPLANNED
    assert act_on_alert("STG_UNREACHABLE") is Op.VERIFY
