"""SshTransport against the simulated KSYS nodes on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ksystui.sim import keys
from ksystui.sim.runner import SimRunner
from ksystui.transport import ssh as ssh_module
from ksystui.transport.backoff import Backoff
from ksystui.transport.base import CommandResult, KsysTransport
from ksystui.transport.errors import (
    AuthFailed,
    CommandFailed,
    HostKeyMismatch,
    HostKeyUnknown,
    Timeout,
    TransportError,
    Unreachable,
    with_suffix,
)
from ksystui.transport.known_hosts import KnownHostsFile, known_hosts_line, match_files
from ksystui.transport.ssh import SshTransport

ONPREM_A = "r7r3m116"
ONPREM_B = "r7r3m108"
QUERY_VM = ["ksysmgr", "query", "vm"]
DISCOVER_A = ["ksysmgr", "-t", "discover", "site", "customerA"]
# a site discovery of customerA takes about a second at this speed
DISCOVER_SPEED = 40.0


@pytest.fixture
def count_connects(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every asyncssh.connect made by the transport, with its keyword arguments."""
    calls: list[dict[str, Any]] = []
    real = asyncssh.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssh_module.asyncssh, "connect", counting)
    return calls


def hosts_line(sim: SimRunner, node: str, key: asyncssh.SSHKey) -> str:
    return keys.known_hosts_line(sim.host, sim.endpoints[node].ssh_port, key) + "\n"


# --- commands -------------------------------------------------------------------


async def test_query_vm_over_ssh(make_ssh) -> None:
    t = make_ssh()
    assert isinstance(t, KsysTransport)
    result = await t.run(QUERY_VM)
    assert isinstance(result, CommandResult)
    assert result.argv == tuple(QUERY_VM)
    assert result.rc == 0
    assert result.stderr == ""
    assert "Name:                cA_oradb01" in result.stdout
    assert "State:" in result.stdout
    assert 0 < result.duration < 5
    health = t.health
    assert health.connected and health.host_key_status == "verified"
    assert health.last_latency_ms is not None and health.next_attempt_at is None
    assert t.host_key_status == "verified" and t.next_attempt_at is None


async def test_nonzero_exit_raises_command_failed_with_rc_and_stderr(make_ssh) -> None:
    t = make_ssh()
    with pytest.raises(CommandFailed) as info:
        await t.run(["ksysmgr", "query", "vm", "nosuchvm"])
    err = info.value
    assert err.rc == 2 and err.kind == "command_failed" and err.node == ONPREM_A
    assert "nosuchvm" in err.stderr
    assert str(err).startswith(f"{ONPREM_A}: ") and "\n" not in str(err)
    assert err.argv == ("ksysmgr", "query", "vm", "nosuchvm")


async def test_check_false_returns_the_rc(make_ssh) -> None:
    t = make_ssh()
    result = await t.run(["ksysmgr", "query", "vm", "nosuchvm"], check=False)
    assert result.rc == 2
    assert "nosuchvm" in result.stderr


async def test_argv_is_quoted_never_interpreted_by_a_shell(make_ssh) -> None:
    t = make_ssh()
    hostile = "x; ksysmgr query site"
    result = await t.run(["ksysmgr", "query", "vm", hostile], check=False)
    assert result.rc == 2
    assert hostile in result.stderr  # one word reached ksysmgr
    assert "Name:" not in result.stdout
    with pytest.raises(TypeError):
        await t.run("ksysmgr query vm")  # type: ignore[arg-type]


async def test_input_answers_a_prompt(make_ssh) -> None:
    t = make_ssh()
    cmd = ["ksysmgr", "-i", "move", "site", "from=customerA", "to=service_provider", "dr_test=yes"]
    declined = await t.run(cmd, input="n\n", check=False)
    assert "Do you wish to proceed? [y/n]" in declined.stdout
    assert declined.rc != 0
    # no input at all: stdin is closed, the prompt reads EOF instead of hanging
    silent = await t.run(cmd, check=False, timeout=5)
    assert silent.rc != 0


