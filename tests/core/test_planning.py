"""ETAs and staggered daily auto-discovery windows."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.planning import (
    NodeWindow,
    PlanError,
    conflicts,
    estimate_seconds,
)
from ksystui.core.schedule import plan_from_system


def plan_auto_discovery(durations, shares, **kw):
    """The windows planned for nodes whose ``query system`` was not read."""
    return list(plan_from_system(durations, shares, {}, **kw).windows)


def test_estimate_is_the_median_of_recent_runs():
    assert estimate_seconds([60, 62, 3600, 61]) == 61.5
    assert estimate_seconds([], default=300) == 300
    assert estimate_seconds([0, -1]) is None


def test_seed_nodes_sharing_snorlax_get_separate_windows():
    plan = plan_auto_discovery({"r7r3m116": 1200, "r7r3m108": 900, "ksysorch-dal12": 600},
                               {"r7r3m116": ["snorlax"], "r7r3m108": ["snorlax"], "ksysorch-dal12": ["dh"]})
    by = {w.node: w for w in plan}
    assert by["r7r3m116"].hhmm == "00:00" and by["r7r3m116"].minutes == 35
    assert by["r7r3m108"].start_minute >= 35
    assert by["ksysorch-dal12"].hhmm == "00:00"  # shares nothing: may run at the same time
    assert conflicts(plan, {"r7r3m116": ["snorlax"], "r7r3m108": ["snorlax"], "ksysorch-dal12": ["dh"]}) == []


def test_windows_wrap_around_midnight():
    a = NodeWindow("a", 23 * 60 + 50, 30)
    b = NodeWindow("b", 10, 10)
    assert a.overlaps(b) and b.overlaps(a)


def test_too_many_nodes_on_one_host_is_refused_with_a_reason():
    with pytest.raises(PlanError, match="no free"):
        plan_auto_discovery({f"n{i}": 3 * 3600 for i in range(9)}, {f"n{i}": ["h"] for i in range(9)})


@given(st.dictionaries(st.sampled_from([f"n{i}" for i in range(12)]), st.integers(60, 3 * 3600), min_size=1),
       st.data())
def test_plans_never_overlap_on_a_shared_host(durations, data):
    shares = {n: data.draw(st.sets(st.sampled_from(["h1", "h2", "h3"]), max_size=2)) for n in durations}
    try:
        plan = plan_auto_discovery(durations, shares, margin_minutes=10)
    except PlanError:
        return
    assert conflicts(plan, shares) == []
    assert {w.node for w in plan} == set(durations)
