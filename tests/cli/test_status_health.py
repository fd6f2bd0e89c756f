"""`ksystui status` against the simulator's faults: it answers by its
deadline, and every problem fails it with the reason (issue 11 Headless,
issue 16 "Health that lies" and "Scoping leaks on stderr")."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

from ksystui.cli.status import run_status

from .conftest import aksystui, ksystui


async def status(cfg: Path, *args: str, tenant: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = await run_status(cfg, "--json" in args, tenant, out, err, direct=True)
    return rc, out.getvalue(), err.getvalue()


def rows(out: str) -> dict[str, tuple[str, str]]:
    """node -> (STATE, AGE) from the text report."""
    table = [line for line in out.split("\n\n")[0].splitlines()[1:] if not line.startswith("! ")]
    return {cells[2]: (cells[3], cells[4]) for cells in (line.split() for line in table)}


def reasons(out: str) -> dict[str, str]:
    return {line[2:].split(": ", 1)[0]: line[2:].split(": ", 1)[1] for line in out.splitlines() if line.startswith("! ")}


def polling_every(cfg: Path, seconds: float) -> Path:
    """The same configuration, polling every ``seconds`` (so data turns stale after three)."""
    cfg.write_text(cfg.read_text() + f"\n[poll]\ninterval = {seconds}\n")
    return cfg


async def test_a_slow_node_never_makes_the_others_stale(served, world):
    """Headless: "one node answering slowly took 46 s, reported the two
    healthy nodes 'stale 45s' and the slow one 'fresh 0s'" (here: data is
    stale after 1.5 s, and the slow node takes about 2.7 s to read)."""
    _, cfg = served
    polling_every(cfg, 0.5)
    world.faults.inject("slow", "r7r3m108", seconds=0.3)
    rc, out, err = await status(cfg, "--json")
    nodes = {n["node"]: n for t in json.loads(out)["tenants"] for n in t["nodes"]}
    assert {node: n["state"] for node, n in nodes.items()} == \
        {"r7r3m116": "fresh", "r7r3m108": "fresh", "ksysorch-dal12": "fresh"}, out
    # the ages stay true: the healthy nodes were read while the slow one was still answering
    assert nodes["r7r3m116"]["age_seconds"] - nodes["r7r3m108"]["age_seconds"] >= 1.5, out
    assert rc == 0, out + err


async def test_status_answers_by_its_deadline_and_names_the_late_node(served, world):
    """Headless: "with a 45 s node it had not returned after 120 s". By the
    deadline the others are reported as read, the late node as slow with its
    last good data, and snorlax is still shared by customerA and customerB."""
    _, cfg = served
    rc, _, _ = await status(cfg)  # an earlier run: the database holds every node's last good data
    assert rc == 0
    world.faults.inject("slow", "r7r3m108", seconds=45)
    t0 = time.monotonic()
    run = await aksystui("status", "--direct", "--timeout", "1.5", "--config", str(cfg))
    took = time.monotonic() - t0
    assert run.rc == 1, run
    found = rows(run.out)
    assert {node: state for node, (state, _) in found.items()} == \
        {"r7r3m116": "fresh", "r7r3m108": "slow", "ksysorch-dal12": "fresh"}, run.out
    assert reasons(run.out)["r7r3m108"].startswith("slow: no answer within the 1.5 s deadline (--timeout); "
                                                    "last good read "), run.out
    assert found["r7r3m108"][0] == "slow" and found["r7r3m108"][1] != "-"  # the age of its last good read
    assert "READY_TO_MOVE=5" in next(line for line in run.out.splitlines() if "r7r3m108" in line)
    shared = next(line for line in run.out.splitlines() if line.strip().startswith("snorlax"))
    assert "customerA, customerB" in shared
    assert took < 8, f"status took {took:.1f} s with a 1.5 s deadline"


async def test_a_node_that_goes_down_keeps_its_last_good_data(served, world):
    """Shared hosts still come from the last good data, run after run: a
    node down now reports the true age of its last good read, and the host
    it pairs stays shared."""
    _, cfg = served
    rc, _, _ = await status(cfg)
    assert rc == 0
    world.faults.inject("node_down", "r7r3m108")
    for _ in range(2):  # a failed read is recorded too: it must not wipe what the next run knows
        rc, out, _ = await status(cfg)
        assert rc == 1 and rows(out)["r7r3m108"][0] == "unreachable", out
        assert "; last good read " in reasons(out)["r7r3m108"], out
        assert "READY_TO_MOVE=5" in next(line for line in out.splitlines() if "r7r3m108" in line), out
        shared = next(line for line in out.splitlines() if line.strip().startswith("snorlax"))
        assert "customerA, customerB" in shared, out


async def test_unreadable_output_fails_with_the_reason(served, world):
    """Health that lies / Headless: "A node whose output cannot be parsed
    reads 'unknown' with exit 0"."""
    _, cfg = served
    world.faults.inject("malformed_output", "r7r3m108")
    rc, out, _ = await status(cfg)
    assert rc == 1, out
    assert rows(out)["r7r3m108"][0] == "unreadable"
    assert "cannot be read" in reasons(out)["r7r3m108"], out
    rc, out, _ = await status(cfg, "--json")
    assert rc == 1 and [p["state"] for p in json.loads(out)["problems"]] == ["unreadable"]


