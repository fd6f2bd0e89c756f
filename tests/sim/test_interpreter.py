"""ksysmgr queries, help and errors on a simulated node, as an operator sees them."""

import pytest

from ksystui.core.ksysmgr.parse import parse_event, parse_host, parse_site, parse_vm


async def test_query_vm_lists_the_seed_vms_ready_to_move(local):
    rc, out, err = await local("r7r3m116", "query vm")
    assert rc == 0 and err == ""
    vms = parse_vm(out)
    assert [v.name for v in vms] == ["cA_oradb01", "cA_sapascs", "cA_sapapp01", "cA_sapapp02", "cA_nimsrv"]
    assert {v.state for v in vms} == {"READY_TO_MOVE"}
    assert {v.host for v in vms} == {"pbrazos"}


async def test_both_tenants_pair_with_the_same_physical_snorlax(local):
    _, a, _ = await local("r7r3m116", "query host")
    _, b, _ = await local("r7r3m108", "query host")
    snorlax_a = next(h for h in parse_host(a) if h.name == "snorlax")
    snorlax_b = next(h for h in parse_host(b) if h.name == "snorlax")
    assert snorlax_a.uuid == snorlax_b.uuid
    assert next(h for h in parse_host(a) if h.name == "pbrazos").pair == "snorlax"
    assert next(h for h in parse_host(b) if h.name == "raichu").pair == "snorlax"


async def test_sites_of_the_seed(local):
    _, out, _ = await local("r7r3m116", "q site")
    assert [(s.name, s.sitetype) for s in parse_site(out)] == [("customerA", "ACTIVE"), ("service_provider", "BACKUP")]


async def test_query_unknown_vm_is_not_found(local):
    rc, out, err = await local("r7r3m116", "query vm nosuchvm")
    assert rc == 2 and out == "" and "nosuchvm" in err


@pytest.mark.parametrize("cmd, rc", [("bogus vm", 4), ("query", 3), ("query nope", 4), ("move site from=customerA", 3),
                                     ("move site from=customerA to=service_provider dr_type=sideways", 4),
                                     ("move site from=customerA to=service_provider dr_test=yes dr_type=planned", 4),
                                     ("query event type=fatal", 4), ("modify system auto_discovery_time=25:00", 4),
                                     ("modify system colour=blue", 4), ("verify site nowhere", 2)])
async def test_bad_commands_get_usage_or_error_and_the_real_exit_status(local, cmd, rc):
    got, out, err = await local("r7r3m116", cmd)
    assert got == rc
    assert err.startswith("ERROR:")


async def test_help_and_bare_command(local):
    rc, out, _ = await local("r7r3m116", "modify system -?")
    assert rc == 0 and "auto_discovery_time=<hh:mm>" in out and "modify => ch*, sets" in out
    rc, out, _ = await local("r7r3m116", "help ksyscluster")
    assert rc == 0 and out.startswith("Available actions for ksyscluster:") and "- query" in out
    rc, out, _ = await local("r7r3m116", "")
    assert "ACTION=" in out


async def test_modify_system_reports_like_ksysmgr(local):
    rc, out, _ = await local("r7r3m116", "modify system auto_discovery_time=03:30 notification_level=high")
    assert rc == 0 and out == "KSYS notification_level,auto_discovery_time has been updated\n"
    rc, out, _ = await local("r7r3m116", "modify system auto_discovery_time=03:30")
    assert out == "INFO: Attribute auto_discovery_time is already set to the specified value\n"
    _, out, _ = await local("r7r3m116", "query system")
    assert "auto_discovery_time:         03:30 hours" in out


async def test_attribute_filter(local):
    _, out, _ = await local("r7r3m116", "-a name,sitetype query site")
    assert "Name:" in out and "Sitetype:" in out
    _, out, _ = await local("r7r3m116", "-a name query vm")
    assert "State:" not in out and out.count("Name:") == 5


async def test_flavours_refuse_each_others_classes(local):
    rc, _, err = await local("r7r3m116", "query workgroup")
    assert rc == 4 and "not supported" in err
    rc, _, err = await local("ksysorch-dal12", "query hmc")
    assert rc == 4
    rc, out, _ = await local("ksysorch-dal12", "q wg")
    assert rc == 0 and "cC_ibmi01_WG" in out


async def test_malformed_output_fault_garbles_queries(world, local):
    world.faults.inject("malformed_output", "r7r3m116")
    _, out, _ = await local("r7r3m116", "query vm")
    assert "\x00" in out
    from ksystui.core.ksysmgr.errors import KsysmgrParseError

    with pytest.raises(KsysmgrParseError):
        parse_vm(out)
    world.faults.clear()
    _, out, _ = await local("r7r3m116", "query vm")
    assert len(parse_vm(out)) == 5


async def test_events_are_queryable_and_filtered(local):
    await local("r7r3m116", "verify site customerA")
    rc, out, _ = await local("r7r3m116", "query event")
    names = [e.name for e in parse_event(out)]
    assert names == ["VERIFY_STARTED", "VERIFY_SUCCESS"]
    _, out, _ = await local("r7r3m116", "query event type=error")
    assert out.strip() == ""


def _no_login(model):
    from dataclasses import replace

    return model if model.login is None else replace(model, login="[redacted]")


@pytest.mark.parametrize(
    "node, query, kind, models",
    [
        ("r7r3m116", "query vm", "vm", lambda s: s.vm_models()),
        ("r7r3m116", "query site", "site", lambda s: s.site_models()),
        ("r7r3m116", "query host", "host", lambda s: s.host_models()),
        # logins are credentials: they read back blanked (issue 15)
        ("r7r3m116", "query hmc", "hmc", lambda s: [_no_login(m) for m in s.hmc_models()]),
        ("r7r3m116", "query storage_agent", "storage_agent",
         lambda s: [_no_login(m) for m in s.storage_agent_models()]),
        ("r7r3m116", "query disk_group", "disk_group", lambda s: s.disk_group_models()),
        ("r7r3m116", "query disk_pair", "disk_pair", lambda s: s.disk_pair_models()),
        ("ksysorch-dal12", "query vm", "vm", lambda s: s.vm_models()),
        ("ksysorch-dal12", "query site", "site", lambda s: s.site_models()),
        ("ksysorch-dal12", "query workgroup", "workgroup", lambda s: s.workgroup_models()),
        ("ksysorch-dal12", "query disk_group", "disk_group", lambda s: s.disk_group_models()),
        ("ksysorch-dal12", "query disk vm=cC_ibmi01", "disk", lambda s: s.disk_models("cC_ibmi01")),
    ],
)
async def test_simulator_output_parses_back_to_the_model_it_came_from(world, local, node, query, kind, models):
    from ksystui.core.ksysmgr.parse import PARSERS

    rc, out, _ = await local(node, query)
    assert rc == 0
    assert PARSERS[kind](out) == models(world.nodes[node].state)


async def test_simulator_events_parse_back(world, local):
    world.faults.inject("host_failure", "pbrazos")
    await local("r7r3m116", "verify site customerA")
    _, out, _ = await local("r7r3m116", "query event")
    assert parse_event(out) == [e.to_model() for e in world.nodes["r7r3m116"].state.events]
