"""Host sizes and flexible capacity in a scenario: validated with a message
that names the mistake, printed by `query host` / `query vm` as a KSYS would."""

from __future__ import annotations

import pytest

from ksystui.core.ksysmgr.parse import parse_host, parse_vm
from ksystui.sim.scenario import ScenarioError, load_scenario, parse_scenario
from ksystui.sim.world import SimWorld
from tests.sim.capacity_scenarios import SNORLAX_UUID, seed_text, seed_with


def test_the_seed_sizes_snorlax_for_both_tenants_and_customerc_s_dedicated_host():
    sizes = load_scenario().host_sizes()
    assert sizes[SNORLAX_UUID] == (512.0, 32.0)
    assert sizes["c3d9a7e2-5f1b-3e6c-b8a4-1f2e3d4c5b03"] == (128.0, 8.0)


async def test_query_host_prints_the_size_on_every_node_that_sees_the_host(local):
    for node in ("r7r3m116", "r7r3m108"):
        rc, out, _ = await local(node, "query host snorlax")
        host = parse_host(out)[0]
        assert rc == 0 and (host.memory_capacity, host.processors) == ("512", "32")


def test_customerc_s_dedicated_host_is_sized_in_the_world(world):
    # a PowerVS orchestrator answers no `query host`: the size is the simulated machine's
    host = world.nodes["ksysorch-dal12"].state.hosts["dh-wdc06-01"]
    assert (host.memory_gb, host.processors) == (128.0, 8.0)


async def test_a_host_without_a_size_prints_none(local):
    rc, out, _ = await local("r7r3m116", "query host pbrazos")
    assert rc == 0 and "memory_capacity" not in out and parse_host(out)[0].memory_capacity is None


async def test_one_node_sizing_a_shared_host_sizes_it_for_every_node(memory_io):
    # customerB's node lists snorlax without a size: it is the same machine, it prints the same
    text = seed_text()
    b = text.index('name = "r7r3m108"')
    text = text[:b] + text[b:].replace("memory_gb = 512  # the same machine as customerA's snorlax: the same size\n"
                                       "processors = 32\n", "", 1)
    world = SimWorld(parse_scenario(text), speed=1000)
    io = memory_io()
    assert await world.nodes["r7r3m108"].run_ksysmgr(["query", "host", "snorlax"], io) == 0
    assert parse_host(io.stdout)[0].memory_capacity == "512"


def test_the_resize_helper_changes_snorlax_everywhere_or_unsizes_it():
    assert seed_with(300).host_sizes()[SNORLAX_UUID] == (300.0, 32.0)
    assert seed_with(snorlax_processors=20).host_sizes()[SNORLAX_UUID] == (512.0, 20.0)
    unsized = seed_with(sizes={"snorlax": None, "dh-wdc06-01": None})
    assert unsized.host_sizes() == {}
    assert all(h.memory_gb is None for n in unsized.nodes for h in n.hosts)


def _with_vm_fields(fields: str, vm: str = "cC_aixerp01") -> str:
    text = seed_text()
    at = text.index(f'name = "{vm}"')
    return text[:at] + fields + "\n" + text[at:]


async def test_query_vm_prints_flexible_capacity_and_the_backup_hold_where_set(memory_io):
    text = _with_vm_fields("target_flex_mem = 50\ntarget_flex_cpu = 200\ninactive_vm_mem = 4\ninactive_vm_cpu = 0.25")
    world = SimWorld(parse_scenario(text), speed=1000)
    io = memory_io()
    assert await world.nodes["ksysorch-dal12"].run_ksysmgr(["query", "vm"], io) == 0
    vms = {v.name: v for v in parse_vm(io.stdout)}
    erp = vms["cC_aixerp01"]
    assert (erp.target_flex_mem, erp.target_flex_cpu, erp.inactive_vm_mem, erp.inactive_vm_cpu) == (
        "50", "200", "4", "0.25")
    other = vms["cC_ibmi01"]
    assert (other.target_flex_mem, other.inactive_vm_mem) == (None, None)
    assert "Target_Flex_Mem" in io.stdout and "Inactive_VM_Mem" in io.stdout


@pytest.mark.parametrize("fields,vm,needle", [
    ("target_flex_mem = 0", "cC_aixerp01", "target_flex_mem is a percentage from 1 to 1000, not 0"),
    ("target_flex_cpu = 1001", "cC_aixerp01", "target_flex_cpu is a percentage from 1 to 1000, not 1001"),
    ("inactive_vm_mem = 1.5", "cC_aixerp01", "inactive_vm_mem is at least 2 (GB), not 1.5"),
    ("inactive_vm_cpu = 0.3", "cC_aixerp01", "inactive_vm_cpu is a positive multiple of 0.25 (cores), not 0.3"),
    ("inactive_vm_mem = 4", "cA_oradb01", "an on-prem node has none"),
])
def test_bad_vm_capacity_fields_are_refused_with_the_reason(fields, vm, needle):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_with_vm_fields(fields, vm), "bad.toml")
    assert needle in str(err.value) and str(err.value).startswith("bad.toml:")


def test_a_half_given_host_size_is_refused():
    text = seed_text(sizes={"pbrazos": (256, 16)}).replace("memory_gb = 256\n", "", 1)
    with pytest.raises(ScenarioError, match="host pbrazos: give both memory_gb and processors"):
        parse_scenario(text)


def test_two_sizes_for_one_machine_are_refused():
    text = seed_text()
    b = text.index('name = "r7r3m108"')
    text = text[:b] + text[b:].replace("memory_gb = 512", "memory_gb = 256", 1)
    with pytest.raises(ScenarioError, match=r"host snorlax \(a1f3c9e0.*\) has two sizes: 512 GB, 32 CPU and 256 GB"):
        parse_scenario(text)
