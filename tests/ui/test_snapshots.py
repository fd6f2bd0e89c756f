"""Snapshot tests of every view on the seed scenario, at 120x40 and 80x24.

Times are pinned (clock, read times, event times, latencies) so the screens
are the same on every run; regenerate with ``pytest --snapshot-update`` after
a deliberate change and review the SVG diff."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from ksystui.arbiter.port import ArbiterPort
from ksystui.core.lifecycle import Op
from ksystui.core.snapshot import NodeHealth, Section
from ksystui.sim.world import SimWorld
from ksystui.store.queue import Actor, NewOp, Queue
from ksystui.store.queue_async import AsyncQueue
from ksystui.ui.app import ControlRoomApp
from ksystui.ui.audit_screen import AuditScreen
from ksystui.ui.operate import QueueScreen

from .conftest import FROZEN, MemoryAlerts, local_fleet, screen_text, tenant_infos, until

SIZES = [(120, 40), (80, 24)]
SNORLAX = "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10"  # the seed's shared recovery host, by CEC UUID


def pinned_fleet(faults=()):
    world = SimWorld.seed(speed=1000)
    for kind, target in faults:
        world.faults.inject(kind, target)
    fleet = local_fleet(world)
    asyncio.run(fleet.refresh_all())
    read = FROZEN - timedelta(seconds=1)
    for name, snap in list(fleet.snapshots.items()):
        sections = {}
        for kind, sec in snap.sections.items():
            items = sec.items
            if kind == "event":
                items = tuple(replace(e, time=f"2026-11-23T02:5{i % 10}:00Z") for i, e in enumerate(items))
            sections[kind] = Section(kind, items, read, sec.error)
        h = snap.health
        down = h.consecutive_failures > 0
        health = NodeHealth(
            last_attempt=read, last_success=None if down else read, last_error=h.last_error,
            error_kind=h.error_kind, consecutive_failures=h.consecutive_failures,
            latency_ms=None if down else 12.0, host_key="verified",
            next_attempt=FROZEN + timedelta(seconds=9),
        )
        fleet.snapshots[name] = replace(snap, sections=sections, health=health)
    return world, fleet


def app_for(faults=(), pinned=None, **kw):
    world, fleet = pinned or pinned_fleet(faults)
    return ControlRoomApp(fleet, tenant_infos(world), start_fleet=False, clock=lambda: FROZEN,
                          tick_seconds=3600, shared=MemoryAlerts(fleet), **kw)


VIEWS = {
    "overview": [],
    "vms": ["1"],
    "replication": ["2"],
    "events": ["3"],
    "hosts": ["4"],
    "nodes": ["5"],
    "tenant": ["enter"],
    "vm-detail": ["1", "enter"],
    "help": ["question_mark"],
    "alerts": ["8"],
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", list(VIEWS))
def test_view(snap_compare, view, size):
    faults = [("host_failure", "raichu")] if view in ("events", "alerts") else []
    assert snap_compare(app_for(faults), terminal_size=size, press=VIEWS[view])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_unreachable_node_banner(snap_compare, size):
    assert snap_compare(app_for([("node_down", "r7r3m108")]), terminal_size=size, press=["1"])


def armed_app_for(db: str, faults=(), **kw) -> ControlRoomApp:
    """A console with an arbiter whose queue and audit trail are pinned too:
    customerA's and customerB's verify wait for snorlax."""
    world, fleet = pinned_fleet(faults)
    queue = Queue.open(f"sqlite:///{db}", clock=lambda: FROZEN)
    actor = Actor("operator", "noc1", "console-1")
    for tenant, node in (("customerA", "r7r3m116"), ("customerB", "r7r3m108")):
        queue.submit(NewOp(tenant=tenant, node=node, op=Op.VERIFY, argv=["ksysmgr", "-t", "verify", "site", tenant],
                           recovery_hosts=(SNORLAX,), host_names=("snorlax",), priority=world.tenants[tenant].priority),
                     actor)
    port = ArbiterPort(AsyncQueue(queue), fleet, actor, {t.name: t.priority for t in world.tenants.values()})
    return app_for(pinned=(world, fleet), arbiter=port, **kw)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key,screen,note", [pytest.param("6", QueueScreen, "in the order they will run", id="queue"),
                                             pytest.param("7", AuditScreen, "intact", id="audit")])
def test_arbiter_views(snap_compare, tmp_path, key, screen, note, size):
    app = armed_app_for(str(tmp_path / "q.db"))

    async def open_view(pilot):
        await pilot.press(key)
        # the rows, and the note above them (the audit's says whether the chain holds, read after the rows)
        await until(pilot, lambda: isinstance(app.screen, screen) and len(app.screen.table.visible_rows()) == 2
                    and note in screen_text(app))

    assert snap_compare(app, terminal_size=size, run_before=open_view)


def test_scoped_overview(snap_compare):
    assert snap_compare(app_for(scope="customerB"), terminal_size=(120, 40))


def failed_over_fleet():
    """The seed after customerA's unplanned move: its VMs run on snorlax, the
    recovery host customerB still counts on."""
    world, fleet = pinned_fleet()
    snap = fleet.snapshots["r7r3m116"]
    sites = tuple(replace(s, sitetype="BACKUP" if s.sitetype == "ACTIVE" else "ACTIVE") for s in snap.sites)
    vms = tuple(replace(v, host="snorlax", state="MOVED") for v in snap.vms)
    fleet.snapshots["r7r3m116"] = replace(snap, sections={
        **snap.sections, "site": replace(snap.sections["site"], items=sites),
        "vm": replace(snap.sections["vm"], items=vms)})
    return world, fleet


def test_hosts_after_a_failover(snap_compare):
    assert snap_compare(app_for(pinned=failed_over_fleet()), terminal_size=(80, 24), press=["4"])


def test_light_theme(snap_compare):
    assert snap_compare(app_for([("host_failure", "raichu")], theme="light", readonly=True), terminal_size=(80, 24))


def test_high_contrast(snap_compare):
    assert snap_compare(app_for(theme="high-contrast"), terminal_size=(120, 40), press=["1"])