async def test_concurrent_commands_share_one_connection(
    sim: SimRunner, make_ssh, count_connects
) -> None:
    t = make_ssh()
    a, b, c = await asyncio.gather(
        t.run(QUERY_VM), t.run(["ksysmgr", "query", "site"]), t.run(QUERY_VM)
    )
    assert a.rc == b.rc == c.rc == 0
    assert "cA_oradb01" in a.stdout and "Name:" in b.stdout
    assert len(count_connects) == 1
    assert t.connections_opened == 1
    assert sim.ssh_servers[ONPREM_A].connection_count == 1
    # and the connection is reused afterwards
    await t.run(QUERY_VM)
    assert len(count_connects) == 1


async def test_connect_options_are_safe(make_ssh, count_connects, state: Path) -> None:
    t = make_ssh(keepalive_interval=7)
    await t.run(QUERY_VM)
    (kwargs,) = count_connects
    assert kwargs["known_hosts"] is not None
    assert kwargs["password_auth"] is False and kwargs["kbdint_auth"] is False
    assert kwargs["preferred_auth"] == "publickey"
    assert kwargs["agent_path"] is None and kwargs["agent_forwarding"] is False
    assert kwargs["keepalive_interval"] == 7 and kwargs["keepalive_count_max"] == 3
    assert kwargs["connect_timeout"] == 3
    assert kwargs["config"] is None


async def test_stream_yields_lines_while_a_query_runs_alongside(
    sim: SimRunner, make_ssh, count_connects
) -> None:
    sim.world.speed = DISCOVER_SPEED
    t = make_ssh()
    arrivals: list[tuple[float, str]] = []
    query_done: list[float] = []

    async def query() -> None:
        result = await t.run(QUERY_VM)
        assert result.rc == 0
        query_done.append(time.monotonic())

    start = time.monotonic()
    async with t.stream(DISCOVER_A, timeout=10) as s:
        side: asyncio.Task[None] | None = None
        async for line in s:
            arrivals.append((time.monotonic(), line))
            if side is None:
                side = asyncio.create_task(query())
    assert side is not None
    await side
    end = arrivals[-1][0]

    assert s.returncode == 0, s.stderr
    assert s.stderr == ""
    assert len(arrivals) >= 4
    assert all(not line.endswith("\n") for _, line in arrivals)
    assert "successfully discovered" in arrivals[-1][1]
    # lines arrive over time, not in one burst at the end
    assert end - arrivals[0][0] > 0.5
    assert len({round(at - start, 1) for at, _ in arrivals}) >= 3
    # the query on the same transport finished long before the stream ended
    assert query_done[0] < end - 0.3
    assert len(count_connects) == 1


async def test_stream_reports_the_exit_status(make_ssh) -> None:
    t = make_ssh()
    async with t.stream(["ksysmgr", "query", "vm", "nosuchvm"]) as s:
        lines = [line async for line in s]
    assert lines == []
    assert s.returncode == 2
    assert "nosuchvm" in s.stderr


# --- faults -----------------------------------------------------------------------


async def test_node_down_fails_fast_in_backoff_then_recovers(sim: SimRunner, make_ssh) -> None:
    t = make_ssh(backoff=Backoff(initial=0.5, factor=2, cap=1, jitter=0))
    await t.run(QUERY_VM)
    sim.world.faults.inject("node_down", ONPREM_A)

    t0 = time.monotonic()
    with pytest.raises(Unreachable) as first:
        await t.run(QUERY_VM)
    assert time.monotonic() - t0 < 1.5
    assert first.value.kind == "unreachable"

    # the connection is gone for good now: the next attempt fails and backs off
    with pytest.raises(Unreachable):
        await t.run(QUERY_VM)
    assert t.next_attempt_at is not None

    t0 = time.monotonic()
    for _ in range(5):
        with pytest.raises(Unreachable) as fast:
            await t.run(QUERY_VM)
        assert "next attempt at" in str(fast.value)
    assert time.monotonic() - t0 < 0.1  # no network at all while in backoff
    assert t.health.next_attempt_at is not None
    assert t.health.last_error is not None

    sim.world.faults.clear("node_down", ONPREM_A)
    # still in backoff right after the fault clears ...
    with pytest.raises(Unreachable):
        await t.run(QUERY_VM)
    # ... and back once the backoff has elapsed (the transport says when that is)
    assert t.next_attempt_at is not None
    await asyncio.sleep(max(0.0, (t.next_attempt_at - datetime.now(UTC)).total_seconds()) + 0.05)
    result = await t.run(QUERY_VM)
    assert result.rc == 0
    assert t.next_attempt_at is None
    assert t.health.connected


