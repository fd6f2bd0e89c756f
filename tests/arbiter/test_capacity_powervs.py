"""Capacity for every flavour: a PowerVS tenant's DR workspace runs on a
dedicated host that PowerVS KSYS never prints (no ``query host``). The
provider's configuration sizes it (``dedicated_hosts``, which ``ksystui sim``
writes from the scenario), and the same check refuses what would not fit,
with the numbers, before the simulated hardware has to."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksystui.arbiter.service import CapacityRefused, plan_for, submit
from ksystui.core import capacity
from ksystui.core.lifecycle import Op
from ksystui.core.views import host_rows
from tests.sim.capacity_scenarios import world_with

from .conftest import rig_on
from .test_arbiter import run_until_settled

DH = "dh-wdc06-01"  # customerC's VMs take 64 GB, 3.5 CPU on it


async def test_a_powervs_move_that_does_not_fit_its_dedicated_host_is_refused_with_the_numbers(tmp_path: Path):
    async with rig_on(world_with(sizes={DH: (40.0, 8.0)}, speed=60), tmp_path) as rig:
        (node,) = rig.cfg.tenant("customerC").nodes
        assert [(h.name, h.memory_gb) for h in node.dedicated_hosts] == [(DH, 40.0)]
        snap = rig.fleet.snapshots[node.name]
        assert [(h.name, h.memory_capacity, h.processors) for h in snap.hosts] == [(DH, "40", "8")]
        planned = await plan_for(rig.fleet, node.name, Op.MOVE_PLANNED, confirmed=True)
        assert DH in planned.host_names  # two tenants sharing the dedicated host never move onto it together
        with pytest.raises(CapacityRefused) as refused:
            await submit(rig.queue, rig.fleet, planned, priority=3, actor=rig.actor, confirmed=True)
        assert f"{DH} needs 64 GB, 3.5 CPU; 40 GB, 8 CPU free of 40 GB, 8 CPU: short 24 GB" in str(refused.value)
        # the operator's written reason queues it; the simulated hardware then refuses the boots that do not fit
        row = await submit(rig.queue, rig.fleet, planned, priority=3, actor=rig.actor, confirmed=True,
                           capacity_reason="test: the simulator's own refusal")
        (done,) = await run_until_settled(rig, [row.id])
        assert done.state == "failed"
        assert {f.vm for f in rig.world.capacity_failures.entries()} and \
            {f.host for f in rig.world.capacity_failures.entries()} == {DH}


async def test_on_the_seed_the_dedicated_host_shows_in_the_hosts_view_with_its_size(tmp_path: Path):
    async with rig_on(world_with(speed=60), tmp_path) as rig:
        loads = capacity.host_loads(rig.fleet.snapshots.values())
        (dh,) = [h for h in loads.values() if h.name == DH]
        assert dh.total == capacity.Size(128, 8)
        rows = [r for r in host_rows(rig.fleet.snapshots, rig.fleet.snapshots["ksysorch-dal12"].health.last_success)
                if r.cells[0] == DH]
        assert rows and all(r.tenant == "customerC" for r in rows)
        assert any("/128 GB" in cell for r in rows for cell in r.cells)
