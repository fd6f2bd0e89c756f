"""Failure domains (core.failure_domains): ``--fail HOST|SITE|KEY=VALUE``
names the production side that goes down, and a name that means nothing
(or only a recovery side) is refused with what would be accepted."""

from __future__ import annotations

import pytest

from ksystui.core.failure_domains import (
    EVERYTHING,
    UnknownFailureDomain,
    parse_terms,
    resolve_failure,
)
from ksystui.core.model import Flavour, Host, Site, Vm
from tests.core.test_capacity import seed, snapshot

TAGS = {"r7r3m116": {"city": "austin"}, "r7r3m108": {"city": "austin", "power": "grid-2"},
        "ksysorch-dal12": {"city": "dallas"}}


def powervs():
    return snapshot("ksysorch-dal12", "customerC", Flavour.POWERVS,
                    vm=(Vm("cC_aixerp01", state="READY_TO_MOVE", workspace="custC-dal12-prod"),),
                    site=(Site("DAL", "ACTIVE", region="dal12", workspaces=("custC-dal12-prod",)),
                          Site("WDC", "BACKUP", region="wdc06", workspaces=("custC-wdc06-dr",))),
                    host=(Host("dh-wdc06-01", uuid="u-dh", site="WDC"),))


def fleet():
    return [*seed(), powervs()]


def failed(given, scope=None, snaps=None):
    f = resolve_failure(given, snaps or fleet(), TAGS, scope=scope)
    return {n.node: (n.hosts, n.because) for n in f.nodes}


def test_a_production_host_fails_its_node_and_only_that_one():
    assert failed("pbrazos") == {"r7r3m116": (("pbrazos",), ("pbrazos",))}
    assert failed(["u-raichu"]) == {"r7r3m108": (("raichu",), ("u-raichu",))}  # by CEC UUID too


def test_a_site_a_region_or_a_workspace_fails_what_runs_there():
    assert failed("customerB") == {"r7r3m108": (("raichu",), ("customerB",))}
    assert failed("dal12") == {"ksysorch-dal12": (("custC-dal12-prod",), ("dal12",))}
    assert failed("DAL") == {"ksysorch-dal12": (("custC-dal12-prod",), ("DAL",))}
    assert failed("custC-dal12-prod") == {"ksysorch-dal12": (("custC-dal12-prod",), ("custC-dal12-prod",))}


def test_a_tag_fails_every_node_tagged_so_and_terms_add_up():
    assert set(failed("city=austin")) == {"r7r3m116", "r7r3m108"}
    both = failed("pbrazos, city=dallas")
    assert set(both) == {"r7r3m116", "ksysorch-dal12"}
    assert failed("pbrazos,city=austin")["r7r3m116"][1] == ("pbrazos", "city=austin")


def test_no_term_fails_every_production_host_in_scope():
    f = resolve_failure("", fleet(), TAGS)
    assert f.terms == (EVERYTHING,) and len(f.nodes) == 3
    scoped = resolve_failure((), fleet(), TAGS, scope="customerA")
    assert scoped.node_names == ("r7r3m116",)


def test_the_same_physical_host_fails_every_node_that_runs_production_on_it():
    a, b = seed()
    # customerB's KSYS calls the same CEC (same UUID) by another name
    b_same_cec = snapshot("r7r3m108", "customerB", Flavour.ONPREM,
                          site=(Site("customerB", "ACTIVE"), Site("service_provider", "BACKUP")),
                          host=(Host("pbrazos-b", uuid="u-pbrazos", site="customerB", pair="snorlax"),
                                Host("snorlax", uuid="u-snorlax", site="service_provider", pair="pbrazos-b")))
    assert failed("pbrazos", snaps=[a, b_same_cec]) == {"r7r3m116": (("pbrazos",), ("pbrazos",)),
                                                        "r7r3m108": (("pbrazos-b",), ("pbrazos",))}


@pytest.mark.parametrize(("given", "words"), [
    ("nosuch", "--fail nosuch: no such production host, site or tag"),
    ("service_provider", "it is not where any node runs production now"),
    ("city=paris", "--fail city=paris: no node is tagged so (known city values: austin, dallas)"),
    ("rack=3", "--fail rack=3: no node has a tag rack (known tags: city, power)"),
    ("a,,b", "an empty name between commas"),
    ("city=", "a tag is written KEY=VALUE"),
])
def test_a_name_that_takes_nothing_down_is_refused_saying_what_would_do(given, words):
    with pytest.raises(UnknownFailureDomain) as caught:
        resolve_failure(given, fleet(), TAGS)
    assert words in str(caught.value)


def test_a_scoped_caller_cannot_probe_another_tenants_names():
    with pytest.raises(UnknownFailureDomain) as caught:
        resolve_failure("raichu", fleet(), TAGS, scope="customerA")
    assert "no such production host, site or tag in this scope" in str(caught.value)
    with pytest.raises(UnknownFailureDomain) as caught:
        resolve_failure("power=grid-2", fleet(), TAGS, scope="customerA")
    assert "customerB" not in str(caught.value) and "r7r3m108" not in str(caught.value)
    assert "grid-2" in str(caught.value)  # what was typed, nothing more
    assert "power" not in str(caught.value).split("(")[1]


def test_a_known_term_takes_down_the_same_nodes_whoever_asks():
    scoped = resolve_failure("city=austin", fleet(), TAGS, scope="customerA")
    assert scoped.node_names == resolve_failure("city=austin", fleet(), TAGS).node_names
    assert scoped.for_tenant("customerA").node_names == ("r7r3m116",)


def test_terms_are_split_on_commas_once_each():
    assert parse_terms(["pbrazos, raichu", "pbrazos"]) == ("pbrazos", "raichu")
    assert resolve_failure("pbrazos", fleet(), TAGS).text() == "pbrazos: 1 node fails (1 production host)"


def test_after_a_failover_the_recovery_host_is_where_that_tenant_runs_production():
    a, b = seed(a_moved=True)
    # customerA runs on snorlax now: snorlax failing takes it down (its move home), not customerB
    f = resolve_failure("snorlax", [a, b], TAGS)
    assert [(n.node, n.site, n.hosts) for n in f.nodes] == [("r7r3m116", "service_provider", ("snorlax",))]
    # customerA's home is its recovery side now: failing it takes no one down, but customerA's way home
    home = resolve_failure("pbrazos", [a, b], TAGS)
    assert home.nodes == () and home.idle_hosts == ("u-pbrazos",) and home.down_hosts == {"u-pbrazos"}


def test_a_recovery_host_named_takes_no_node_down_but_is_down():
    f = resolve_failure("snorlax", seed(), TAGS)
    assert f.nodes == () and f.idle_hosts == ("u-snorlax",)
    assert f.text() == "snorlax: no node fails (1 recovery host)"
    both = resolve_failure("pbrazos,snorlax", seed(), TAGS)
    assert both.node_names == ("r7r3m116",) and both.down_hosts == {"u-pbrazos", "u-snorlax"}
    assert both.text() == "pbrazos, snorlax: 1 node fails (1 production host, 1 recovery host)"
    # scoped: its own recovery host may be named; the failure it reads keeps the host down
    assert resolve_failure("snorlax", seed(), TAGS, scope="customerB").for_tenant("customerB").idle_hosts == (
        "u-snorlax",)
    # and takes down what it takes down for everyone: customerA, once it runs on snorlax
    moved = seed(a_moved=True)
    assert resolve_failure("snorlax", moved, TAGS, scope="customerB").node_names == ("r7r3m116",) == \
        resolve_failure("snorlax", moved, TAGS).node_names