async def test_backoff_grows_while_the_node_stays_down(sim: SimRunner, make_ssh) -> None:
    t = make_ssh(backoff=Backoff(initial=0.1, factor=2, cap=0.4, jitter=0))
    sim.world.faults.inject("node_down", ONPREM_A)
    waits = []
    for _ in range(4):
        with pytest.raises(Unreachable):
            await t.run(QUERY_VM)
        assert t.next_attempt_at is not None
        waits.append(t.backoff.failures)
        await asyncio.sleep((t.next_attempt_at - datetime.now(UTC)).total_seconds() + 0.02)
        assert t.next_attempt_at is None
    assert waits == [1, 2, 3, 4]
    assert t.backoff.peek_base() == 0.4  # capped


async def test_drop_ssh_during_run_is_unreachable(sim: SimRunner, make_ssh) -> None:
    sim.world.speed = DISCOVER_SPEED
    t = make_ssh()
    await t.run(QUERY_VM)
    sim.world.faults.inject("drop_ssh", ONPREM_A)
    t0 = time.monotonic()
    with pytest.raises(Unreachable) as info:
        await t.run(DISCOVER_A)
    assert time.monotonic() - t0 < 2
    assert "lost" in info.value.message
    # the next command reconnects on its own
    sim.world.faults.clear("drop_ssh", ONPREM_A)
    assert (await t.run(QUERY_VM)).rc == 0
    assert t.connections_opened == 2


async def test_drop_ssh_during_stream_is_unreachable(sim: SimRunner, make_ssh) -> None:
    sim.world.speed = DISCOVER_SPEED
    t = make_ssh()
    sim.world.faults.inject("drop_ssh", ONPREM_A)
    lines: list[str] = []
    with pytest.raises(Unreachable):
        async with t.stream(DISCOVER_A, timeout=5) as s:
            async for line in s:
                lines.append(line)
    assert len(lines) <= 1
    assert s.returncode is None


async def test_slow_node_times_out_within_the_command_timeout(sim: SimRunner, make_ssh) -> None:
    t = make_ssh()
    await t.run(QUERY_VM)
    sim.world.faults.inject("slow", ONPREM_A, seconds=3)
    t0 = time.monotonic()
    with pytest.raises(Timeout) as info:
        await t.run(QUERY_VM, timeout=0.5)
    spent = time.monotonic() - t0
    assert 0.45 <= spent < 1.0
    assert info.value.kind == "timeout" and "0.5" in str(info.value)
    # a slow command is not a dead connection
    sim.world.faults.clear("slow", ONPREM_A)
    assert (await t.run(QUERY_VM)).rc == 0
    assert t.connections_opened == 1


async def test_default_command_timeout_applies(sim: SimRunner, make_ssh) -> None:
    t = make_ssh(command_timeout=0.4)
    sim.world.faults.inject("slow", ONPREM_A, seconds=3)
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        await t.run(QUERY_VM)
    assert time.monotonic() - t0 < 0.9


async def test_stream_timeout_is_the_longest_silence(sim: SimRunner, make_ssh) -> None:
    t = make_ssh()
    sim.world.faults.inject("slow", ONPREM_A, seconds=3)
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        async with t.stream(QUERY_VM, timeout=0.3) as s:
            async for _ in s:
                pass
    assert time.monotonic() - t0 < 0.9


async def test_refused_port_is_unreachable(make_ssh) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = make_ssh(port=port)
    with pytest.raises(Unreachable) as info:
        await t.run(QUERY_VM)
    assert "refused" in str(info.value)


