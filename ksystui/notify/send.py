"""One attempt at delivering one notice through one hook: a JSON POST
(``webhook``) or a command with the JSON on its standard input (``exec``),
each bounded by the hook's timeout. Retrying, recording and deciding what to
send are the caller's (the service's notifier, ``ksystui notify test``).

A hook's URL may carry a token and a PagerDuty routing key is one: both are
read from the environment or a file here, at send time, and never leave this
module except in the request itself. What an attempt reports
(``SendOutcome``) names what went wrong in words that carry neither: an error
text is scrubbed of the URL, its parts and the key before it is returned,
whatever library or program wrote it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass

import aiohttp

from ksystui import __version__
from ksystui.config import ConfigError, read_secret
from ksystui.config_oncall import NotifyConfig
from ksystui.core.age import format_age
from ksystui.core.notices import Notice
from ksystui.core.notify_payloads import payload

log = logging.getLogger(__name__)

ERROR_MAX = 300  # an error is one line in a log and a table, not a dump
HIDDEN = "***"
DELIVERY_KEY_HEADER = "X-Ksystui-Delivery-Key"  # a receiver that dedups by header rather than body


@dataclass(frozen=True)
class SendOutcome:
    """What one attempt came to. ``status`` is short ("HTTP 204", "exit 0",
    "timeout", "unreachable", "not configured", …); ``error`` says why it was
    not delivered, never with the URL or the key in it (None when ``ok``)."""

    ok: bool
    status: str
    error: str | None


class _Unresolved(Exception):
    """A secret that cannot be read (its message names where, never what)."""


def _path(p: Path, base_dir: Path | None) -> Path:
    p = p.expanduser()
    return p if p.is_absolute() or base_dir is None else base_dir / p


def _secret(env: str | None, file: Path | None, base_dir: Path | None, what: str) -> str | None:
    try:
        value = read_secret(env, _path(file, base_dir) if file is not None else None, what)
    except ConfigError as exc:
        raise _Unresolved(str(exc)) from None
    return value.strip() if value is not None else None


def resolve_url(hook: NotifyConfig, base_dir: Path | None = None) -> str:
    """The hook's URL, from the file, the environment or inline."""
    url = hook.url or _secret(hook.url_env, hook.url_file, base_dir, f"URL of hook {hook.name}")
    if not url:
        raise _Unresolved(f"hook {hook.name} has no URL")
    if not url.startswith(("http://", "https://")):
        where = "url_env" if hook.url_env else "url_file"
        raise _Unresolved(f"the URL {where} gives hook {hook.name} is not an http:// or https:// address")
    return url


def resolve_routing_key(hook: NotifyConfig, base_dir: Path | None = None) -> str | None:
    """The PagerDuty routing key, for a hook with one configured."""
    if hook.routing_key_env is None and hook.routing_key_file is None:
        return None
    key = _secret(hook.routing_key_env, hook.routing_key_file, base_dir, f"routing key of hook {hook.name}")
    if not key:
        raise _Unresolved(f"the routing key of hook {hook.name} is empty")
    return key


def _secrets_of(key: str | None, *urls: str | None) -> list[str]:
    """Every spelling of a secret an error text might quote: each URL whole,
    its path, query, user info and password (raw and decoded), and the key."""
    found: list[str] = [key] if key else []
    for url in urls:
        if not url:
            continue
        found.append(url)
        try:
            parts = urlsplit(url)
        except ValueError:  # not even an address: only the whole of it can be recognised
            continue
        for piece in (parts.path, parts.query, parts.netloc.rpartition("@")[0], parts.password or ""):
            if len(piece) >= 4 and piece != "/":  # "/" and short words are in every sentence
                found += [piece, unquote(piece)]
    return sorted(set(found), key=len, reverse=True)  # the longest first: a part never leaves a tail behind


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``, with ``NO_PROXY`` honoured), as curl does:
    a service in a data centre often reaches PagerDuty or Slack only through
    one. Never for a loopback receiver. Nothing else of the environment
    (no ``.netrc``) is used."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None
    if not host or _loopback(host) or proxy_bypass(host):
        return None
    proxies = getproxies_environment()
    return proxies.get(parts.scheme) or proxies.get("all")


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, HIDDEN)
    return " ".join(text.split())[:ERROR_MAX]


async def send(hook: NotifyConfig, notice: Notice, *, base_dir: Path | None = None) -> SendOutcome:
    """One attempt at ``notice`` through ``hook``; never raises for what the
    receiver, the network or the command does. ``base_dir``: where relative
    ``url_file`` / ``routing_key_file`` / command paths are (the
    configuration file's directory)."""
    try:
        url = resolve_url(hook, base_dir) if hook.kind == "webhook" else None
        key = resolve_routing_key(hook, base_dir)
        body = json.dumps(payload(hook.format, notice, routing_key=key), ensure_ascii=False).encode()
    except (_Unresolved, ValueError) as exc:  # ValueError: a format the payloads do not know
        outcome = SendOutcome(False, "not configured", str(exc))
    else:
        proxy = proxy_for(url) if url is not None else None
        secrets = _secrets_of(key, url, proxy)
        if url is not None:
            outcome = await _post(hook, url, proxy, body, notice, secrets)
        else:
            outcome = await _run(hook, body, notice, secrets, base_dir)
    log.debug("notify %s: %s %s: %s%s", hook.name, notice.kind, notice.delivery_key, outcome.status,
             f" ({outcome.error})" if outcome.error else "")
    return outcome


