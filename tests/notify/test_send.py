"""One delivery attempt (notify/send.py) against a receiver on 127.0.0.1 and
against commands: what arrives, what counts as delivered, timeouts that end
the attempt, and secrets that never reach an outcome or a log."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ksystui.config_oncall import NotifyConfig
from ksystui.core.notices import alert_acknowledged, alert_raised, hook_test_notice
from ksystui.notify.send import proxy_for, send
from tests.notify.builders import RAISED, acked, alert
from tests.waiting import eventually

from .conftest import CANARY_KEY, CANARY_TOKEN
from .vendor_shapes import ALERTMANAGER_WEBHOOK, GENERIC_NOTICE, pagerduty_problems, problems

NOTICE = alert_raised(alert())
SHORT = timedelta(seconds=0.5)


def webhook(**fields) -> NotifyConfig:
    return NotifyConfig(name="hook", kind="webhook", **fields)


def command(*argv: str, **fields) -> NotifyConfig:
    return NotifyConfig(name="script", kind="exec", command=list(argv), **fields)


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        for secret in (CANARY_TOKEN, CANARY_KEY):
            assert secret not in str(text), (secret, text)


async def test_a_webhook_receives_the_json_and_2xx_is_delivered(receiver):
    outcome = await send(webhook(url=receiver.url("/in")), NOTICE)
    assert (outcome.ok, outcome.status, outcome.error) == (True, "HTTP 200", None)
    (got,) = receiver.received
    assert got.path == "/in" and got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Ksystui-Delivery-Key"] == NOTICE.delivery_key
    assert got.headers["User-Agent"].startswith("ksystui/")
    assert problems(got.body, GENERIC_NOTICE) == [] and got.body["delivery_key"] == NOTICE.delivery_key
    receiver.answers = [202, 204]
    for _ in range(2):
        assert (await send(webhook(url=receiver.url()), NOTICE)).ok


async def test_alertmanager_and_pagerduty_receivers_get_their_documented_shapes(receiver, monkeypatch):
    monkeypatch.setenv("PD_KEY", CANARY_KEY)
    assert (await send(webhook(url=receiver.url("/am"), format="alertmanager"), NOTICE)).ok
    pd = webhook(url=receiver.url("/v2/enqueue"), format="pagerduty", routing_key_env="PD_KEY")
    assert (await send(pd, NOTICE)).ok
    assert (await send(pd, alert_acknowledged(acked()))).ok
    am, trigger, ack = (r.body for r in receiver.received)
    assert problems(am, ALERTMANAGER_WEBHOOK) == []
    assert pagerduty_problems(trigger) == [] and pagerduty_problems(ack) == []
    assert (trigger["event_action"], ack["event_action"]) == ("trigger", "acknowledge")
    assert trigger["dedup_key"] == ack["dedup_key"] and trigger["routing_key"] == CANARY_KEY


async def test_a_failing_receiver_is_not_delivered_and_its_echo_never_reaches_the_outcome(receiver, monkeypatch,
                                                                                         caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOOK_URL", receiver.url(f"/{CANARY_TOKEN}?token={CANARY_TOKEN}"))
    monkeypatch.setenv("PD_KEY", CANARY_KEY)
    receiver.answers = [500, 429]
    hook = webhook(url_env="HOOK_URL", format="pagerduty", routing_key_env="PD_KEY")
    first, second = [await send(hook, NOTICE) for _ in range(2)]
    assert (first.ok, first.status, first.error) == (False, "HTTP 500", "HTTP 500 Internal Server Error")
    assert (second.ok, second.status) == (False, "HTTP 429")
    assert len(receiver.received) == 2  # one attempt each: retrying is the caller's
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp.access"))
    assert_no_secret(first, second, ours)  # (the receiver's own access log is the receiver's business)
    assert "hook: alert.raised" in ours and "HTTP 500" in ours  # logged, by hook name


async def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_unconfigured(receiver, monkeypatch):
    monkeypatch.setenv("PD_KEY", CANARY_KEY)
    receiver.answers = [302]
    outcome = await send(webhook(url=receiver.url(), format="pagerduty", routing_key_env="PD_KEY"), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "HTTP 302") and "redirects are not followed" in outcome.error
    assert [r.path for r in receiver.received] == ["/hook"]


async def test_a_receiver_that_never_answers_is_given_up_at_the_hooks_timeout(receiver, monkeypatch):
    receiver.hang = True
    monkeypatch.setenv("HOOK_URL", receiver.url(f"/{CANARY_TOKEN}"))
    started = time.monotonic()
    outcome = await send(webhook(url_env="HOOK_URL", timeout=SHORT), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "timeout") and "no answer within" in outcome.error
    assert time.monotonic() - started < 5  # the attempt ended: it did not wait for the receiver
    assert len(receiver.received) == 1
    assert_no_secret(outcome)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_nobody_listening_is_unreachable_without_the_address_path(monkeypatch):
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{closed_port()}/{CANARY_TOKEN}")
    outcome = await send(webhook(url_env="HOOK_URL"), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "unreachable") and outcome.error.startswith("cannot connect")
    assert_no_secret(outcome)


async def test_url_and_key_come_from_files_relative_to_the_configuration_and_are_read_at_send_time(
        receiver, tmp_path):
    (tmp_path / "url").write_text(receiver.url(f"/{CANARY_TOKEN}") + "\n")
    hook = webhook(url_file=Path("url"), format="pagerduty", routing_key_file=Path("key"))
    missing = await send(hook, NOTICE, base_dir=tmp_path)
    assert (missing.ok, missing.status) == (False, "not configured") and "routing key" in missing.error
    (tmp_path / "key").write_text(CANARY_KEY)  # written after the hook was configured: read now
    assert (await send(hook, NOTICE, base_dir=tmp_path)).ok
    assert receiver.received[0].body["routing_key"] == CANARY_KEY
    assert receiver.received[0].path == f"/{CANARY_TOKEN}"


@pytest.mark.parametrize(("value", "says"), [
    (None, "HOOK_URL (URL of hook hook) is not set"),
    (f"ftp://example.invalid/{CANARY_TOKEN}", "not an http:// or https:// address"),
    (f"http://[::1/{CANARY_TOKEN}", "not a valid address"),
])
async def test_a_url_that_cannot_be_used_is_not_configured_and_not_quoted(value, says, monkeypatch):
    if value is None:
        monkeypatch.delenv("HOOK_URL", raising=False)
    else:
        monkeypatch.setenv("HOOK_URL", value)
    outcome = await send(webhook(url_env="HOOK_URL"), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "not configured") and says in outcome.error, outcome
    assert_no_secret(outcome)


async def test_an_exec_hook_gets_the_json_on_stdin_and_exit_0_is_delivered(tmp_path):
    got = tmp_path / "got.json"
    env = tmp_path / "env"
    script = f'cat > {got}; echo "$KSYSTUI_DELIVERY_KEY $KSYSTUI_SEVERITY $KSYSTUI_HOOK" > {env}'
    outcome = await send(command("/bin/sh", "-c", script, format="alertmanager"), NOTICE)
    assert (outcome.ok, outcome.status, outcome.error) == (True, "exit 0", None)
    assert problems(json.loads(got.read_text()), ALERTMANAGER_WEBHOOK) == []
    assert env.read_text().split() == [NOTICE.delivery_key, "critical", "script"]


async def test_an_exec_hook_that_fails_says_its_last_stderr_line_scrubbed_of_the_key(monkeypatch):
    monkeypatch.setenv("PD_KEY", CANARY_KEY)
    script = 'key=$(sed -n "s/.*routing_key\\": \\"\\([^\\"]*\\).*/\\1/p"); echo "first" >&2; ' \
             'echo "rejected key $key" >&2; exit 3'
    outcome = await send(command("/bin/sh", "-c", script, format="pagerduty", routing_key_env="PD_KEY"), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "exit 3")
    assert outcome.error == "exit 3: rejected key ***", outcome.error


async def test_a_command_that_writes_much_is_judged_by_its_last_whole_line(monkeypatch):
    monkeypatch.setenv("PD_KEY", CANARY_KEY)
    # a megabyte of noise, then a line longer than what is kept that holds the key, then its last words
    script = ('cat > /dev/null; head -c 1000000 /dev/zero | tr "\\0" x >&2; echo >&2; '
              f'head -c 5000 /dev/zero | tr "\\0" y >&2; echo " {CANARY_KEY}" >&2; echo "gave up" >&2; exit 4')
    outcome = await send(command("/bin/sh", "-c", script, format="pagerduty", routing_key_env="PD_KEY"), NOTICE)
    assert (outcome.ok, outcome.status, outcome.error) == (False, "exit 4", "exit 4: gave up")
    # a last line cut at its start is never quoted: the cut may fall inside a secret, which scrubbing
    # would then no longer recognise
    cut = await send(command("/bin/sh", "-c", f'head -c 9000 /dev/zero | tr "\\0" y >&2; '
                                              f'echo "{CANARY_KEY[:-3]}" >&2; exit 5'), NOTICE)
    assert cut.error == "exit 5" and CANARY_KEY[-10:] not in cut.error


async def test_a_command_that_cannot_start_is_not_started(tmp_path):
    outcome = await send(command(str(tmp_path / "no-such-program")), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "not started") and "No such file" in outcome.error
    # a relative program path is the configuration directory's
    (tmp_path / "hook.sh").write_text("#!/bin/sh\ncat >/dev/null\n")
    (tmp_path / "hook.sh").chmod(0o755)
    assert (await send(command("./hook.sh"), NOTICE, base_dir=tmp_path)).ok


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose: it runs nothing any more
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path):
    pids = tmp_path / "pids"
    # the command starts a child that holds the pipes, then waits: both must go
    script = f"sleep 60 & echo $$ $! > {pids}; wait"
    started = time.monotonic()
    outcome = await send(command("/bin/sh", "-c", script, timeout=SHORT), hook_test_notice("s", RAISED, "1"))
    assert (outcome.ok, outcome.status) == (False, "timeout") and "killed after" in outcome.error
    assert time.monotonic() - started < 5
    shell, child = map(int, pids.read_text().split())
    await eventually(lambda: not alive(shell) and not alive(child), timeout=5)


async def test_a_cancelled_attempt_leaves_no_command_running(tmp_path):
    pids = tmp_path / "pids"
    task = asyncio.create_task(send(command("/bin/sh", "-c", f"echo $$ > {pids}; exec sleep 60"), NOTICE))
    await eventually(lambda: pids.exists() and pids.read_text().strip() != "", timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(pids.read_text())
    await eventually(lambda: not alive(pid), timeout=5)


async def test_a_proxy_the_environment_names_is_used_except_for_loopback_and_no_proxy(receiver, monkeypatch):
    # the receiver plays the proxy: the request for a name that resolves nowhere reaches it
    monkeypatch.setenv("HTTP_PROXY", receiver.base)
    assert (await send(webhook(url="http://hooks.example.invalid/in"), NOTICE)).ok
    (got,) = receiver.received
    assert got.headers["Host"] == "hooks.example.invalid"
    # NO_PROXY names who is reached directly (asked of proxy_for: a direct try would resolve a name)
    assert proxy_for("http://hooks.example.invalid/in") == receiver.base
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    assert proxy_for("http://hooks.example.invalid/in") is None
    # a loopback receiver is reached directly, whatever proxy is named
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    assert (await send(webhook(url=receiver.url("/direct")), NOTICE)).ok


async def test_a_dead_proxy_is_unreachable_and_its_credentials_are_not_quoted(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:{CANARY_TOKEN}@127.0.0.1:{closed_port()}")
    outcome = await send(webhook(url="https://hooks.example.invalid/in"), NOTICE)
    assert (outcome.ok, outcome.status) == (False, "unreachable") and "through the proxy" in outcome.error
    assert_no_secret(outcome)


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that no authority signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx


@contextlib.asynccontextmanager
async def tls_receiver(ctx: ssl.SSLContext, received: list[bytes]) -> AsyncIterator[int]:
    """An HTTPS receiver on 127.0.0.1 with the server context ``ctx``; yields its port."""

    async def handle(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def test_a_receiver_whose_certificate_nobody_vouches_for_gets_nothing(tmp_path, monkeypatch):
    received: list[bytes] = []
    async with tls_receiver(self_signed(tmp_path), received) as port:
        monkeypatch.setenv("PD_KEY", CANARY_KEY)
        hook = webhook(url=f"https://127.0.0.1:{port}/{CANARY_TOKEN}", format="pagerduty", routing_key_env="PD_KEY")
        outcome = await send(hook, NOTICE)
    assert (outcome.ok, outcome.status) == (False, "unreachable") and "certificate" in outcome.error.lower(), outcome
    assert received == []  # the key never left: the certificate was checked before anything was sent
    assert_no_secret(outcome)


async def test_a_receiver_behind_a_private_authority_is_trusted_through_its_ca_file(tmp_path, monkeypatch):
    """``ca_file``: the authority that signed the receiver's certificate (a
    private CA) is trusted for this hook; without it the same receiver gets
    nothing; a CA file that cannot be read says so and sends nothing."""
    from ksystui.sim.keys import tls_material

    material = tls_material(None)
    (tmp_path / "ca.pem").write_bytes(material.ca_cert_pem)
    (tmp_path / "server.pem").write_bytes(material.cert_pem)
    (tmp_path / "server.key").write_bytes(material.key_pem)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    received: list[bytes] = []
    async with tls_receiver(server, received) as port:
        url = f"https://127.0.0.1:{port}/in"
        trusted = await send(webhook(url=url, ca_file=tmp_path / "ca.pem"), NOTICE)
        untrusted = await send(webhook(url=url), NOTICE)
        unreadable = await send(webhook(url=url, ca_file=tmp_path / "missing.pem"), NOTICE)
    assert (trusted.ok, trusted.status) == (True, "HTTP 200")
    assert (untrusted.ok, untrusted.status) == (False, "unreachable") and "certificate" in untrusted.error.lower()
    assert (unreadable.ok, unreadable.status) == (False, "not configured") and "missing.pem" in unreadable.error
    assert len(received) == 1


def test_a_ca_file_is_for_a_webhook_and_sits_beside_the_configuration(tmp_path):
    from ksystui.config import parse_config

    with pytest.raises(ValueError, match="ca_file is for kind"):
        command("/bin/true", ca_file=tmp_path / "ca.pem")
    text = ('[[tenants]]\nname = "customerA"\npriority = 1\n[[tenants.nodes]]\nname = "n1"\n'
            '[tenants.nodes.ssh]\nhost = "127.0.0.1"\nuser = "ksys"\nkey_file = "id"\n'
            '[[notify]]\nname = "noc"\nkind = "webhook"\nurl = "https://noc.example/in"\nca_file = "noc-ca.pem"\n')
    loaded = parse_config(text, tmp_path / "config.toml")
    assert loaded.config.notify[0].ca_file == tmp_path / "noc-ca.pem"
