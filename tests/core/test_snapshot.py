"""Freshness, poll order, event identity and shared recovery hosts."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.model import Flavour, Host, KsysEvent, Site
from ksystui.core.snapshot import (
    Freshness,
    NodeHealth,
    NodeSnapshot,
    Section,
    event_identity,
    judge_freshness,
    recovery_hosts,
)

T0 = datetime(2026, 11, 23, 3, 0, 0)


def test_fresh_until_three_intervals_then_stale():
    h = NodeHealth(last_success=T0)
    assert judge_freshness(T0 + timedelta(seconds=29), T0, 10, h) is Freshness.FRESH
    assert judge_freshness(T0 + timedelta(seconds=30), T0, 10, h) is Freshness.FRESH
    assert judge_freshness(T0 + timedelta(seconds=31), T0, 10, h) is Freshness.STALE
    assert judge_freshness(T0, None, 10, NodeHealth()) is Freshness.UNKNOWN


def test_unreachable_as_soon_as_the_node_cannot_be_reached():
    h = NodeHealth(last_success=T0, consecutive_failures=1, error_kind="unreachable", last_error="refused")
    assert judge_freshness(T0 + timedelta(seconds=1), T0, 10, h) is Freshness.UNREACHABLE
    # a command that fails on a reachable node does not make the node unreachable
    h = NodeHealth(last_success=T0, consecutive_failures=1, error_kind="command_failed")
    assert judge_freshness(T0 + timedelta(seconds=1), T0, 10, h) is Freshness.FRESH


def test_per_kind_freshness():
    snap = NodeSnapshot(
        "n", "t", Flavour.ONPREM, 10,
        sections={"vm": Section("vm", (), T0 + timedelta(seconds=50)), "disk_group": Section("disk_group", (), T0)},
        health=NodeHealth(last_success=T0 + timedelta(seconds=50)),
    )
    now = T0 + timedelta(seconds=55)
    assert snap.freshness(now, "vm") is Freshness.FRESH
    assert snap.freshness(now, "disk_group") is Freshness.STALE
    assert snap.freshness(now, "event") is Freshness.UNKNOWN


@given(st.integers(0, 50), st.integers(0, 50))
def test_a_snapshot_supersedes_only_what_is_not_newer(a, b):
    first = NodeSnapshot("n", "t", Flavour.ONPREM, 10, sequence=a)
    second = NodeSnapshot("n", "t", Flavour.ONPREM, 10, sequence=b)
    assert second.supersedes(first) == (b >= a)
    assert second.supersedes(None)


def test_event_identity_prefers_the_node_id_and_is_stable_without_one():
    a = KsysEvent("HOST_FAILURE", "error", "x", "2026-11-23T01:00:00Z", "pbrazos")
    assert event_identity("n1", a) == event_identity("n1", a)
    assert event_identity("n1", a) != event_identity("n2", a)
    assert event_identity("n1", KsysEvent("X", event_id="42")) == "n1:42@"
    # a restarted node re-using an id at another time is another event
    assert event_identity("n1", KsysEvent("X", event_id="42", time="2026-11-30T10:00:00Z")) == \
        "n1:42@2026-11-30T10:00:00Z"


def _snap(node, tenant, prod, uuid, recovery="snorlax"):
    return NodeSnapshot(
        node, tenant, Flavour.ONPREM, 10,
        sections={
            "site": Section("site", (Site(tenant, "ACTIVE"), Site("service_provider", "BACKUP")), T0),
            "host": Section("host", (
                Host(prod, uuid=f"u-{prod}", site=tenant, pair=recovery),
                Host(recovery, uuid=uuid, site="service_provider", pair=prod),
            ), T0),
        },
    )


def test_shared_recovery_hosts_by_uuid_even_if_named_differently():
    hosts = recovery_hosts([
        _snap("r7r3m116", "customerA", "pbrazos", "U-SNORLAX"),
        _snap("r7r3m108", "customerB", "raichu", "U-SNORLAX", recovery="snorlax-b"),
        _snap("x", "customerC", "pikachu", "U-OTHER", recovery="other"),
    ])
    shared = hosts["U-SNORLAX"]
    assert shared.shared and shared.tenants == ("customerA", "customerB")
    assert shared.names == ("snorlax", "snorlax-b")
    assert not hosts["U-OTHER"].shared
    assert "u-pbrazos" not in hosts  # production hosts are not recovery hosts


def test_an_unknown_host_key_counts_as_unreachable_like_a_mismatch():
    for kind in ("host_key_unknown", "host_key_mismatch"):
        h = NodeHealth(last_success=T0, consecutive_failures=1, error_kind=kind)
        assert judge_freshness(T0 + timedelta(seconds=1), T0, 10, h) is Freshness.UNREACHABLE
