"""The simulated KSYS nodes over SSH, driven with an asyncssh client that
verifies host keys, as ksystui's own transport will."""

from __future__ import annotations

import asyncio
import time

import asyncssh
import pytest

from ksystui.sim import keys
from ksystui.sim.runner import SimRunner

ONPREM_A = "r7r3m116"  # customerA's KSYS node
# a site discovery takes about a second at this speed
DISCOVER_SPEED = 40.0


async def read_until(proc: asyncssh.SSHClientProcess, marker: str) -> str:
    """Read a shell session's output until ``marker`` shows up."""
    buf = ""
    while marker not in buf:
        chunk = await asyncio.wait_for(proc.stdout.read(4096), 5)
        assert chunk, f"EOF before {marker!r}: {buf!r}"
        buf += chunk
    return buf


async def test_query_vm_returns_the_nodes_vm_records(sim: SimRunner, local, fields) -> None:
    _, direct, _ = await local(ONPREM_A, "query vm")
    expected = fields(direct, "Name")
    assert expected, "the seed scenario gives r7r3m116 VMs"

    async with sim.connect(ONPREM_A) as conn:
        result = await conn.run("ksysmgr query vm", timeout=5)

    assert result.exit_status == 0
    assert result.stderr == ""
    assert fields(result.stdout, "Name") == expected
    assert "cA_oradb01" in expected
    assert set(fields(result.stdout, "State")) <= {"READY_TO_MOVE", "INIT", "DISCOVERED"}
    assert "READY_TO_MOVE" in fields(result.stdout, "State")


async def test_exit_status_of_ksysmgr_reaches_the_client(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A) as conn:
        missing = await conn.run("ksysmgr query vm nosuchvm", timeout=5)
        ok = await conn.run("ksysmgr q site", timeout=5)
    assert missing.exit_status == 2
    assert "nosuchvm" in missing.stderr + missing.stdout
    assert ok.exit_status == 0


async def test_unknown_command_is_not_found_127(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A) as conn:
        result = await conn.run("ls -l /var/ksys", timeout=5)
    assert result.exit_status == 127
    assert result.stderr == "ksh: ls: not found\n"
    assert result.stdout == ""


async def test_unknown_client_key_is_refused(sim: SimRunner) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with sim.connect(ONPREM_A, client_key=stranger):
            pass


async def test_only_root_may_log_in(sim: SimRunner) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with sim.connect(ONPREM_A, username="padmin"):
            pass


async def test_password_authentication_is_off(sim: SimRunner) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with asyncssh.connect(
            sim.host,
            sim.endpoints[ONPREM_A].ssh_port,
            username="root",
            password="root",
            client_keys=None,
            agent_path=None,
            known_hosts=asyncssh.import_known_hosts(sim.known_hosts),
            preferred_auth="password,keyboard-interactive",
            connect_timeout=5,
        ):
            pass


async def test_wrong_host_key_is_detected_by_the_client(sim: SimRunner) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    wrong = keys.known_hosts_line(sim.host, sim.endpoints[ONPREM_A].ssh_port, impostor) + "\n"
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with sim.connect(ONPREM_A, known_hosts=wrong):
            pass


async def test_each_node_has_its_own_host_key(sim: SimRunner) -> None:
    blobs = {keys.public_key_line(k) for k in sim.host_keys.values()}
    assert len(blobs) == len(sim.world.nodes)
    other = next(n for n in sim.world.nodes if n != ONPREM_A)
    # r7r3m116's port presented with another node's key must fail
    port = sim.endpoints[ONPREM_A].ssh_port
    wrong = keys.known_hosts_line(sim.host, port, sim.host_keys[other]) + "\n"
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with sim.connect(ONPREM_A, known_hosts=wrong):
            pass


async def test_long_command_output_is_streamed_line_by_line(sim: SimRunner) -> None:
    sim.world.speed = DISCOVER_SPEED
    arrivals: list[tuple[float, str]] = []
    async with sim.connect(ONPREM_A) as conn:
        start = time.monotonic()
        async with conn.create_process("ksysmgr -t discover site customerA") as proc:
            while line := await proc.stdout.readline():
                arrivals.append((time.monotonic() - start, line.rstrip("\n")))
            await proc.wait(timeout=10)
        end = time.monotonic() - start

    assert proc.exit_status == 0, arrivals
    assert len(arrivals) >= 4
    first, last = arrivals[0][0], arrivals[-1][0]
    # the first progress line is there long before the command ends
    assert last - first > 0.5, arrivals
    assert first < end - 0.5, (first, end)
    # arrival times spread over the run, not one burst at the end
    assert len({round(t, 1) for t, _ in arrivals}) >= 3
    stamped = [text for _, text in arrivals if text.strip()[:8].count(":") == 2]
    assert stamped, "ksysmgr -t prefixes progress lines with HH:MM:SS"


