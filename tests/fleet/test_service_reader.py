"""Issue 15, deliverable 1: the DR Automation service (REST) read for what it
offers: managed VMs, events incrementally (from_time/to_time), service-instance
status; merged with SSH data, each value's source visible; the service down
shows on the node while its SSH data stays fresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ksystui.core.model import REST_SOURCE, Flavour, KsysEvent, Vm
from ksystui.core.snapshot import BOTH_SOURCES, Freshness, NodeSnapshot, Section
from ksystui.core.sources import vm_detail_pairs
from ksystui.core.viewdefs import VIEWS, NodeRowContext
from ksystui.core.views import node_rows
from ksystui.fleet.connect import close_fleet
from ksystui.fleet.service_reader import ServiceReader
from ksystui.transport.errors import HttpError

from .test_faults import started, wait_for

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def raw_event(n: int, when: datetime, **more) -> dict:
    return {"event_id": f"ev-{n}", "level": "info", "action": "update", "resource": "Orchestrator",
            "message": f"event {n}", "time": when.isoformat().replace("+00:00", "Z"),
            "timestamp": str(int(when.timestamp())), **more}


class FakeService:
    """The service API with a history of events and a record of each events call."""

    def __init__(self) -> None:
        self.history: list[dict] = [raw_event(1, T0), raw_event(2, T0 + timedelta(minutes=1))]
        self.calls: list[tuple[datetime | None, datetime | None]] = []
        self.fail: Exception | None = None

    async def get_summary(self) -> dict:
        if self.fail:
            raise self.fail
        return {
            "managed_vm_list": {"x": {}},
            "orchestrator_details": {"orchestrator_status": "ACTIVE", "orchestrator_password": "CANARY-PW"},
            "service_details": {"status": "active", "orchestrator_ha": True, "client_secret": "CANARY-CS"},
        }

    async def get_managed_vms(self) -> dict:
        return {"managed_vm_list": {"pvm-1": {"vm_name": "vm1", "core": 0.5, "memory": 4, "dr_average_time": 420,
                                              "region": "dal12", "dr_region": "wdc06",
                                              "workgroup_name": "vm1_WG", "workspace_name": "ws-dal12"}}}

    async def get_last_operation(self) -> dict:
        return {"status": "active", "primary_orchestrator_status": "ACTIVE", "standby_status": "Failed",
                "orchestrator_ha": True, "orchestrator_config_status": "KSYS-DISCOVERY-SUCCESS"}

    async def get_events(self, from_time=None, to_time=None) -> list[dict]:
        self.calls.append((from_time, to_time))
        return [e for e in self.history
                if (from_time is None or datetime.fromisoformat(e["time"].replace("Z", "+00:00")) >= from_time)]


async def test_events_are_read_incrementally_from_the_newest_seen():
    api = FakeService()
    reader = ServiceReader(api)
    await reader.read()
    first_from, first_to = api.calls[0]
    assert first_to is not None and first_from is not None
    assert timedelta(hours=23) < first_to - first_from <= timedelta(days=1)  # the first read looks back a day
    api.history.append(raw_event(3, T0 + timedelta(minutes=5)))
    await reader.read()
    # the second read asks only from the newest event it had seen (inclusive: no gap)
    assert api.calls[1][0] == T0 + timedelta(minutes=1)
    events = reader.sections["rest_event"].items
    assert [e.event_id for e in events] == ["ev-1", "ev-2", "ev-3"]  # the overlap is not doubled
    assert all(e.source == REST_SOURCE for e in events)


async def test_managed_vms_and_service_status_keep_only_named_fields():
    reader = ServiceReader(FakeService())
    await reader.read()
    (vm,) = reader.sections["rest_vm"].items
    assert (vm.vm_name, vm.core, vm.memory, vm.dr_average_time, vm.region, vm.workgroup) == (
        "vm1", "0.5", "4", "420", "dal12", "vm1_WG")
    (status,) = reader.sections["rest_status"].items
    assert (status.status, status.primary_status, status.standby_status, status.orchestrator_ha) == (
        "active", "ACTIVE", "Failed", True)
    assert "CANARY" not in repr(reader.sections)  # deployment credentials are never kept


async def test_a_failed_read_keeps_the_last_answers_with_the_reason():
    api = FakeService()
    reader = ServiceReader(api)
    await reader.read()
    api.fail = HttpError("n1", "GET /drautomation/v1/dr_summary/x: HTTP 500", status=500)
    await reader.read()
    assert reader.error_kind == "service_http_error"
    for kind in ("service", "rest_vm", "rest_status", "rest_event"):
        section = reader.sections[kind]
        assert section.items and "HTTP 500" in (section.error or "")


def test_ssh_and_rest_events_merge_by_event_id_with_their_source():
    ssh = (KsysEvent("MOVE_FAILED", "error", event_id="e1", time="2026-11-30T09:00:00Z", resource="vm1"),)
    rest = (KsysEvent("MOVE_FAILED", "error", event_id="e1", source=REST_SOURCE),
            KsysEvent("ORCHESTRATOR_UPDATE", "info", event_id="b7", source=REST_SOURCE))
    snap = NodeSnapshot("n1", "t", Flavour.POWERVS, 10,
                        {"event": Section("event", ssh), "rest_event": Section("rest_event", rest)})
    assert [(e.event_id, e.source) for e in snap.events] == [("e1", BOTH_SOURCES), ("b7", REST_SOURCE)]


# --- against the simulator: the acceptance of issue 15 ---------------------------------------
POWERVS = "ksysorch-dal12"


async def test_powervs_vms_view_shows_dr_average_time_and_rest_events(served, world, config):
    node = world.nodes[POWERVS]
    vm_name = sorted(node.state.vms)[0]
    node.state.add_event("VM_BOOTUP_FAILED", vm_name)
    fleet, _log = await started(config)
    try:
        await wait_for(lambda: fleet.snapshots[POWERVS].managed_vms and fleet.snapshots[POWERVS].items("rest_event"),
                       15)
        snap = fleet.snapshots[POWERVS]
        now = datetime.now(UTC)
        view = VIEWS["vms"]
        rows = view.source.build(snap, NodeRowContext(now, {}, {}))
        cols = [c.key for c in view.columns]
        row = next(r for r in rows if r.key[2] == vm_name)
        cells = dict(zip(cols, row.cells, strict=True))
        assert cells["dravg"] == "7m00s"  # dr_average_time 420 s, from the service
        assert cells["event"] == "VM_BOOTUP_FAILED (SSH+REST)"
        detail = dict(view.drill(row).pairs)
        assert detail["REST · dr_average_time"] == "420" and detail["SSH · state"] == row.data.vm.state
        # the broker's own events reach the events view, marked as read from the service
        events = VIEWS["events"].source.build(snap, NodeRowContext(now, {}, {}))
        broker = [r for r in events if r.data.source == REST_SOURCE]
        assert any("Service has deployed." in r.cells for r in broker)
        # the tenant view: service instance and system attributes
        tenant = VIEWS["tenant"].source.build(fleet.snapshots, "customerC")
        kinds = {r.cells[0] for r in tenant}
        assert {"service", "system", "report"} <= kinds
    finally:
        await close_fleet(fleet)


async def test_rest_error_shows_in_the_nodes_view_while_ssh_stays_fresh(served, world, config):
    fleet, _log = await started(config)
    try:
        await wait_for(lambda: fleet.snapshots[POWERVS].managed_vms, 15)
        world.faults.inject("rest_error", POWERVS, status=503)
        await wait_for(lambda: "HTTP 503" in (fleet.snapshots[POWERVS].health.last_error or ""), 20)
        now = datetime.now(UTC)
        (row,) = [r for r in node_rows(fleet.snapshots, now) if r.node == POWERVS]
        cols = [c.key for c in VIEWS["nodes"].columns]
        cells = dict(zip(cols, row.cells, strict=True))
        assert cells["conn"] == Freshness.FRESH.value and "DR Automation service" in cells["error"]
        snap = fleet.snapshots[POWERVS]
        assert snap.freshness(now, "vm") is Freshness.FRESH
        assert snap.managed_vms  # the service's last answer is kept, with the reason it is not newer
        assert "HTTP 503" in (snap.sections["rest_vm"].error or "")
    finally:
        await close_fleet(fleet)


def test_vm_detail_names_the_source_of_each_value():
    pairs = dict(vm_detail_pairs(Vm("vm1", state="INIT")))
    assert pairs == {"SSH · name": "vm1", "SSH · state": "INIT"}


async def test_a_snapshot_with_the_service_sections_is_stored_and_read_back_exactly():
    from ksystui.store.codec import dump_snapshot, load_snapshot

    reader = ServiceReader(FakeService())
    await reader.read()
    snap = NodeSnapshot("n1", "t", Flavour.POWERVS, 10, dict(reader.sections))
    again = load_snapshot(dump_snapshot(snap))
    assert again == snap
    assert again.managed_vms[0].dr_average_time == "420" and again.service_status.standby_status == "Failed"
    assert all(e.source == REST_SOURCE for e in again.events)
