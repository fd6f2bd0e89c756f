"""Scenario files: the seed reproduces the article; bad files say what is wrong."""

import pytest

from ksystui.sim.scale import generate_scale_scenario
from ksystui.sim.scenario import ScenarioError, load_scenario, parse_scenario
from ksystui.sim.world import SimWorld


def test_seed_reproduces_the_article():
    sc = load_scenario(None)
    nodes = {n.name: n for n in sc.nodes}
    a, b = nodes["r7r3m116"], nodes["r7r3m108"]
    assert (a.tenant, a.cluster, b.tenant, b.cluster) == ("customerA", "cluster01", "customerB", "cluster02")
    assert {(s.name, s.sitetype) for s in a.sites} == {("customerA", "active"), ("service_provider", "backup")}
    assert {(s.name, s.sitetype) for s in b.sites} == {("customerB", "active"), ("service_provider", "backup")}
    assert {h.name for h in a.hmcs} == {"vmhmc1", "vmhmc6"} and {h.name for h in b.hmcs} == {"vmhmc5", "vmhmc6"}
    assert {h.name: h.pair for h in a.hosts}["pbrazos"] == "snorlax"
    assert {h.name: h.pair for h in b.hosts}["raichu"] == "snorlax"
    assert {s.name for s in a.storage_agents} == {"salocal_A", "saremote"}
    assert {s.name for s in b.storage_agents} == {"salocal_B", "saremote"}
    snorlax = {h.uuid for n in (a, b) for h in n.hosts if h.name == "snorlax"}
    assert len(snorlax) == 1
    powervs = [n for n in sc.nodes if n.flavour == "powervs"]
    assert len(powervs) == 1 and powervs[0].rest
    assert [t.priority for t in sc.tenants] == [1, 2, 3]


@pytest.mark.parametrize(
    "text, words",
    [
        ("not toml = = =", "not valid TOML"),
        ('[scenario]\nname="x"\n', "tenants"),
        ('[scenario]\nname="x"\n[[tenants]]\nname="a"\npriority=0\n[[nodes]]\nname="n"\ntenant="a"\n'
         'flavour="onprem"\ncluster="c"\nsites=[]\n', "priority"),
    ],
)
def test_bad_scenarios_name_the_problem(text, words):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "bad.toml")
    assert "bad.toml" in str(err.value) and words in str(err.value)


def test_scenario_file_missing():
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario("/nonexistent/x.toml")


def test_scale_scenario_shares_recovery_hosts():
    sc = parse_scenario(generate_scale_scenario(8, 10, tenants_per_host=4))
    assert len(sc.nodes) == 8 and sum(len(n.vms) for n in sc.nodes) == 80
    recov = {}
    for n in sc.nodes:
        for h in n.hosts:
            if h.site == "provider_dr":
                recov.setdefault(h.uuid, set()).add(n.tenant)
    assert sorted(len(t) for t in recov.values()) == [4, 4]
    world = SimWorld(sc)
    assert len(world.nodes) == 8