async def test_shell_prompt_shows_last_rc_and_exit_works(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A) as conn:
        proc = await conn.create_process(term_type="xterm")  # interactive shell with a pty

        banner = await read_until(proc, "# ")
        assert "(0) root @ r7r3m116: /\r\n# " in banner

        proc.stdin.write("ksysmgr query vm nosuchvm\n")
        after = await read_until(proc, "(2) root @ r7r3m116: /")
        assert "nosuchvm" in after

        proc.stdin.write("whoami\n")
        after = await read_until(proc, "(127) root @ r7r3m116: /")
        assert "ksh: whoami: not found" in after

        proc.stdin.write("exit\n")
        await asyncio.wait_for(proc.wait_closed(), 5)
    assert proc.exit_status == 127


async def test_shell_without_pty_reads_commands_from_stdin(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A) as conn:
        result = await conn.run(input="ksysmgr q site\nexit 3\n", timeout=5)
    assert result.exit_status == 3
    assert result.stdout.startswith("(0) root @ r7r3m116: /\n# ")
    assert "Name:" in result.stdout


async def test_rehearsal_prompt_is_answered_on_stdin(sim: SimRunner, fields) -> None:
    cmd = "ksysmgr -i move site from=customerA to=service_provider dr_test=yes"
    async with sim.connect(ONPREM_A) as conn:
        declined = await conn.run(cmd, input="n\n", timeout=10)
        states_after_no = fields((await conn.run("ksysmgr query vm", timeout=5)).stdout, "State")
        accepted = await conn.run(cmd, input="y\n", timeout=10)

    assert "Do you wish to proceed? [y/n]" in declined.stdout
    assert declined.exit_status != 0
    assert set(states_after_no) == {"READY_TO_MOVE"}
    assert "Do you wish to proceed? [y/n]" in accepted.stdout
    assert accepted.exit_status == 0, accepted.stdout + accepted.stderr


async def test_slow_fault_delays_the_first_output(sim: SimRunner) -> None:
    sim.world.faults.inject("slow", ONPREM_A, seconds=0.5)
    async with sim.connect(ONPREM_A) as conn:
        start = time.monotonic()
        result = await conn.run("ksysmgr q site", timeout=5)
        slow = time.monotonic() - start
        sim.world.faults.clear("slow")
        start = time.monotonic()
        await conn.run("ksysmgr q site", timeout=5)
        fast = time.monotonic() - start
    assert result.exit_status == 0
    assert slow >= 0.5
    assert fast < 0.4


async def test_drop_ssh_fault_cuts_the_connection_after_the_first_line(sim: SimRunner) -> None:
    sim.world.faults.inject("drop_ssh", ONPREM_A)
    lines: list[str] = []
    async with sim.connect(ONPREM_A) as conn:
        proc = await conn.create_process("ksysmgr -t discover site customerA")
        with pytest.raises((asyncssh.ConnectionLost, asyncssh.DisconnectError, ConnectionError)):
            while line := await proc.stdout.readline():
                lines.append(line)
            await proc.wait(timeout=5)
            await conn.run("ksysmgr q site", timeout=5)
    assert len(lines) <= 1
    assert proc.exit_status is None


async def test_node_down_drops_sessions_and_refuses_new_ones(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A) as conn:
        assert (await conn.run("ksysmgr q site", timeout=5)).exit_status == 0
        sim.world.faults.inject("node_down", ONPREM_A)
        await asyncio.wait_for(conn.wait_closed(), 3)

    with pytest.raises((OSError, asyncssh.Error)):
        async with sim.connect(ONPREM_A):
            pass

    sim.world.faults.clear("node_down", ONPREM_A)
    async with sim.connect(ONPREM_A) as conn:
        assert (await conn.run("ksysmgr q site", timeout=5)).exit_status == 0


async def test_an_operation_survives_its_dropped_session(sim: SimRunner) -> None:
    node = sim.world.nodes[ONPREM_A]
    async with sim.connect(ONPREM_A) as conn:
        proc = await conn.create_process("ksysmgr -t discover site customerA")
        await proc.stdout.readline()  # the operation has started
        conn.abort()
    # the command keeps running on the node and finishes there
    server = sim.ssh_servers[ONPREM_A]
    assert server.running_commands == 1
    await asyncio.wait_for(server.wait_commands(), 8)
    assert node.current_operation is None


async def test_client_keepalives_are_answered(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A, keepalive_interval=0.1, keepalive_count_max=2) as conn:
        await asyncio.sleep(0.6)  # several keepalive rounds
        result = await conn.run("ksysmgr q site", timeout=5)
    assert result.exit_status == 0


async def test_ctrl_c_in_the_shell_answers_no_and_gives_a_fresh_prompt(sim: SimRunner) -> None:
    async with sim.connect(ONPREM_A) as conn:
        proc = await conn.create_process(term_type="xterm")

        await read_until(proc, "# ")
        proc.stdin.write("\x03")  # Ctrl-C at the prompt
        await read_until(proc, "(130) root @ r7r3m116: /")
        proc.stdin.write("ksysmgr move site from=customerA to=service_provider dr_test=yes\n")
        await read_until(proc, "Do you wish to proceed? [y/n]")
        proc.stdin.write("\x03")  # Ctrl-C at the confirmation
        after = await read_until(proc, "(1) root @ r7r3m116: /")
        assert "cancelled" in after
        proc.stdin.write("exit 0\n")
        await asyncio.wait_for(proc.wait_closed(), 5)
    assert proc.exit_status == 0