def _seconds(hook: NotifyConfig) -> str:
    return format_age(hook.timeout.total_seconds())


async def _post(hook: NotifyConfig, url: str, proxy: str | None, body: bytes, notice: Notice,
                secrets: list[str]) -> SendOutcome:
    headers = {"Content-Type": "application/json", "User-Agent": f"ksystui/{__version__}",
               DELIVERY_KEY_HEADER: notice.delivery_key}
    timeout = aiohttp.ClientTimeout(total=hook.timeout.total_seconds())
    try:
        verify: ssl.SSLContext | bool = True if hook.ca_file is None else ssl.create_default_context(
            cafile=str(hook.ca_file))
    except (OSError, ssl.SSLError) as exc:
        return SendOutcome(False, "not configured",
                           f"hook {hook.name}: cannot load the CA file {hook.ca_file}: {exc.strerror or exc}")
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(ssl=verify)) as session:
            # no redirects: a redirect would carry the routing key to an address nobody configured
            async with session.post(url, data=body, headers=headers, allow_redirects=False, proxy=proxy) as resp:
                status = f"HTTP {resp.status}"
                if 200 <= resp.status < 300:
                    return SendOutcome(True, status, None)
                words = f"{status} {resp.reason or ''}".strip()
                if 300 <= resp.status < 400:
                    words += " (redirects are not followed: configure the final address)"
                return SendOutcome(False, status, scrub(words, secrets))
    except TimeoutError:
        return SendOutcome(False, "timeout", f"no answer within {_seconds(hook)}")
    except aiohttp.ClientConnectorError as exc:
        through = " (through the proxy)" if isinstance(exc, aiohttp.ClientProxyConnectionError) else ""
        return SendOutcome(False, "unreachable", scrub(f"cannot connect{through}: {exc.os_error.strerror or exc}",
                                                       secrets))
    except (aiohttp.InvalidURL, ValueError):  # yarl's own ValueError for a malformed address
        return SendOutcome(False, "not configured", f"hook {hook.name}: the URL is not a valid address")
    except (aiohttp.ClientError, OSError) as exc:
        return SendOutcome(False, "failed", scrub(f"{type(exc).__name__}: {exc}", secrets))


def _argv(hook: NotifyConfig, base_dir: Path | None) -> list[str]:
    assert hook.command is not None  # the configuration's rule for kind = "exec"
    program = hook.command[0]
    if os.sep in program and base_dir is not None:
        program = str(_path(Path(program), base_dir))
    return [program, *hook.command[1:]]


def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill the command and whatever it started (it leads its own session):
    a child left holding the pipes would keep the attempt waiting."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


STDERR_KEPT = 4096  # bytes of a command's standard error kept: its last line is what is said


async def _feed(proc: asyncio.subprocess.Process, body: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(body)
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it did not read its input: its exit status says whether that was fine
    finally:
        proc.stdin.close()


async def _tail(proc: asyncio.subprocess.Process) -> bytes:
    """The end of the command's standard error, however much it writes, in
    whole lines only: a line cut at its start might show part of a secret the
    scrubbing no longer recognises."""
    assert proc.stderr is not None
    kept, cut = b"", False
    while chunk := await proc.stderr.read(65536):
        kept += chunk
        if len(kept) > STDERR_KEPT:
            kept, cut = kept[-STDERR_KEPT:], True
    if cut:
        _, newline, whole = kept.partition(b"\n")
        kept = whole if newline else b""
    return kept


async def _run(hook: NotifyConfig, body: bytes, notice: Notice, secrets: list[str],
               base_dir: Path | None) -> SendOutcome:
    env = {**os.environ, "KSYSTUI_NOTICE_KIND": notice.kind, "KSYSTUI_DELIVERY_KEY": notice.delivery_key,
           "KSYSTUI_SEVERITY": notice.severity, "KSYSTUI_HOOK": hook.name}
    try:
        proc = await asyncio.create_subprocess_exec(
            *_argv(hook, base_dir), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
    except OSError as exc:
        return SendOutcome(False, "not started", scrub(f"cannot run {hook.command[0] if hook.command else '?'}: "
                                                       f"{exc.strerror or exc}", secrets))
    try:
        async with asyncio.timeout(hook.timeout.total_seconds()):
            _, stderr, _ = await asyncio.gather(_feed(proc, body), _tail(proc), proc.wait())
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        return SendOutcome(False, "timeout", f"killed after {_seconds(hook)} without finishing")
    except BaseException:
        _kill(proc)  # cancelled (the service stops): leave no command running behind
        raise
    rc = proc.returncode
    if rc == 0:
        return SendOutcome(True, "exit 0", None)
    lines = stderr.decode(errors="replace").strip().splitlines()
    said = f": {lines[-1]}" if lines else ""
    if rc is not None and rc < 0:
        return SendOutcome(False, "killed", scrub(f"killed by signal {-rc}{said}", secrets))
    return SendOutcome(False, f"exit {rc}", scrub(f"exit {rc}{said}", secrets))
