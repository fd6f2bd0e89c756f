"""The console's picture of the fleet: keyed change sets, scoping, aging."""

from datetime import UTC, datetime, timedelta

from ksystui.core.fleet_view import FleetView
from ksystui.core.model import Flavour, KsysEvent, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section, event_identity
from ksystui.core.tenants import TenantInfo
from ksystui.core.viewdefs import VIEWS

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

# the VMs view also shows the DR Automation service's columns after AGE
VM_AGE = [c.key for c in VIEWS["vms"].columns].index("age")


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def snap(node, tenant, vms, at=T0, events=()):
    return NodeSnapshot(node, tenant, Flavour.ONPREM, 10, {
        "vm": Section("vm", tuple(Vm(n, state=s) for n, s in vms), at),
        "event": Section("event", tuple(events), at),
    }, NodeHealth(last_success=at))


TENANTS = [TenantInfo("customerA", 1, "gold", ("a",)), TenantInfo("customerB", 2, "silver", ("b",))]


def test_one_vm_changing_state_changes_one_row():
    clock = Clock()
    fv = FleetView(TENANTS, clock=clock)
    fv.update(snap("a", "customerA", [("v1", "READY_TO_MOVE"), ("v2", "READY_TO_MOVE")]))
    clock.now = T0 + timedelta(seconds=5)
    ch = fv.update(snap("a", "customerA", [("v1", "MOVING"), ("v2", "READY_TO_MOVE")], at=clock.now))
    assert [r.key for r in ch["vms"].upsert] == [("vm", "a", "v1")]
    assert ch["vms"].remove == []
    assert fv.changed_at[("vm", "a", "v1")] == clock.now


def test_vanished_vm_is_removed_and_other_nodes_untouched():
    fv = FleetView(TENANTS, clock=Clock())
    fv.update(snap("a", "customerA", [("v1", "INIT"), ("v2", "INIT")]))
    fv.update(snap("b", "customerB", [("w1", "INIT")]))
    ch = fv.update(snap("a", "customerA", [("v1", "INIT")]))
    assert ch["vms"].remove == [("vm", "a", "v2")]
    assert ("vm", "b", "w1") in fv.rows["vms"]


def test_scope_hides_other_tenants_rows_but_counts_stay_possible():
    fv = FleetView(TENANTS, scope="customerA", clock=Clock())
    fv.update(snap("a", "customerA", [("v1", "INIT")]))
    ch = fv.update(snap("b", "customerB", [("w1", "INIT")]))
    assert "vms" not in ch
    assert all(r.tenant == "customerA" for view in fv.rows.values() for r in view.values())
    assert [n for n, *_ in fv.node_states()] == ["a"]
    fv.set_scope(None)
    assert ("vm", "b", "w1") in fv.rows["vms"]


def test_rows_go_stale_as_time_passes_without_a_new_snapshot():
    clock = Clock()
    fv = FleetView(TENANTS, clock=clock)
    fv.update(snap("a", "customerA", [("v1", "INIT")]))
    assert fv.rows["vms"][("vm", "a", "v1")].style is None
    clock.now = T0 + timedelta(seconds=31)
    ch = fv.tick()
    assert ch["vms"].upsert[0].style == "stale"
    clock.now = T0 + timedelta(seconds=95)
    ch = fv.tick()  # a stale row's age moves on
    assert ch["vms"].upsert[0].cells[VM_AGE] == "1m35s"


def test_a_node_nobody_reads_stops_reading_live_before_it_goes_stale():
    """Why: "AGE reads "live" for up to ~30 s with no successful read": with no
    read for 20 s (two 10 s intervals, still fresh), every AGE the console
    shows says 20s."""
    clock = Clock()
    fv = FleetView(TENANTS, clock=clock)
    fv.update(snap("a", "customerA", [("v1", "INIT")]))
    assert fv.rows["vms"][("vm", "a", "v1")].cells[VM_AGE] == "live"
    assert fv.tick() == {}  # live rows are left alone
    clock.now = T0 + timedelta(seconds=20)
    ch = fv.tick()
    assert ch["vms"].upsert[0].cells[VM_AGE] == "20s" and ch["vms"].upsert[0].style is None
    assert fv.rows["overview"][("overview", "a")].cells[5] == "20s"


def record(node, tenant, ev, alert_id=1, acked_by=None):
    from ksystui.core.alerts import AlertRecord, alerts_for

    (a,) = alerts_for(node, tenant, [ev])
    return AlertRecord(alert_id, a.identity, a.tenant, a.node, a.event, a.event_id, a.event_time, a.description,
                       a.resource, a.proposal, T0, acked_by, T0 if acked_by else None, "seen" if acked_by else None)


def test_the_shared_alert_records_drive_the_counts_the_alerts_view_and_the_events_ack():
    ev = KsysEvent("HOST_FAILURE", "error", "x", "2026-11-23T03:00:00Z", "pbrazos", "1")
    fv = FleetView(TENANTS, clock=Clock())
    fv.update(snap("a", "customerA", [], events=[ev]))
    ident = event_identity("a", ev)
    assert fv.open_critical() == {} and fv.rows["events"][("event", ident)].style == "alert"  # no record yet
    ch = fv.set_alerts([record("a", "customerA", ev)])
    assert fv.open_critical() == {"a": 1}
    assert [r.key for r in ch["alerts"].upsert] == [("alert", ident)] and ch["overview"].upsert
    ch = fv.set_alerts([record("a", "customerA", ev, acked_by="bob@noc2/c2")])
    assert fv.open_critical() == {}
    assert fv.rows["events"][("event", ident)].style is None
    assert fv.rows["events"][("event", ident)].cells[-1] == "bob@noc2/c2"
    (row,) = ch["alerts"].upsert
    assert row.style is None and row.cells[7] == "bob@noc2/c2" and row.cells[9] == "seen"
    assert fv.alert(ident) is not None and fv.alert("a:nothing") is None
    fv.set_scope("customerB")
    assert fv.rows_of("alerts") == [] and fv.open_critical() == {}


def test_a_new_per_node_view_needs_only_its_registry_entry():
    """The picture keeps whatever per-node views the registry lists: a view
    added there is diffed and scoped like the others with no change here."""
    from ksystui.core.viewdefs import VIEW_DEFS, PerNode, ViewDef, text
    from ksystui.core.views import ViewRow

    def names(s, _ctx):
        return [ViewRow(("name", s.node, v.name), (s.tenant, v.name), None, s.tenant, s.node, v) for v in s.vms]

    extra = ViewDef("names", "Names", (text("tenant", "TENANT"), text("vm", "VM")), PerNode(names))
    fv = FleetView(TENANTS, scope="customerA", clock=Clock(), views=(*VIEW_DEFS, extra))
    fv.update(snap("a", "customerA", [("v1", "INIT"), ("v2", "INIT")]))
    fv.update(snap("b", "customerB", [("w1", "INIT")]))
    assert [r.cells for r in fv.rows_of("names")] == [("customerA", "v1"), ("customerA", "v2")]
    ch = fv.update(snap("a", "customerA", [("v1", "INIT")]))
    assert ch["names"].remove == [("name", "a", "v2")]
