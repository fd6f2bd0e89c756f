"""The stock OpenSSH client against the simulator, with nothing but the files
`ksystui sim` writes: proof that a node looks like a real KSYS node to any
SSH client, not only to ours."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path

import asyncssh
import pytest

from ksystui.sim import keys
from ksystui.sim.runner import SimRunner

pytestmark = [
    pytest.mark.ssh_binary,
    pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client (ssh) is not installed"),
]

NODE = "r7r3m116"
TIMEOUT = 10
# a site discovery takes about a second at this speed
DISCOVER_SPEED = 40.0
STAMP = re.compile(r"^\s*\d\d:\d\d:\d\d\s")


@pytest.fixture
def served(sim_dir: SimRunner, state_dir: Path) -> tuple[SimRunner, Path]:
    """The seed world served with a state directory, as `ksystui sim` does."""
    return sim_dir, state_dir


def ssh_argv(state_dir: Path, port: int, command: str, known_hosts: Path | None = None) -> list[str]:
    return [
        shutil.which("ssh") or "ssh",
        "-F", "/dev/null",
        "-i", str(state_dir / "id_ed25519"),
        "-o", f"UserKnownHostsFile={known_hosts or state_dir / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-p", str(port),
        "root@127.0.0.1",
        command,
    ]  # fmt: skip


async def ssh(sim: SimRunner, state_dir: Path, command: str, **kw) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *ssh_argv(state_dir, sim.endpoints[NODE].ssh_port, command, **kw),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def vm_states(text: str) -> dict[str, str]:
    """VM name -> State from `ksysmgr query vm`."""
    states: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        if key.strip() == "Name":
            name = value.strip()
        elif key.strip() == "State" and name is not None:
            states[name] = value.strip()
    return states


async def test_queries(served) -> None:
    sim, state_dir = served
    rc, out, err = await ssh(sim, state_dir, "ksysmgr query vm")
    assert rc == 0, err
    assert "cA_oradb01" in vm_states(out)

    rc, out, err = await ssh(sim, state_dir, "ksysmgr q site")
    assert rc == 0, err
    assert "customerA" in out and "service_provider" in out

    rc, out, err = await ssh(sim, state_dir, "ksysmgr query host")
    assert rc == 0, err
    assert "pbrazos" in out and "snorlax" in out


async def test_exit_statuses(served) -> None:
    sim, state_dir = served
    rc, _, err = await ssh(sim, state_dir, "ksysmgr query vm nosuchvm")
    assert rc == 2
    rc, _, err = await ssh(sim, state_dir, "uname -a")
    assert rc == 127 and "ksh: uname: not found" in err


async def test_discover_streams_timestamped_progress(served) -> None:
    sim, state_dir = served
    sim.world.speed = DISCOVER_SPEED
    proc = await asyncio.create_subprocess_exec(
        *ssh_argv(state_dir, sim.endpoints[NODE].ssh_port, "ksysmgr -t discover site customerA"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    start = time.monotonic()
    arrivals: list[tuple[float, str]] = []
    async with asyncio.timeout(TIMEOUT):
        while line := await proc.stdout.readline():
            arrivals.append((time.monotonic() - start, line.decode().rstrip("\n")))
        await proc.wait()
    end = time.monotonic() - start

    assert proc.returncode == 0, arrivals
    stamped = [(t, text) for t, text in arrivals if STAMP.match(text)]
    assert len(stamped) >= 3, arrivals
    # progress arrives while the command runs, not all at once at the end
    assert stamped[-1][0] - stamped[0][0] > 0.5, arrivals
    assert stamped[0][0] < end - 0.5, (stamped[0][0], end)
    assert len({round(t, 1) for t, _ in stamped}) >= 3, arrivals


async def test_verify_move_and_states_change(served) -> None:
    sim, state_dir = served
    rc, before_text, err = await ssh(sim, state_dir, "ksysmgr query vm")
    assert rc == 0, err
    before = vm_states(before_text)
    assert set(before.values()) == {"READY_TO_MOVE"}

    rc, out, err = await ssh(sim, state_dir, "ksysmgr verify site customerA")
    assert rc == 0, out + err

    rc, out, err = await ssh(sim, state_dir, "ksysmgr -f move site from=customerA to=service_provider")
    assert rc == 0, out + err

    rc, after_text, err = await ssh(sim, state_dir, "ksysmgr query vm")
    assert rc == 0, err
    after = vm_states(after_text)
    assert set(after) == set(before)
    assert all(after[vm] != before[vm] for vm in before), (before, after)
    assert "READY_TO_MOVE" not in after.values()


async def test_wrong_host_key_is_refused_by_ssh(served, tmp_path: Path) -> None:
    sim, state_dir = served
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(keys.known_hosts_line("127.0.0.1", sim.endpoints[NODE].ssh_port, impostor) + "\n")
    rc, out, err = await ssh(sim, state_dir, "ksysmgr query vm", known_hosts=wrong)
    assert rc == 255
    assert out == ""
    assert "Host key verification failed" in err
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in err
