"""Each injected fault shows the right state and reason within one poll
interval, and the other nodes' polling goes on undisturbed (measured)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncssh
import pytest

from ksystui.core.snapshot import Freshness
from ksystui.fleet.connect import build_fleet, close_fleet

from .conftest import fast

INTERVAL = 0.4
TIMEOUT = 1.0
VICTIM = "r7r3m108"


class PollLog:
    """When each node published a snapshot (monotonic seconds)."""

    def __init__(self, fleet):
        self.times: dict[str, list[float]] = {n: [] for n in fleet.monitors}
        fleet.subscribe(lambda ch: self.times[ch.node].append(time.monotonic()))

    def polls_between(self, node: str, t0: float, t1: float) -> list[float]:
        return [t for t in self.times[node] if t0 <= t <= t1]


async def wait_for(predicate, timeout: float) -> float:
    """Seconds until predicate() held; fails the test after ``timeout``."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - t0


async def started(cfg):
    fleet = build_fleet(fast(cfg, INTERVAL, TIMEOUT))
    log = PollLog(fleet)
    fleet.start()
    await wait_for(lambda: all(len(v) >= 1 for v in log.times.values()), 10)
    return fleet, log


def state(fleet, node=VICTIM):
    snap = fleet.snapshots[node]
    return snap.freshness(datetime.now(UTC)), snap.health


def assert_others_undisturbed(log, t0, t1):
    """Every other node kept its cadence while the victim was in trouble."""
    span = t1 - t0
    for node in log.times:
        if node == VICTIM:
            continue
        polls = log.polls_between(node, t0, t1)
        assert len(polls) >= int(span / INTERVAL) - 1, (node, len(polls), span)
        gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
        assert max(gaps, default=0) < 2.5 * INTERVAL + 0.3, (node, gaps)


@pytest.mark.parametrize(
    "fault, params, kind, words",
    [
        ("node_down", {}, "unreachable", ""),
        ("drop_ssh", {}, "unreachable", ""),
        ("slow", {"seconds": 5.0}, "timeout", ""),
    ],
)
async def test_connection_faults_make_the_node_unreachable_with_the_reason(world, config, fault, params, kind, words):
    fleet, log = await started(config)
    try:
        t0 = time.monotonic()
        world.faults.inject(fault, VICTIM, **params)
        took = await wait_for(lambda: state(fleet)[0] is Freshness.UNREACHABLE, INTERVAL + TIMEOUT + 2)
        fresh, health = state(fleet)
        assert health.error_kind == kind and VICTIM in (health.last_error or "")
        assert took <= INTERVAL + TIMEOUT + 1.5
        await asyncio.sleep(4 * INTERVAL)
        assert_others_undisturbed(log, t0, time.monotonic())
        world.faults.clear()
        await wait_for(lambda: state(fleet)[0] is Freshness.FRESH, 10)
    finally:
        await close_fleet(fleet)


async def test_malformed_output_is_a_read_problem_not_an_outage(world, config):
    fleet, log = await started(config)
    try:
        world.faults.inject("malformed_output", VICTIM)
        await wait_for(lambda: (fleet.snapshots[VICTIM].sections["vm"].error or "") != "", INTERVAL * 2 + 1)
        snap = fleet.snapshots[VICTIM]
        assert "cannot read ksysmgr query vm: line" in snap.sections["vm"].error
        assert snap.health.error_kind == "parse"
        assert snap.freshness(datetime.now(UTC)) is not Freshness.UNREACHABLE
        assert len(snap.vms) == 5  # the last good data is kept, and ages
        await wait_for(lambda: state(fleet)[0] is Freshness.STALE, 4 * INTERVAL + 2)
        world.faults.clear()
        await wait_for(lambda: state(fleet)[0] is Freshness.FRESH, 10)
    finally:
        await close_fleet(fleet)


async def test_changed_host_key_is_a_mismatch_naming_file_and_line(served, config):
    runner, cfgpath = served
    known = runner.state_dir / "known_hosts"
    lines = known.read_text().splitlines()
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    port = runner.endpoints[VICTIM].ssh_port
    idx = next(i for i, line in enumerate(lines) if line.startswith(f"[127.0.0.1]:{port} "))
    lines[idx] = f"[127.0.0.1]:{port} {other}"
    known.write_text("\n".join(lines) + "\n")
    fleet, log = await started(config)
    try:
        fresh, health = state(fleet)
        assert fresh is Freshness.UNREACHABLE and health.error_kind == "host_key_mismatch"
        assert f"{known}:{idx + 1}" in (health.last_error or "") or str(idx + 1) in (health.last_error or "")
        assert state(fleet, "r7r3m116")[0] is Freshness.FRESH
    finally:
        await close_fleet(fleet)


async def test_refused_client_key_is_an_auth_failure(served, config, tmp_path):
    stranger = tmp_path / "stranger"
    stranger.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    stranger.chmod(0o600)
    tenants = []
    for t in config.tenants:
        nodes = [n.model_copy(update={"ssh": n.ssh.model_copy(update={"key_file": stranger})})
                 if n.name == VICTIM else n for n in t.nodes]
        tenants.append(t.model_copy(update={"nodes": nodes}))
    fleet, log = await started(config.model_copy(update={"tenants": tenants}))
    try:
        fresh, health = state(fleet)
        assert fresh is Freshness.UNREACHABLE and health.error_kind == "auth_failed"
        assert state(fleet, "r7r3m116")[0] is Freshness.FRESH
    finally:
        await close_fleet(fleet)


@pytest.mark.parametrize("how, kind", [("token", "service_auth_failed"), ("rest_error", "service_http_error")])
async def test_rest_faults_show_on_the_service_not_as_an_outage(served, world, config, tmp_path, how, kind):
    node = "ksysorch-dal12"
    if how == "token":
        bad = tmp_path / "bad.token"
        bad.write_text("not-the-token\n")
        tenants = []
        for t in config.tenants:
            nodes = [n.model_copy(update={"rest": n.rest.model_copy(update={"token_file": bad})})
                     if n.name == node else n for n in t.nodes]
            tenants.append(t.model_copy(update={"nodes": nodes}))
        config = config.model_copy(update={"tenants": tenants})
    fleet, log = await started(config)
    try:
        if how == "rest_error":
            world.faults.inject("rest_error", node, status=500)
        await wait_for(lambda: (fleet.snapshots[node].sections.get("service") is not None
                                and fleet.snapshots[node].sections["service"].error), INTERVAL * 2 + 8)
        snap = fleet.snapshots[node]
        assert snap.health.error_kind == kind
        assert "DR Automation service" in snap.sections["service"].error
        # SSH data still flows: the node and its VMs read fresh (judged when read: a loaded machine may
        # let three 0.4 s intervals pass between the poll and this line)
        await wait_for(lambda: (fleet.snapshots[node].freshness(datetime.now(UTC)) is Freshness.FRESH
                                and fleet.snapshots[node].freshness(datetime.now(UTC), "vm") is Freshness.FRESH
                                and fleet.snapshots[node].health.error_kind == kind), INTERVAL * 2 + 8)
    finally:
        await close_fleet(fleet)
