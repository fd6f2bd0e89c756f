"""The rules behind `ksystui schedule`: how long a node's daily automatic
run takes, which recovery hosts each node uses, and the operation that sets
its time (pure)."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site
from ksystui.core.planning import (
    UNKNOWN_WINDOW_SECONDS,
    NodeWindow,
    auto_discovery_seconds,
    schedule_change,
    shared_hosts_by_node,
)
from ksystui.core.schedule import plan_from_system
from ksystui.core.snapshot import NodeSnapshot, Section

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def plan_auto_discovery(durations, shares, **kw):
    """The windows planned for nodes whose ``query system`` was not read."""
    return list(plan_from_system(durations, shares, {}, **kw).windows)


def test_a_daily_run_is_the_latest_discovery_plus_the_latest_verification():
    assert auto_discovery_seconds([600, 700], [300, 400]) == 1100  # newest last
    assert auto_discovery_seconds([], [300, 400]) == 400  # never seen discovering: counts nothing
    assert auto_discovery_seconds([600], []) == 600  # PowerVS: no verify
    assert auto_discovery_seconds([], []) == UNKNOWN_WINDOW_SECONDS == 1800


@given(st.lists(st.floats(1, 1e5), max_size=5), st.lists(st.floats(1, 1e5), max_size=5))
def test_the_window_never_shrinks_below_what_was_last_seen(discover, verify):
    seconds = auto_discovery_seconds(discover, verify)
    assert seconds > 0
    for runs in (discover, verify):
        if runs:
            assert seconds >= runs[-1]


def _snap(node, tenant, prod, recovery_uuid, recovery="snorlax"):
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 10, sections={
        "site": Section("site", (Site(tenant, "ACTIVE"), Site("service_provider", "BACKUP")), T0),
        "host": Section("host", (Host(prod, uuid=f"u-{prod}", site=tenant, pair=recovery),
                                 Host(recovery, uuid=recovery_uuid, site="service_provider", pair=prod)), T0),
    })


def test_shared_hosts_by_node_names_every_node_even_one_sharing_nothing():
    snaps = [_snap("n1", "A", "pikachu", "u-snorlax"), _snap("n2", "B", "raichu", "u-snorlax"),
             NodeSnapshot("n3", "C", Flavour.POWERVS, 10)]
    assert shared_hosts_by_node(snaps) == {"n1": frozenset({"u-snorlax"}), "n2": frozenset({"u-snorlax"}),
                                           "n3": frozenset()}
    plan = {w.node: w for w in plan_auto_discovery({"n1": 1200, "n2": 1200, "n3": 1200},
                                                    shared_hosts_by_node(snaps))}
    assert not plan["n1"].overlaps(plan["n2"]) and plan["n3"].start_minute == 0


def test_a_schedule_change_is_a_configure_operation_on_the_node_alone():
    planned = schedule_change(NodeWindow("r7r3m116", 95, 35), "customerA")
    assert (planned.op, planned.node, planned.tenant) == (Op.CONFIGURE, "r7r3m116", "customerA")
    assert planned.command == "ksysmgr modify system auto_discovery_time=01:35"
    assert planned.recovery_hosts == () and planned.to_site is None
