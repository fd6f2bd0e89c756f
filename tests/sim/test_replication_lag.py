"""A lagging node, as the simulator plays it: ``replication_lag`` with
``minutes=`` leaves an older consistent point that ksysmgr prints (``query
disk_group``, INFERRED key) and the DR Automation service sends (INFERRED
field), on-prem and PowerVS; clearing the fault brings the copy back in sync.
And the agreements of the seed scenario reach the ``config.toml`` that
``ksystui sim`` writes."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta

import pytest

from ksystui.config import load_config
from ksystui.core import service_api
from ksystui.core.ksysmgr.parse import parse_disk, parse_disk_group
from ksystui.core.rpo import parse_point
from ksystui.sim.scenario import ScenarioError, load_scenario, parse_scenario
from ksystui.sim.world import SimWorld


def points(text: str) -> list[datetime | None]:
    return [parse_point(g.consistent_at) for g in parse_disk_group(text)]


async def test_a_lagging_onprem_node_prints_a_consistent_point_minutes_old(world: SimWorld, local, fields):
    _, before, _ = await local("r7r3m116", "query disk_group")
    assert fields(before, "LastConsistentTime") == []  # in sync: nothing older to tell
    fault = world.faults.inject("replication_lag", "r7r3m116", minutes=40)
    rc, out, _ = await local("r7r3m116", "query disk_group")
    assert rc == 0
    (group,) = parse_disk_group(out)
    assert (group.cg_state, group.progress) == ("consistent_copying", 62.5)
    point = parse_point(group.consistent_at)
    assert point is not None and abs(point - (fault.since - timedelta(minutes=40))) < timedelta(seconds=1)
    # the line as an operator reads it, after the copy state
    lines = out.splitlines()
    assert lines.index(next(x for x in lines if x.startswith("LastConsistentTime:"))) == \
        lines.index(next(x for x in lines if x.startswith("Progress:"))) + 1
    # the other tenants' nodes are untouched
    _, other, _ = await local("r7r3m108", "query disk_group")
    assert points(other) == [None]
    world.faults.clear("replication_lag", "r7r3m116")
    _, after, _ = await local("r7r3m116", "query disk_group")
    assert points(after) == [None] and parse_disk_group(after)[0].cg_state == "consistent_synchronized"


async def test_a_lagging_powervs_node_tells_it_over_ssh_and_its_rest_service(world: SimWorld, local):
    node = world.nodes["ksysorch-dal12"]
    assert all("last_consistent_time" not in vm for vm in node.rest_managed_vms()["managed_vm_list"].values())
    fault = world.faults.inject("replication_lag", "ksysorch-dal12", minutes=90, progress=80)
    want = fault.since - timedelta(minutes=90)
    _, out, _ = await local("ksysorch-dal12", "query disk_group")
    groups = parse_disk_group(out)
    assert groups and all(g.workgroup and g.progress == 80.0 for g in groups)
    assert all(abs(p - want) < timedelta(seconds=1) for p in points(out) if p) and None not in points(out)
    sent = [parse_point(m.last_consistent_time) for m in service_api.managed_vms(node.rest_managed_vms())]
    assert sent and all(p is not None and abs(p - want) < timedelta(seconds=1) for p in sent)
    # `query disk vm=` says it of the VM's volumes too
    vm = next(iter(node.state.vms))
    _, out, _ = await local("ksysorch-dal12", f"query disk vm={vm}")
    (disk,) = parse_disk(out)
    point = parse_point(disk.consistent_at)
    assert point is not None and abs(point - want) < timedelta(seconds=1)
    # the event both sources list says when it began
    assert node.state.events[-1].name == "REPLICATION_LAG"


async def test_a_broken_copy_keeps_the_consistent_point_of_when_it_stopped(world: SimWorld, local):
    lag = world.faults.inject("replication_lag", "r7r3m108", minutes=10)
    world.faults.inject("replication_broken", "r7r3m108")
    _, out, _ = await local("r7r3m108", "query disk_group")
    (group,) = parse_disk_group(out)
    assert group.cg_state == "idling_disconnected"
    assert parse_point(group.consistent_at) == (lag.since - timedelta(minutes=10)).replace(microsecond=0)
    world.faults.clear()
    broken = world.faults.inject("replication_broken", "r7r3m108")
    _, out, _ = await local("r7r3m108", "query disk_group")
    assert points(out) == [broken.since.replace(microsecond=0)]


async def test_a_resync_brings_the_copy_back_in_sync_with_no_old_point(world: SimWorld, local):
    world.faults.inject("replication_lag", "ksysorch-dal12", minutes=30)
    node = world.nodes["ksysorch-dal12"]
    wg = next(iter(node.state.disk_groups))
    node.state.disk_groups[wg].set_copy("consistent_synchronized", 100.0)  # what a resync does
    _, out, _ = await local("ksysorch-dal12", "query disk_group")
    assert next(g for g in parse_disk_group(out) if g.workgroup == wg).consistent_at is None


@pytest.mark.parametrize("params, words", [
    ({"minutes": 0}, "minutes must be more than 0"),
    ({"minutes": 20000}, "at most 14400"),
    ({"progress": 100}, "below 100"),
    ({"seconds": 3}, "takes no parameter 'seconds'"),
])
def test_bad_lag_parameters_are_refused_with_what_is_wrong(world: SimWorld, params, words):
    with pytest.raises(ValueError, match=words):
        world.faults.inject("replication_lag", "r7r3m116", **params)


def test_the_default_lag_is_twenty_minutes_behind(world: SimWorld):
    fault = world.faults.inject("replication_lag", "r7r3m116")
    assert fault.params == {"progress": 62.5, "minutes": 20}


# --- agreements in the scenario and in the config the simulator writes ------------------------
def test_the_seed_gives_every_tenant_an_rto_and_an_rpo():
    agreed = {t.name: (t.rto, t.rpo) for t in load_scenario().tenants}
    assert agreed == {"customerA": (timedelta(minutes=30), timedelta(minutes=15)),
                      "customerB": (timedelta(hours=1), timedelta(minutes=30)),
                      "customerC": (timedelta(hours=4), timedelta(hours=1))}


def test_a_scenario_with_a_bad_objective_names_the_tenant_and_the_key():
    text = 'nodes = []\n[scenario]\nname = "x"\n[[tenants]]\nname = "t"\npriority = 1\nrpo = "15 minutes"\n'
    with pytest.raises(ScenarioError, match=r"x\.toml: tenants\.0\.rpo: .*not a duration"):
        parse_scenario(text, "x.toml")


async def test_ksystui_sim_writes_the_agreements_into_its_config(sim_dir, state_dir):
    path = state_dir / "config.toml"
    raw = tomllib.loads(path.read_text())
    assert {t["name"]: (t.get("rto"), t.get("rpo")) for t in raw["tenants"]} == {
        "customerA": ("30m", "15m"), "customerB": ("1h", "30m"), "customerC": ("4h", "1h")}
    cfg = load_config(path).config
    assert {t.name: t.rpo for t in cfg.tenants}["customerA"] == timedelta(minutes=15)