async def test_silent_server_is_a_connect_timeout_then_backoff(make_ssh) -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never says a word (no SSH banner)
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        t = make_ssh(port=port, connect_timeout=0.3, backoff=Backoff(initial=5, cap=5, jitter=0))
        t0 = time.monotonic()
        with pytest.raises(Timeout) as info:
            await t.run(QUERY_VM)
        assert time.monotonic() - t0 < 1.0
        assert "0.3" in str(info.value)
        with pytest.raises(Unreachable) as fast:
            await t.run(QUERY_VM)
        assert "next attempt at" in str(fast.value)
        # a caller's own deadline shorter than the connect timeout wins
        slow = make_ssh(port=port, connect_timeout=3)
        t0 = time.monotonic()
        with pytest.raises(Timeout):
            await slow.run(QUERY_VM, timeout=0.2)
        assert time.monotonic() - t0 < 0.6
    finally:
        server.close()


# --- host keys ----------------------------------------------------------------------


async def test_changed_host_key_is_a_mismatch_naming_file_and_line(
    sim: SimRunner, make_ssh, tmp_path: Path
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "known_hosts"
    path.write_text(
        "# ksystui test\n"
        + hosts_line(sim, ONPREM_B, sim.host_keys[ONPREM_B])
        + hosts_line(sim, ONPREM_A, impostor)
    )
    t = make_ssh(known_hosts=path)
    with pytest.raises(HostKeyMismatch) as info:
        await t.run(QUERY_VM)
    err = info.value
    assert type(err) is HostKeyMismatch and err.kind == "host_key_mismatch"
    assert err.known_hosts_file == path and err.line == 3
    assert f"{path} line 3" in str(err) and str(err).startswith(ONPREM_A)
    assert t.host_key_status == "mismatch"


async def test_mismatch_is_never_trusted_on_first_use(
    sim: SimRunner, make_ssh, tmp_path: Path
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "known_hosts"
    path.write_text(hosts_line(sim, ONPREM_A, impostor))
    tofu = tmp_path / "tofu"
    # a backoff long enough that the second call surely falls inside it, however busy the machine
    t = make_ssh(known_hosts=path, trust_on_first_use=True, tofu_known_hosts=tofu, backoff=Backoff(initial=5, cap=5, jitter=0))
    with pytest.raises(HostKeyMismatch) as info:
        await t.run(QUERY_VM)
    assert type(info.value) is HostKeyMismatch and info.value.line == 1
    assert not tofu.exists()
    # and during backoff the same reason is given, not "unreachable"
    with pytest.raises(HostKeyMismatch) as again:
        await t.run(QUERY_VM)
    assert again.value.line == 1 and "next attempt" in str(again.value)


async def test_unknown_host_is_refused_without_tofu(sim: SimRunner, make_ssh, tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(hosts_line(sim, ONPREM_B, sim.host_keys[ONPREM_B]))
    t = make_ssh(known_hosts=path)
    with pytest.raises(HostKeyUnknown) as info:
        await t.run(QUERY_VM)
    err = info.value
    assert isinstance(err, HostKeyMismatch) and err.kind == "host_key_unknown"
    assert err.line is None and err.known_hosts_file == path
    assert str(path) in str(err)
    assert t.host_key_status == "unknown"


async def test_missing_known_hosts_file_is_unknown_not_unchecked(make_ssh, tmp_path: Path) -> None:
    t = make_ssh(known_hosts=tmp_path / "nope")
    with pytest.raises(HostKeyUnknown) as info:
        await t.run(QUERY_VM)
    assert "missing" in str(info.value)


async def test_trust_on_first_use_records_the_key_and_reuses_it(
    sim: SimRunner, make_ssh, tmp_path: Path
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(hosts_line(sim, ONPREM_B, sim.host_keys[ONPREM_B]))
    tofu = tmp_path / "ksystui" / "tofu_known_hosts"
    first = make_ssh(known_hosts=path, trust_on_first_use=True, tofu_known_hosts=tofu)
    assert (await first.run(QUERY_VM)).rc == 0
    assert first.host_key_status == "trusted-on-first-use"

    assert stat.S_IMODE(tofu.stat().st_mode) == 0o600
    recorded = tofu.read_text()
    port = sim.endpoints[ONPREM_A].ssh_port
    expected = known_hosts_line(sim.host, port, sim.host_keys[ONPREM_A])
    assert recorded == expected + "\n"
    assert path.read_text() == hosts_line(sim, ONPREM_B, sim.host_keys[ONPREM_B])  # untouched

    second = make_ssh(known_hosts=path, trust_on_first_use=True, tofu_known_hosts=tofu)
    assert (await second.run(QUERY_VM)).rc == 0
    assert second.host_key_status == "trusted-on-first-use"
    assert tofu.read_text() == recorded  # verified against it, not appended again

    # a different key for the recorded host is a mismatch naming the tofu file
    tofu.write_text(known_hosts_line(sim.host, port, asyncssh.generate_private_key("ssh-ed25519")) + "\n")
    third = make_ssh(known_hosts=path, trust_on_first_use=True, tofu_known_hosts=tofu)
    with pytest.raises(HostKeyMismatch) as info:
        await third.run(QUERY_VM)
    assert type(info.value) is HostKeyMismatch
    assert info.value.known_hosts_file == tofu and info.value.line == 1


async def test_tofu_file_is_not_consulted_when_tofu_is_off(
    sim: SimRunner, make_ssh, tmp_path: Path
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("")
    tofu = tmp_path / "tofu"
    tofu.write_text(hosts_line(sim, ONPREM_A, sim.host_keys[ONPREM_A]))
    with pytest.raises(HostKeyUnknown):
        await make_ssh(known_hosts=path, tofu_known_hosts=tofu).run(QUERY_VM)


async def test_known_hosts_is_required() -> None:
    with pytest.raises(TypeError):
        missing: Any = None  # there is no way to switch host key checking off
        SshTransport(ONPREM_A, host="127.0.0.1", key_file=Path("k"), known_hosts=missing)
    with pytest.raises(ValueError):
        SshTransport(ONPREM_A, host="127.0.0.1", known_hosts=Path("kh"))  # neither key nor agent


# --- authentication -----------------------------------------------------------------


async def test_unknown_client_key_is_auth_failed(make_ssh, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    keys.write_private(stranger, asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    t = make_ssh(key_file=stranger)
    with pytest.raises(AuthFailed) as info:
        await t.run(QUERY_VM)
    assert info.value.kind == "auth_failed" and "refused our SSH key" in str(info.value)
    assert t.host_key_status == "verified"  # the host was fine; we were not


async def test_wrong_user_is_auth_failed(make_ssh) -> None:
    with pytest.raises(AuthFailed):
        await make_ssh(user="padmin").run(QUERY_VM)


async def test_unreadable_key_file_is_auth_failed(make_ssh, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    key = asyncssh.generate_private_key("ssh-ed25519")
    keys.write_private(locked, key.export_private_key("pkcs8-pem", passphrase="secret"))
    with pytest.raises(AuthFailed) as info:
        await make_ssh(key_file=locked).run(QUERY_VM)
    assert str(locked) in str(info.value)


@pytest.fixture
async def ssh_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private ssh-agent for this test (the process is ended by its pid)."""
    import shutil

    binary = shutil.which("ssh-agent")
    if binary is None:
        pytest.skip("no ssh-agent binary")
    sock = tmp_path / "agent.sock"
    proc = await asyncio.create_subprocess_exec(
        binary, "-D", "-a", str(sock), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        # the socket file appears before the agent accepts on it: wait until it answers
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                agent = await asyncssh.connect_agent(str(sock))
            except (OSError, ValueError):
                agent = None
            if agent is not None:
                try:
                    await agent.get_keys()
                    break
                except Exception:  # accepted but not serving yet
                    pass
                finally:
                    agent.close()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("ssh-agent did not start within 10 s")
            await asyncio.sleep(0.02)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield sock
    finally:
        proc.terminate()
        await proc.wait()


async def test_ssh_agent_keys_are_used(make_ssh, ssh_agent: Path, state: Path) -> None:
    agent = await asyncssh.connect_agent(str(ssh_agent))
    try:
        await agent.add_keys([asyncssh.read_private_key(state / "id_ed25519")])
    finally:
        agent.close()
    t = make_ssh(key_file=None, use_agent=True)
    assert (await t.run(QUERY_VM)).rc == 0


async def test_empty_agent_is_auth_failed(make_ssh, ssh_agent: Path) -> None:
    with pytest.raises(AuthFailed):
        await make_ssh(key_file=None, use_agent=True).run(QUERY_VM)


# --- lifecycle ----------------------------------------------------------------------


async def test_close_closes_the_connection_and_the_transport(sim: SimRunner, make_ssh) -> None:
    t = make_ssh()
    await t.run(QUERY_VM)
    assert sim.ssh_servers[ONPREM_A].connection_count == 1
    await t.close()
    for _ in range(50):
        if sim.ssh_servers[ONPREM_A].connection_count == 0:
            break
        await asyncio.sleep(0.02)
    assert sim.ssh_servers[ONPREM_A].connection_count == 0
    with pytest.raises(TransportError):
        await t.run(QUERY_VM)
    await t.close()  # twice is fine


async def test_errors_are_one_line_naming_the_node() -> None:
    err = CommandFailed("n1", "boom\nsecond line", rc=1)
    assert str(err) == "n1: boom | second line"
    import pickle

    back = pickle.loads(pickle.dumps(HostKeyMismatch("n1", "m", known_hosts_file=Path("/k"), line=4)))
    assert back.line == 4 and back.known_hosts_file == Path("/k") and str(back) == "n1: m"


def test_a_long_reason_is_cut_before_what_happens_next() -> None:
    """In backoff the error says when the next attempt is; a long reason (a
    deep known_hosts path, a fingerprint) must not push that off the line."""
    long_reason = "host key does not match the key stored in /" + "deep/" * 80 + "known_hosts"
    err = HostKeyMismatch("n1", with_suffix(long_reason, "next attempt at 03:00:05 (in 4.9 s)"))
    assert str(err).endswith("…; next attempt at 03:00:05 (in 4.9 s)") and len(err.message) <= 300
    assert with_suffix("short", "next") == "short; next"


# --- known_hosts matching -------------------------------------------------------------


def _hashed(name: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_known_hosts_matching_mirrors_openssh_forms(tmp_path: Path) -> None:
    k1, k2, k3, k4, k5 = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(5))

    def blob(k: asyncssh.SSHKey) -> str:
        return k.export_public_key().decode().strip()

    text = "\n".join(
        [
            "# comment",
            f"[10.0.0.1]:2222,ksys1 {blob(k1)}",  # 2
            f"{_hashed('[10.0.0.2]:2222')} {blob(k2)}",  # 3
            f"ksys* ,!ksys9 {blob(k3)}".replace(" ,", ","),  # 4
            f"@revoked * {blob(k4)}",  # 5
            "garbage line",  # 6
            f"10.0.0.5 {blob(k5)}",  # 7
        ]
    )
    f = KnownHostsFile.parse(tmp_path / "kh", text)
    assert [e.line for e in f.entries] == [2, 3, 4, 5, 7]

    def lines(host: str, addr: str, port: int | None) -> list[int]:
        return [e.line for e in match_files([f], host, addr, port)]

    assert lines("10.0.0.1", "10.0.0.1", 2222) == [2, 5]
    assert lines("10.0.0.2", "10.0.0.2", 2222) == [3, 5]
    assert lines("ksys3", "192.0.2.1", None) == [4, 5]
    assert lines("ksys9", "192.0.2.1", None) == [5]
    # nothing for the port: asyncssh falls back to the port-less names
    assert lines("10.0.0.5", "10.0.0.5", 2200) == [5, 7]
    assert lines("10.0.0.1", "10.0.0.1", 2200) == [5]