async def test_a_rest_service_rejecting_its_token_fails_with_the_reason(served, world):
    """Health that lies: "says 'fresh' while the REST service answers 401"."""
    _, cfg = served
    world.faults.inject("rest_error", "ksysorch-dal12", status=401)
    rc, out, _ = await status(cfg)
    assert rc == 1, out
    assert rows(out)["ksysorch-dal12"][0] == "degraded"
    why = reasons(out)["ksysorch-dal12"]
    assert "token rejected" in why and "401" in why, out


async def test_scoped_status_reads_and_prints_nothing_of_the_other_tenants(served, world, caplog):
    """Scoping leaks on stderr: "`status --tenant customerA` prints
    `r7r3m108: cannot connect…` on stderr when customerB's node is down".
    Faults on every other tenant; nothing of them on stdout, stderr or in
    the logs, and the exit code is customerA's alone."""
    _, cfg = served
    world.faults.inject("node_down", "r7r3m108")
    world.faults.inject("rest_error", "ksysorch-dal12", status=401)
    world.faults.inject("malformed_output", "ksysorch-dal12")
    caplog.set_level(logging.DEBUG)
    others = ["customerB", "customerC", "r7r3m108", "ksysorch-dal12", "pikachu", "cB_", "cC_"]
    for args in ((), ("--json",)):
        run = await aksystui("status", "--direct", "--tenant", "customerA", *args, "--config", str(cfg))
        assert run.rc == 0, run
        assert "r7r3m116" in run.out
        for channel, text in (("stdout", run.out), ("stderr", run.err), ("logs", caplog.text)):
            for word in others:
                assert word not in text, f"{word} on {channel}: {text}"


async def test_from_the_service_a_slow_node_is_late_and_a_rejected_token_fails(served, world, tmp_path):
    """The same truths on the provider service's data (the default path):
    the node whose read the service still waits for is slow with the age of
    its last good read, the others stay fresh, a 401 fails with the reason,
    and the report comes within its deadline."""
    from ksystui.config import load_config
    from ksystui.service.serve import Service
    from tests.waiting import eventually

    _, cfg = served
    polling_every(cfg, 0.5)

    async def from_service(*args: str):
        return await aksystui("status", *args, "--config", str(cfg))

    async with Service(load_config(cfg).config) as service:
        await service.leading.wait()

        async def all_fresh():
            run = await from_service()
            return run.rc == 0 and set(s for s, _ in rows(run.out).values()) == {"fresh"}

        await eventually(all_fresh, 30)
        world.faults.inject("slow", "r7r3m108", seconds=45)
        world.faults.inject("rest_error", "ksysorch-dal12", status=401)

        last = []

        async def truthful():
            last.append(await from_service("--timeout", "5"))
            found = {node: state for node, (state, _) in rows(last[-1].out).items()}
            return found == {"r7r3m116": "fresh", "r7r3m108": "slow", "ksysorch-dal12": "degraded"}

        await eventually(truthful, 30)
        run = last[-1]
        assert run.rc == 1 and run.err == "", run
        why = reasons(run.out)
        assert why["r7r3m108"].startswith("slow: the provider service's read of it is "), run.out
        assert "last good read" in why["r7r3m108"] and "token rejected" in why["ksysorch-dal12"], run.out
        shared = next(line for line in run.out.splitlines() if line.strip().startswith("snorlax"))
        assert "customerA, customerB" in shared
        # scoped, the other tenants' troubles are none of customerA's: not printed, not in the exit code
        scoped = await from_service("--tenant", "customerA")
        assert scoped.rc == 0, scoped
        for word in ("customerB", "customerC", "r7r3m108", "ksysorch-dal12"):
            assert word not in scoped.out + scoped.err, scoped
        assert "shared with 1 other tenant" in scoped.out


def test_a_deadline_must_be_a_positive_number_of_seconds(quiet):
    for bad in ("0", "-3", "soon"):
        run = ksystui("status", "--timeout", bad, "--config", str(quiet.config))
        assert run.rc == 2 and "--timeout" in run.err and "Traceback" not in run.err, run
