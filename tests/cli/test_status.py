"""`ksystui status` against the simulator: what an operator (or cron) reads."""

import io
import json

from ksystui.cli.status import run_config_check, run_status
from tests.waiting import eventually

from .conftest import ksystui


async def status(cfg, *args, tenant=None):
    out, err = io.StringIO(), io.StringIO()
    rc = await run_status(cfg, "--json" in args, tenant, out, err, direct="--direct" in args)
    return rc, out.getvalue(), err.getvalue()


async def test_status_lists_tenants_vms_and_the_shared_host(served):
    _, cfg = served
    rc, out, err = await status(cfg)
    assert rc == 0, out + err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["TENANT", "PRIO", "NODE", "STATE"]
    for tenant, node, vms in [("customerA", "r7r3m116", "READY_TO_MOVE=5"), ("customerB", "r7r3m108", "READY_TO_MOVE=5"),
                              ("customerC", "ksysorch-dal12", "READY_TO_MOVE=3")]:
        row = next(line for line in lines if line.startswith(tenant))
        assert node in row and "fresh" in row and vms in row and "in sync" in row
    shared = next(line for line in lines if line.strip().startswith("snorlax"))
    assert "customerA, customerB" in shared


async def test_status_json_says_the_same(served):
    _, cfg = served
    rc, out, _ = await status(cfg, "--json")
    data = json.loads(out)
    assert rc == 0
    assert [t["name"] for t in data["tenants"]] == ["customerA", "customerB", "customerC"]
    a = data["tenants"][0]["nodes"][0]
    assert a["node"] == "r7r3m116" and a["state"] == "fresh" and a["vms_by_state"] == {"READY_TO_MOVE": 5}
    assert data["shared_recovery_hosts"] == [
        {"name": "snorlax", "uuid": "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10", "tenants": ["customerA", "customerB"],
         "other_tenants": 0}
    ]
    assert data["unreachable"] == []


async def test_scoped_status_shows_nothing_of_other_tenants(served, world):
    _, cfg = served
    others = ["customerA", "customerC", "r7r3m116", "ksysorch-dal12", "pbrazos", "cA_", "cC_", "vmhmc1", "salocal_A"]
    for args in [(), ("--json",)]:
        rc, out, err = await status(cfg, *args, tenant="customerB")
        assert rc == 0
        assert "customerB" in out and "r7r3m108" in out
        for word in others:
            assert word not in out and word not in err, word
    # scoped, no other tenant's node is read: whether another tenant shares
    # snorlax comes from their last good data, once the provider has read them
    rc, _, _ = await status(cfg, "--direct")
    assert rc == 0
    _, out, _ = await status(cfg, tenant="customerB")
    assert "shared with 1 other tenant" in out


async def test_unreachable_node_makes_status_fail_with_the_reason(served, world):
    _, cfg = served
    world.faults.inject("node_down", "r7r3m108")
    rc, out, _ = await status(cfg)
    assert rc == 1
    assert "r7r3m108" in out and "unreachable" in out
    assert any(line.startswith("! r7r3m108: unreachable:") for line in out.splitlines())
    # scoped to a tenant whose nodes are fine, status passes
    rc, out, _ = await status(cfg, tenant="customerA")
    assert rc == 0


async def test_critical_events_of_the_last_day(served, world):
    _, cfg = served
    world.faults.inject("host_failure", "raichu")
    rc, out, _ = await status(cfg)
    assert "HOST_FAILURE" in out and "raichu" in out
    assert "DOWN=5" in out


def test_bad_config_names_file_line_and_key(bad_config):
    for verb in (["status"], ["config", "check"]):
        run = ksystui(*verb, "--config", str(bad_config))
        assert run.rc == 2 and run.err == f"ksystui {' '.join(verb)}: {bad_config}:3: tenants['a'].priority: " \
            "Input should be a valid integer, unable to parse string as an integer (and 1 more problems)\n", run.err


async def test_config_check_tries_each_node(served, world):
    _, cfg = served
    world.faults.inject("node_down", "r7r3m116")
    out, err = io.StringIO(), io.StringIO()
    rc = await run_config_check(cfg, out, err)
    lines = out.getvalue().splitlines()
    assert rc == 1
    assert "valid (3 tenants, 3 nodes)" in lines[0]
    assert any(line.startswith("customerA/r7r3m116: FAIL: ssh unreachable") for line in lines)
    assert any(line.startswith("customerB/r7r3m108: OK") for line in lines)
    assert any(line.startswith("customerC/ksysorch-dal12: OK") and "rest ok" in line for line in lines)


async def test_status_records_snapshots_and_each_event_once(served, world, tmp_path):
    from datetime import UTC, datetime, timedelta

    from ksystui.store import Store

    _, cfg = served
    world.faults.inject("host_failure", "raichu")
    await status(cfg)
    await status(cfg)  # the same events again: stored once
    store = Store.open(f"sqlite:///{tmp_path}/k.db")
    try:
        events = store.recent_events(datetime.now(UTC) - timedelta(hours=1))
        names = [(node, ev.name) for node, _tenant, ev, _seen in events]
        assert names.count(("r7r3m108", "HOST_FAILURE")) == 1
        assert set(store.load_snapshots()) == {"r7r3m116", "r7r3m108", "ksysorch-dal12"}
    finally:
        store.close()


async def test_without_a_service_status_reads_the_nodes_and_says_so(served):
    _, cfg = served
    rc, out, err = await status(cfg)
    assert rc == 0 and "fresh" in out
    assert "no provider service is running on this database" in err and "reading the nodes directly" in err
    rc, out, err = await status(cfg, "--direct")  # asked for: nothing to say
    assert rc == 0 and "fresh" in out and err == ""


def _unreachable_copy(cfg, tmp_path):
    """The same configuration (same database), but every node behind a port
    that refuses: whoever reads the nodes from it finds them unreachable."""
    import re

    copy = tmp_path / "unreachable.toml"
    copy.write_text(re.sub(r"(?m)^port = \d+$", "port = 1", cfg.read_text()))
    return copy


async def test_with_a_service_status_reports_what_the_service_read(served, tmp_path):
    from ksystui.config import load_config
    from ksystui.service.serve import Service

    _, cfg = served
    async with Service(load_config(cfg).config) as service:
        await service.leading.wait()
        blind = _unreachable_copy(cfg, tmp_path)

        async def reported_fresh():
            rc, out, _ = await status(blind)
            return rc == 0 and all(line.split()[3] == "fresh" for line in out.splitlines()[1:4])

        await eventually(reported_fresh, 30)  # the service's snapshots, through a config that reaches no node
        rc, out, err = await status(blind, "--json")
        assert rc == 0 and err == "" and json.loads(out)["unreachable"] == []
        rc, out, _ = await status(blind, "--direct")  # the old way: the nodes themselves
        assert rc == 1 and "unreachable" in out
