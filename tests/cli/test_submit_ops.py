"""`ksystui submit OP TENANT` for every operation on both flavours (on-prem
customerA, PowerVS customerC): each is planned from what the node reports
and queued, or refused with one sentence — never a traceback (issue 11,
deliverable 1). An unplanned move asks for the tenant's name on a terminal,
or ``--yes`` in a script (deliverable 6)."""

from __future__ import annotations

import pytest

from ksystui.store.queue import Queue

from .conftest import aksystui, ksystui

OPS = ["discover", "verify", "move", "move-unplanned", "dr-test", "cleanup", "recover", "resync"]
# what the queued command line says, per flavour (None: refused with this sentence)
EXPECTED = {
    ("customerA", "discover"): "ksysmgr -t discover site customerA",
    ("customerA", "verify"): "ksysmgr -t verify site customerA",
    ("customerA", "move"): "ksysmgr -f -t move site from=customerA to=service_provider dr_type=planned",
    ("customerA", "move-unplanned"): "ksysmgr -f -t move site from=customerA to=service_provider dr_type=unplanned",
    ("customerA", "dr-test"): "ksysmgr -f -t move site from=customerA to=service_provider dr_test=yes",
    ("customerA", "cleanup"): "ksysmgr -f -t cleanup site service_provider",
    ("customerA", "recover"): "ksysmgr -t recover site customerA",
    ("customerA", "resync"): "ksysmgr -f resync disk_group VMRDG_cluster01_customerA",
    ("customerC", "discover"): "ksysmgr -t discover site DAL",
    ("customerC", "verify"): None,
    ("customerC", "move"): "ksysmgr -f -t move site from=DAL to=WDC dr_type=planned",
    ("customerC", "move-unplanned"): "ksysmgr -f -t move site from=DAL to=WDC dr_type=unplanned",
    ("customerC", "dr-test"): "ksysmgr -f -t move site from=DAL to=WDC dr_test=yes",
    ("customerC", "cleanup"): "ksysmgr -f -t cleanup site WDC",
    ("customerC", "recover"): "ksysmgr -t recover site DAL",
    ("customerC", "resync"): "ksysmgr -f resync workgroup cC_aixerp01_WG",
}


async def test_each_submit_operation_on_each_flavour_is_queued_or_refused_in_one_sentence(served):
    _, cfg = served
    db = cfg.parent.parent / "k.db"
    cases = [(tenant, op) for tenant in ("customerA", "customerC") for op in OPS]
    runs = []  # one after the other: the in-process runner swaps the process's stdout/stderr
    for tenant, op in cases:
        runs.append(await aksystui("submit", op, tenant, *(("--yes",) if op == "move-unplanned" else ()),
                                   "--config", str(cfg)))
    for (tenant, op), run in zip(cases, runs, strict=True):
        expected = EXPECTED[(tenant, op)]
        assert "Traceback" not in run.err and "Error" not in run.err.split(":")[0], (tenant, op, run.err)
        if expected is None:
            assert run.rc == 2 and run.err.count("\n") == 1 and "no verify" in run.err, (tenant, op, run.err)
            continue
        assert run.rc == 0, (tenant, op, run.err)
        assert f": {expected}  (node" in run.out, (tenant, op, run.out)
        # queued, and told now what the dispatcher would refuse (nothing needs cleaning or recovering)
        assert ("would be refused if its turn came now" in run.err) is (op in ("cleanup", "recover")), \
            (tenant, op, run.err)
    q = Queue.open(f"sqlite:///{db}")
    try:
        queued = {(o.tenant, o.op.value): o for o in q.operations()}
    finally:
        q.close()
    assert len(queued) == 15
    # PowerVS moves and rehearsals claim the workspaces they work on (today: a traceback,
    # "ValueError: move on ksysorch-dal12 works on recovery hosts: name them (CEC UUIDs)…")
    # and the dedicated host of the DR workspace the configuration sizes (PowerVS KSYS prints no hosts)
    assert queued[("customerC", "move")].host_names == ("custC-dal12-prod", "custC-wdc06-dr", "dh-wdc06-01")
    assert queued[("customerC", "dr-test")].host_names == ("custC-wdc06-dr", "dh-wdc06-01")
    assert queued[("customerA", "dr-test")].host_names == ("snorlax",)


def test_an_unplanned_move_from_a_script_needs_yes(quiet):
    run = ksystui("submit", "move-unplanned", "customerA", "--config", str(quiet.config))
    assert run.rc == 2 and "add --yes" in run.err and "typing the tenant's name" in run.err
    assert quiet.states() == {}


@pytest.mark.parametrize("typed, queued", [("customerA", True), ("customerB", False), ("", False)])
def test_an_unplanned_move_on_a_terminal_asks_for_the_tenants_name(quiet, monkeypatch, typed, queued):
    monkeypatch.setattr("ksystui.cli.arbiter.stdin_is_terminal", lambda: True)
    run = ksystui("submit", "move-unplanned", "customerA", "--config", str(quiet.config), input=typed + "\n")
    assert "Type the tenant's name to confirm" in run.err
    if queued:  # confirmed; the quiet fleet's node cannot be read: planning says so, in one sentence
        assert run.rc == 2 and "ksystui submit: nodeA: " in run.err and "not confirmed" not in run.err
    else:
        assert run.rc == 2 and "not confirmed" in run.err and "nodeA" not in run.err
    assert quiet.states() == {}


async def test_the_powervs_tenant_rehearses_and_moves_with_submit_wait(served):
    # acceptance: customerC's DR test + cleanup and planned move run through the arbiter
    runner, cfg = served
    for op, says in (("dr-test", "dr_test move completed"), ("cleanup", "dr_test cleanup has completed"),
                     ("move", "3 out of 3 managed VMs have been successfully moved")):
        run = await aksystui("submit", op, "customerC", "--wait", "--config", str(cfg))
        assert run.rc == 0 and "succeeded" in run.out and says in run.out, (op, run.out, run.err)
    # a moved tenant's `submit move --wait` is the move home: rediscovery first, then the move
    run = await aksystui("submit", "move", "customerC", "--wait", "--config", str(cfg))
    assert run.rc == 0, (run.out, run.err)
    assert "queued #4: ksysmgr -t discover site WDC" in run.out and "step 1 of 2 of the move home to DAL" in run.out
    assert "queued #5: ksysmgr -f -t move site from=WDC to=DAL dr_type=planned" in run.out
    assert {v.site for v in runner.world.nodes["ksysorch-dal12"].state.managed_vms()} == {"DAL"}
    assert runner.world.collisions.entries() == []
