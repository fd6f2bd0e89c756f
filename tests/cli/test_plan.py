"""``ksystui plan disaster``: on the simulated seed fleet, if Austin fails,
the order, each tenant's predicted start and finish against its RTO and
the recovery hosts' needs, as text and as JSON; scoped, no other tenant's
name; a name that takes nothing down is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ksystui.config import ConfigError, parse_config

from .conftest import aksystui


def tagged(cfg: Path) -> Path:
    """The simulator's configuration, whose seed puts customerA's and
    customerB's nodes in Austin (``ksystui sim`` writes the scenario's tags)."""
    tags = parse_config(cfg.read_text(), cfg).config.node_tags()
    assert {n for n, t in tags.items() if t.get("city") == "austin"} == {"r7r3m116", "r7r3m108"}
    return cfg


async def test_if_austin_fails_the_plan_gives_the_order_and_times_as_text_and_json(served):
    _, cfg = served
    cfg = tagged(cfg)
    run = await aksystui("plan", "disaster", "--fail", "city=austin", "--config", str(cfg))
    assert run.rc == 0, run
    lines = run.out.splitlines()
    assert lines[0].startswith("Disaster: city=austin fails at ")
    order = [line.split()[1] for line in lines if line.strip()[:1].isdigit()]
    assert order == ["customerA", "customerB"]  # the agreement order: priority 1 first
    assert "snorlax" in run.out and "customerC" not in run.out
    # it changes nothing: a read-only session may plan (--readonly honoured, not refused)
    run = await aksystui("--readonly", "plan", "disaster", "--fail", "city=austin", "--json", "--config", str(cfg))
    assert run.rc == 0, run
    data = json.loads(run.out)
    a, b = data["tenants"]
    assert (a["tenant"], b["tenant"]) == ("customerA", "customerB")
    assert a["rto_s"] == 1800 and b["rto_s"] == 3600
    assert b["start_s"] >= a["finish_s"]  # both boot on snorlax: never at the same time
    assert {n["node"] for n in data["failed_nodes"]} == {"r7r3m116", "r7r3m108"}
    assert [h["host"] for h in data["hosts"]] == ["snorlax"]


async def test_a_scoped_plan_names_no_other_tenant_and_a_name_that_takes_nothing_down_is_refused(served):
    _, cfg = served
    cfg = tagged(cfg)
    for args in (["--fail", "city=austin"], ["--fail", "city=austin", "--json"]):
        run = await aksystui("--tenant", "customerB", "plan", "disaster", *args, "--config", str(cfg))
        assert run.rc == 0, run
        assert "customerB" in run.out
        for word in ("customerA", "r7r3m116", "pbrazos", "customerC", "ksysorch-dal12"):
            assert word not in run.out + run.err, (word, args)
    run = await aksystui("--tenant", "customerB", "plan", "disaster", "--fail", "pbrazos", "--config", str(cfg))
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err, run
    assert run.err.splitlines()[-1].startswith(
        "ksystui plan disaster: --fail pbrazos: no such production host, site or tag in this scope")
    run = await aksystui("plan", "disaster", "--fail", "service_provider", "--config", str(cfg))
    assert run.rc == 2 and "service_provider: it is not where any node runs production now" in run.err, run
    # the shared recovery host takes no one down, and says whose way out it was
    run = await aksystui("plan", "disaster", "--fail", "snorlax", "--config", str(cfg))
    assert run.rc == 0 and "Nothing to recover" in run.out, run
    assert "r7r3m116 (customerA) does not fail, but its recovery host snorlax does" in run.out, run
    assert "r7r3m108 (customerB) does not fail, but its recovery host snorlax does" in run.out, run


@pytest.mark.parametrize(("tags", "words"), [
    ('{ "1city" = "austin" }', "tag '1city': a tag's name starts with a letter"),
    ('{ city = "austin,dallas" }', "without ',' or '='"),
    ('{ city = "" }', "a tag's value is 1 to 64 characters"),
    ('"austin"', "tags: Input should be a valid dictionary"),
])
def test_a_bad_tag_in_the_configuration_says_where(tags, words):
    text = ('[[tenants]]\nname = "customerA"\npriority = 1\n[[tenants.nodes]]\nname = "nodeA"\n'
            f'tags = {tags}\n[tenants.nodes.ssh]\nhost = "10.0.0.1"\nkey_file = "id"\n')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("/etc/ksystui/config.toml"))
    assert str(caught.value).startswith("/etc/ksystui/config.toml:6: tenants['customerA'].nodes['nodeA'].tags")
    assert words in str(caught.value)


def test_tags_are_read_per_node():
    text = ('[[tenants]]\nname = "customerA"\npriority = 1\n[[tenants.nodes]]\nname = "nodeA"\n'
            'tags = { city = "austin", power = "grid 2" }\n[tenants.nodes.ssh]\nhost = "10.0.0.1"\nkey_file = "id"\n'
            '[[tenants.nodes]]\nname = "nodeB"\n[tenants.nodes.ssh]\nhost = "10.0.0.2"\nkey_file = "id"\n')
    cfg = parse_config(text, Path("/c.toml")).config
    assert cfg.node_tags() == {"nodeA": {"city": "austin", "power": "grid 2"}}

