"""SSH transport to a KSYS node (asyncssh).

One SSH connection per node, opened on first use and shared by every
command: each command gets its own session (channel) on it, so an hour-long
``move`` stream and the monitor's short queries run side by side.

Security rules, none of which can be switched off:

* the host key is always verified against ``known_hosts`` (plus, with
  ``trust_on_first_use=True``, ksystui's own ``tofu_known_hosts``); a host
  whose stored key differs is always refused with the file and line of the
  stored key; an unknown host is refused unless trust-on-first-use is on, in
  which case its key is fetched, recorded (0600 file) and used from then on;
* public-key authentication only (``key_file`` and/or ssh-agent), no
  password or keyboard-interactive, no agent forwarding, no ``~/.ssh/config``;
* the command line is always ``shlex.join(argv)``, never a built string.

A node that cannot be reached puts the transport into capped exponential
backoff: until the next attempt is due, every call fails at once (so a dead
node never holds anything up) with an error that says when that is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import asyncssh

from ksystui.transport.backoff import Backoff
from ksystui.transport.base import (
    HOST_KEY_MISMATCH,
    HOST_KEY_TOFU,
    HOST_KEY_UNKNOWN,
    HOST_KEY_VERIFIED,
    ClosedOnExit,
    CommandResult,
    TransportHealth,
)
from ksystui.transport.errors import (
    AuthFailed,
    CommandFailed,
    HostKeyMismatch,
    HostKeyUnknown,
    Timeout,
    TransportError,
    Unreachable,
    one_line,
    with_suffix,
)
from ksystui.transport.known_hosts import (
    KnownHostsEntry,
    KnownHostsFile,
    append_line,
    host_port_name,
    known_hosts_line,
    match_files,
)

log = logging.getLogger(__name__)

KEEPALIVE_COUNT_MAX = 3
# How long close() waits for the connection to shut down cleanly.
_CLOSE_WAIT = 5.0


def default_tofu_known_hosts() -> Path:
    """ksystui's own known_hosts for keys trusted on first use."""
    try:
        import platformdirs

        base = platformdirs.user_data_path("ksystui")
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        base = Path.home() / ".local" / "share" / "ksystui"
    return base / "tofu_known_hosts"


def _local_hms(when: datetime) -> str:
    return when.astimezone().strftime("%H:%M:%S")


# A KSYS node is reached with its SSH key and nothing else: no password or
# keyboard prompt, no Kerberos, no host-based trust, no X.509 roots, no agent
# forwarded to the node, and no ~/.ssh/config quietly changing any of that.
KEYS_ONLY: dict[str, object] = {
    "x509_trusted_certs": None, "agent_path": None, "agent_forwarding": False, "password_auth": False,
    "kbdint_auth": False, "host_based_auth": False, "gss_host": None, "preferred_auth": "publickey",
    "config": None,
}


class _HostKeyPolicy:
    """The ``known_hosts`` callable handed to asyncssh for one connection attempt.

    asyncssh calls it once the TCP connection is up, with the peer's address;
    it answers with the keys of the matching known_hosts entries and keeps
    those entries, so a refusal can name the line that caused it.
    """

    def __init__(self, files: list[KnownHostsFile]) -> None:
        self.files = files
        self.called = False
        self.host = ""
        self.addr = ""
        self.port: int | None = None
        self.matched: list[KnownHostsEntry] = []

    def __call__(
        self, host: str, addr: str, port: int | None
    ) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey]]:
        self.called = True
        self.host, self.addr, self.port = host, addr, port
        self.matched = match_files(self.files, host, addr, port)
        trusted = [e.key for e in self.matched if e.marker is None]
        cas = [e.key for e in self.matched if e.marker == "cert-authority"]
        revoked = [e.key for e in self.matched if e.marker == "revoked"]
        return trusted, cas, revoked


# AES-GCM first: the cryptography package runs it in one call per packet
# (AES-NI), where asyncssh's ChaCha20-Poly1305 builds cipher objects per
# packet in Python — 3x the CPU per command when polling a hundred nodes
# (bench/fleet_refresh.py). All are AEAD; OpenSSH has offered them since 6.2.
PREFERRED_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)


class _Client(asyncssh.SSHClient):
    """Tells the transport when its connection goes away."""

    def __init__(self, on_lost: Callable[[asyncssh.SSHClientConnection, Exception | None], None]):
        self._on_lost = on_lost
        self._conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._on_lost(self._conn, exc)


class SshTransport(ClosedOnExit):
    """:class:`~ksystui.transport.base.KsysTransport` over SSH."""

    def __init__(
        self,
        node: str,
        *,
        host: str,
        port: int = 22,
        user: str = "root",
        key_file: Path | None = None,
        use_agent: bool = False,
        known_hosts: Path,
        trust_on_first_use: bool = False,
        tofu_known_hosts: Path | None = None,
        connect_timeout: float = 10,
        command_timeout: float = 60,
        keepalive_interval: float = 15,
        backoff: Backoff | None = None,
        passphrase: Callable[[], str] | None = None,
    ) -> None:
        if not isinstance(known_hosts, str | Path):
            raise TypeError(f"{node}: known_hosts must be the path of a known_hosts file")
        if key_file is None and not use_agent:
            raise ValueError(f"{node}: SSH needs a key_file or use_agent=True (no passwords)")
        if connect_timeout <= 0 or command_timeout <= 0:
            raise ValueError(f"{node}: timeouts must be positive")
        self.node = node
        self.host = host
        self.port = int(port)
        self.user = user
        self.key_file = Path(key_file).expanduser() if key_file is not None else None
        self.use_agent = use_agent
        self.known_hosts = Path(known_hosts).expanduser()
        self.trust_on_first_use = trust_on_first_use
        self.tofu_known_hosts = (
            Path(tofu_known_hosts).expanduser()
            if tofu_known_hosts is not None
            else default_tofu_known_hosts()
        )
        self.connect_timeout = float(connect_timeout)
        self.command_timeout = float(command_timeout)
        self.keepalive_interval = float(keepalive_interval)
        self.backoff = backoff if backoff is not None else Backoff()
        # a callable, not the string: the passphrase is fetched when the key is
        # read and never kept on the transport (so never in a repr or a dump)
        self._passphrase = passphrase

        self._conn: asyncssh.SSHClientConnection | None = None
        self._connect_task: asyncio.Task[asyncssh.SSHClientConnection] | None = None
        self._closed = False
        self._retry_at: float | None = None  # monotonic
        self._next_attempt_at: datetime | None = None
        self._last_failure: TransportError | None = None
        self._host_key_status = HOST_KEY_UNKNOWN
        self._last_latency_ms: float | None = None
        self._last_ok_at: datetime | None = None
        self._last_error: str | None = None
        self.connections_opened = 0

    # --- what the UI shows ----------------------------------------------------

    @property
    def target(self) -> str:
        return f"{self.user}@{host_port_name(self.host, self.port)}"

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    @property
    def last_latency_ms(self) -> float | None:
        """Round trip of the last command that completed, in milliseconds."""
        return self._last_latency_ms

    @property
    def host_key_status(self) -> str:
        """"verified", "trusted-on-first-use", "mismatch" or "unknown"."""
        return self._host_key_status

    @property
    def next_attempt_at(self) -> datetime | None:
        """When the next connection attempt is allowed (None: not in backoff)."""
        if self._retry_at is None or time.monotonic() >= self._retry_at:
            return None
        return self._next_attempt_at

    @property
    def health(self) -> TransportHealth:
        return TransportHealth(
            node=self.node,
            connected=self.connected,
            last_latency_ms=self._last_latency_ms,
            host_key_status=self._host_key_status,
            next_attempt_at=self.next_attempt_at,
            last_error=self._last_error,
            last_ok_at=self._last_ok_at,
        )

    def __repr__(self) -> str:
        return f"SshTransport(node={self.node!r}, target={self.target!r})"

    # --- commands -----------------------------------------------------------------

    async def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run one command; ``timeout`` bounds the whole call, connecting included."""
        args = _argv(argv)
        command = shlex.join(args)
        limit = self.command_timeout if timeout is None else float(timeout)
        started = time.monotonic()
        try:
            async with asyncio.timeout(limit) as deadline:
                conn = await self._connection()
                rc, stdout, stderr = await self._exec(conn, command, input)
        except TimeoutError as exc:
            if not deadline.expired():
                raise self._fail(self._map_error(exc, f"running `{command}`")) from None
            raise self._fail(
                Timeout(self.node, f"`{command}` did not finish within {limit:g} s")
            ) from None
        duration = time.monotonic() - started
        self._last_latency_ms = round(duration * 1000, 1)
        self._last_ok_at = datetime.now(UTC)
        result = CommandResult(args, rc, stdout, stderr, duration)
        if check and rc != 0:
            detail = one_line(stderr or stdout, 200)
            raise CommandFailed(
                self.node,
                f"`{command}` exited {rc}" + (f": {detail}" if detail else ""),
                rc=rc,
                stdout=stdout,
                stderr=stderr,
                argv=args,
            )
        return result

    def stream(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
    ) -> SshCommandStream:
        """``async with t.stream(argv) as s: async for line in s: ...``;
        ``timeout`` is the longest silence allowed between two lines."""
        return SshCommandStream(self, _argv(argv), timeout, input)

    async def close(self) -> None:
        """Close the connection; the transport cannot be used afterwards."""
        self._closed = True
        task, self._connect_task = self._connect_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), _CLOSE_WAIT)

    async def _exec(
        self, conn: asyncssh.SSHClientConnection, command: str, input: str | None
    ) -> tuple[int, str, str]:
        try:
            proc = await conn.create_process(command, encoding="utf-8", errors="replace")
        except (asyncssh.Error, OSError) as exc:
            raise self._fail(self._map_error(exc, f"cannot start `{command}`")) from None
        try:
            if input:
                proc.stdin.write(input)
            proc.stdin.write_eof()
            done = await proc.wait()
        except (asyncssh.Error, OSError) as exc:
            raise self._fail(self._map_error(exc, f"lost while running `{command}`")) from None
        finally:
            if not proc.is_closing():
                proc.close()
        stderr = _text(done.stderr)
        rc, note = self._exit_code(command, done.returncode, done.exit_signal)
        return rc, _text(done.stdout), stderr + note

    def _exit_code(self, command: str, returncode: int | None, signal: Any) -> tuple[int, str]:
        """The shell-style exit code of a finished session, and a note for stderr.

        A session that ended with neither an exit status nor a signal was cut
        off (the connection dropped): that is Unreachable, never a result.
        """
        if returncode is None:
            raise self._fail(
                Unreachable(
                    self.node,
                    f"connection to {host_port_name(self.host, self.port)} lost while "
                    f"running `{command}` (no exit status)",
                )
            )
        if returncode < 0:  # killed by a signal: report it the way a shell does
            name = signal[0] if signal else str(-returncode)
            return 128 + (-returncode % 128), f"[terminated by signal {name}]\n"
        return returncode, ""

    # --- the connection -------------------------------------------------------------

    async def _connection(self) -> asyncssh.SSHClientConnection:
        if self._closed:
            raise TransportError(self.node, "transport is closed")
        conn = self._conn
        if conn is not None and not conn.is_closed():
            return conn
        self._check_backoff()
        task = self._connect_task
        if task is None:
            task = asyncio.create_task(self._open(), name=f"ssh-connect:{self.node}")
            task.add_done_callback(_retrieve)
            self._connect_task = task
        return await asyncio.shield(task)

    def _check_backoff(self) -> None:
        if self._retry_at is None:
            return
        remaining = self._retry_at - time.monotonic()
        if remaining <= 0:
            return
        when = _local_hms(self._next_attempt_at or datetime.now(UTC))
        nxt = f"next attempt at {when} (in {remaining:.1f} s)"
        last = self._last_failure
        if isinstance(last, HostKeyMismatch):
            raise type(last)(
                self.node,
                with_suffix(last.message, nxt),
                known_hosts_file=last.known_hosts_file,
                line=last.line,
            )
        if isinstance(last, AuthFailed):
            raise AuthFailed(self.node, with_suffix(last.message, nxt))
        reason = last.message if last is not None else "the last attempt failed"
        raise Unreachable(self.node, with_suffix(f"not retrying yet ({reason})", nxt))

    async def _open(self) -> asyncssh.SSHClientConnection:
        try:
            conn = await self._open_verified()
        except asyncio.CancelledError:
            raise
        except TransportError as err:
            self._record_failure(err)
            raise
        except Exception as exc:  # anything unexpected still becomes a typed error
            mapped = self._map_error(exc, "cannot connect")
            self._record_failure(mapped)
            raise mapped from None
        finally:
            self._connect_task = None
        if self._closed:
            conn.close()
            raise TransportError(self.node, "transport is closed")
        self._conn = conn
        self.connections_opened += 1
        self.backoff.reset()
        self._retry_at = None
        self._next_attempt_at = None
        self._last_failure = None
        self._last_error = None
        log.info("%s: SSH connected to %s (host key %s)", self.node, self.target, self._host_key_status)
        return conn

    def _record_failure(self, err: TransportError) -> None:
        delay = self.backoff.next_delay()
        self._retry_at = time.monotonic() + delay
        self._next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
        self._last_failure = err
        self._last_error = str(err)
        log.warning("%s: %s (next attempt in %.1f s)", self.node, err.message, delay)

    async def _open_verified(self) -> asyncssh.SSHClientConnection:
        files = await asyncio.to_thread(self._read_known_hosts)
        policy = _HostKeyPolicy(files)
        try:
            conn = await self._connect_once(policy)
        except asyncssh.HostKeyNotVerifiable:
            if not policy.called or policy.matched or not self.trust_on_first_use:
                raise self._host_key_error(policy, files) from None
            conn, policy = await self._trust_on_first_use(policy)
        self._host_key_status = self._verified_by(conn, policy)
        return conn

    def _read_known_hosts(self) -> list[KnownHostsFile]:
        files = [KnownHostsFile.read(self.known_hosts)]
        if self.trust_on_first_use and self.tofu_known_hosts != self.known_hosts:
            files.append(KnownHostsFile.read(self.tofu_known_hosts))
        return files

    async def _client_keys(self) -> tuple[list[Any], asyncssh.SSHAgentClient | None]:
        """The keys to offer, and the agent they came from (close it after login)."""
        keys: list[Any] = []
        agent: asyncssh.SSHAgentClient | None = None
        if self.use_agent:
            try:
                agent = await asyncssh.connect_agent()
                if agent is not None:
                    keys.extend(await agent.get_keys())
            except (OSError, asyncssh.Error, ValueError) as exc:
                log.debug("%s: ssh-agent unavailable: %s", self.node, exc)
        if self.key_file is not None:
            try:
                secret = self._passphrase() if self._passphrase is not None else None
                keys.append(await asyncio.to_thread(asyncssh.read_private_key, self.key_file, secret))
            except (OSError, asyncssh.KeyImportError, ValueError) as exc:
                if agent is not None:
                    agent.close()
                hint = (" (the key is passphrase-protected: set key_passphrase_env or key_passphrase_file, "
                        "or use ssh-agent)") if "passphrase" in str(exc) and self._passphrase is None else ""
                raise AuthFailed(
                    self.node, f"cannot use key file {self.key_file}: {one_line(str(exc))}{hint}"
                ) from None
        if not keys:
            if agent is not None:
                agent.close()
            raise AuthFailed(self.node, "no SSH key: ssh-agent is unavailable or holds no keys")
        return keys, agent

    async def _connect_once(self, policy: _HostKeyPolicy) -> asyncssh.SSHClientConnection:
        client_keys, agent = await self._client_keys()
        try:
            # asyncssh's connect_timeout covers TCP, key exchange and authentication;
            # the outer limit only guards against anything it might not cover.
            async with asyncio.timeout(self.connect_timeout + 1):
                return await asyncssh.connect(
                    self.host,
                    self.port,
                    username=self.user,
                    known_hosts=policy,
                    client_keys=client_keys,
                    **KEYS_ONLY,
                    client_factory=lambda: _Client(self._lost),
                    connect_timeout=self.connect_timeout,
                    keepalive_interval=self.keepalive_interval,
                    keepalive_count_max=KEEPALIVE_COUNT_MAX,
                    encryption_algs=PREFERRED_CIPHERS,
                )
        except asyncssh.PermissionDenied:
            # authentication comes after the key exchange: the host key was good
            self._host_key_status = self._status_of(policy, None)
            raise
        finally:
            if agent is not None:  # the keys were only needed to log in
                agent.close()

    async def _trust_on_first_use(
        self, policy: _HostKeyPolicy
    ) -> tuple[asyncssh.SSHClientConnection, _HostKeyPolicy]:
        """The host is in no known_hosts file: fetch its key, record it, connect."""
        async with asyncio.timeout(self.connect_timeout + 1):
            key = await asyncssh.get_server_host_key(self.host, self.port, config=None)
        if key is None:
            raise HostKeyUnknown(
                self.node,
                f"{host_port_name(self.host, self.port)} offered no host key to trust on first use",
                known_hosts_file=self.known_hosts,
            )
        # Another transport may have recorded this host meanwhile: look again.
        files = await asyncio.to_thread(self._read_known_hosts)
        again = match_files(files, policy.host, policy.addr, policy.port)
        if not again:
            name = policy.host or self.host
            line = known_hosts_line(name, policy.port, key)
            try:
                number = await asyncio.to_thread(append_line, self.tofu_known_hosts, line)
            except OSError as exc:
                raise HostKeyUnknown(
                    self.node,
                    f"{host_port_name(name, policy.port)} is not known and its key cannot be "
                    f"recorded in {self.tofu_known_hosts}: {exc.strerror or exc}",
                    known_hosts_file=self.known_hosts,
                ) from None
            log.warning(
                "%s: trusted on first use: host key %s %s of %s recorded in %s line %d",
                self.node,
                key.get_algorithm(),
                key.get_fingerprint(),
                host_port_name(name, policy.port),
                self.tofu_known_hosts,
                number,
            )
            files = await asyncio.to_thread(self._read_known_hosts)
        retry = _HostKeyPolicy(files)
        try:
            return await self._connect_once(retry), retry
        except asyncssh.HostKeyNotVerifiable:
            raise self._host_key_error(retry, files) from None

    def _verified_by(self, conn: asyncssh.SSHClientConnection, policy: _HostKeyPolicy) -> str:
        return self._status_of(policy, conn.get_server_host_key())

    def _status_of(self, policy: _HostKeyPolicy, key: asyncssh.SSHKey | None) -> str:
        """"verified" or "trusted-on-first-use", by the entry that holds the key
        the server proved it has (any plain entry when the key is not known)."""
        plain = [e for e in policy.matched if e.marker is None]
        if key is not None:
            plain = [e for e in plain if e.key.public_data == key.public_data] or plain
        if plain and all(
            self.trust_on_first_use and e.path == self.tofu_known_hosts for e in plain
        ):
            return HOST_KEY_TOFU
        return HOST_KEY_VERIFIED

    def _host_key_error(
        self, policy: _HostKeyPolicy, files: list[KnownHostsFile]
    ) -> HostKeyMismatch:
        name = host_port_name(policy.host or self.host, policy.port if policy.called else self.port)
        matched = policy.matched
        if not policy.called:
            self._host_key_status = HOST_KEY_MISMATCH
            return HostKeyMismatch(
                self.node,
                f"host key of {name} could not be verified",
                known_hosts_file=self.known_hosts,
            )
        if not matched:
            self._host_key_status = HOST_KEY_UNKNOWN
            searched = ", ".join(
                str(f.path) + ("" if f.exists else " (missing)") for f in files
            )
            return HostKeyUnknown(
                self.node,
                f"{name} is not in {searched} and trust on first use is off; "
                f"add its host key to {self.known_hosts}",
                known_hosts_file=self.known_hosts,
            )
        self._host_key_status = HOST_KEY_MISMATCH
        keys = [e for e in matched if e.marker is None]
        cas = [e for e in matched if e.marker == "cert-authority"]
        revoked = [e for e in matched if e.marker == "revoked"]
        if keys:
            entry = keys[0]
            what = (
                f"host key of {name} does not match the key stored in {entry.path} "
                f"line {entry.line} ({entry.describe_key()}): possible man-in-the-middle; "
                f"if the node was reinstalled, replace that line"
            )
        elif cas:
            entry = cas[0]
            what = (
                f"host key of {name} is not signed by the certificate authority in "
                f"{entry.path} line {entry.line} ({entry.describe_key()})"
            )
        else:
            entry = revoked[0]
            what = f"host key of {name} is revoked in {entry.path} line {entry.line}"
        return HostKeyMismatch(self.node, what, known_hosts_file=entry.path, line=entry.line)

    def _lost(self, conn: asyncssh.SSHClientConnection, exc: Exception | None) -> None:
        if self._conn is conn:
            self._conn = None
            if exc is not None:
                self._last_error = f"{self.node}: connection lost: {one_line(str(exc))}"
                log.info("%s: SSH connection lost: %s", self.node, exc)

    # --- errors ---------------------------------------------------------------------

    def _fail(self, err: TransportError) -> TransportError:
        self._last_error = str(err)
        return err

    def _map_error(self, exc: BaseException, doing: str) -> TransportError:
        """An asyncssh / OS error as a typed transport error."""
        where = host_port_name(self.host, self.port)
        if isinstance(exc, TransportError):
            return exc
        if isinstance(exc, asyncssh.PermissionDenied):
            return AuthFailed(self.node, f"{self.target} refused our SSH key ({exc.reason})")
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            return HostKeyMismatch(self.node, f"host key of {where} could not be verified")
        if isinstance(exc, asyncssh.ConnectionLost):
            return Unreachable(self.node, f"{doing}: connection to {where} lost")
        if isinstance(exc, asyncssh.DisconnectError):
            return Unreachable(self.node, f"{doing}: {where} disconnected: {exc.reason}")
        if isinstance(exc, asyncssh.ChannelOpenError):
            return Unreachable(self.node, f"{doing}: {where} refused a session: {exc.reason}")
        if isinstance(exc, TimeoutError):
            return Timeout(self.node, f"no SSH connection to {where} within {self.connect_timeout:g} s")
        if isinstance(exc, ConnectionRefusedError):
            return Unreachable(self.node, f"connection refused by {where}")
        if isinstance(exc, socket.gaierror):
            return Unreachable(self.node, f"cannot resolve {self.host}: {exc.strerror or exc}")
        if isinstance(exc, OSError):
            text = exc.strerror or str(exc) or type(exc).__name__
            return Unreachable(self.node, f"{doing}: {where}: {text}")
        if isinstance(exc, asyncssh.Error):
            return Unreachable(self.node, f"{doing}: {where}: {exc.reason}")
        return TransportError(self.node, f"{doing}: {type(exc).__name__}: {exc}")


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a connect task's exception as seen (its callers may all have left)."""
    if not task.cancelled():
        task.exception()


def _argv(argv: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(argv, str):
        raise TypeError("argv must be a list of words, not a string")
    args = tuple(argv)
    if not args:
        raise ValueError("argv is empty")
    for word in args:
        if not isinstance(word, str):
            raise TypeError(f"argv words must be strings, not {type(word).__name__}")
    return args


def _text(data: Any) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return str(data)


class SshCommandStream:
    """One command's output, line by line as the node writes it.

    ``async with transport.stream(argv, timeout=600) as s:``
    ``    async for line in s: ...``

    ``timeout`` is the longest silence allowed between two lines (None: no
    limit). When the iteration ends, :attr:`returncode` and :attr:`stderr` are
    set. A dropped connection raises Unreachable from the iteration, never a
    quiet end. Leaving the block early closes the session (the command itself
    is the node's business: a KSYS keeps running an operation it started).
    """

    def __init__(
        self,
        transport: SshTransport,
        argv: tuple[str, ...],
        timeout: float | None,
        input: str | None,
    ) -> None:
        self.transport = transport
        self.argv = argv
        self.command = shlex.join(argv)
        self.timeout = timeout
        self._input = input
        self._proc: asyncssh.SSHClientProcess[str] | None = None
        self._stderr_task: asyncio.Task[str] | None = None
        self._stderr = ""
        self._returncode: int | None = None
        self._done = False
        self._started = 0.0
        self.duration: float | None = None
        self.lines = 0

    @property
    def node(self) -> str:
        return self.transport.node

    @property
    def returncode(self) -> int | None:
        return self._returncode

    @property
    def stderr(self) -> str:
        return self._stderr

    def __repr__(self) -> str:
        return f"SshCommandStream(node={self.node!r}, command={self.command!r}, returncode={self._returncode!r})"

    async def __aenter__(self) -> Self:
        t = self.transport
        self._started = time.monotonic()
        try:
            async with asyncio.timeout(t.connect_timeout + t.command_timeout) as deadline:
                conn = await t._connection()
                proc = await conn.create_process(self.command, encoding="utf-8", errors="replace")
        except TimeoutError as exc:
            if not deadline.expired():
                raise t._fail(t._map_error(exc, f"starting `{self.command}`")) from None
            raise t._fail(Timeout(self.node, f"`{self.command}` could not be started in time")) from None
        except (asyncssh.Error, OSError) as exc:
            raise t._fail(t._map_error(exc, f"cannot start `{self.command}`")) from None
        self._proc = proc
        try:
            if self._input:
                proc.stdin.write(self._input)
            proc.stdin.write_eof()
        except (asyncssh.Error, OSError) as exc:
            self._abort()
            raise t._fail(t._map_error(exc, f"lost while starting `{self.command}`")) from None
        self._stderr_task = asyncio.create_task(self._read_stderr(proc))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._cleanup()

    def __aiter__(self) -> SshCommandStream:
        return self

    async def __anext__(self) -> str:
        proc = self._proc
        if proc is None:
            raise RuntimeError("use `async with transport.stream(...) as s` before iterating")
        if self._done:
            raise StopAsyncIteration
        t = self.transport
        try:
            if self.timeout is None:
                line = await proc.stdout.readline()
            else:
                async with asyncio.timeout(self.timeout):
                    line = await proc.stdout.readline()
        except TimeoutError:
            self._abort()
            raise t._fail(
                Timeout(self.node, f"`{self.command}` printed nothing for {self.timeout:g} s")
            ) from None
        except (asyncssh.Error, OSError) as exc:
            self._abort()
            raise t._fail(t._map_error(exc, f"lost while running `{self.command}`")) from None
        if line:
            self.lines += 1
            if line.endswith("\n"):
                line = line[:-1]
            if line.endswith("\r"):
                line = line[:-1]
            return line
        await self._finish(proc)
        raise StopAsyncIteration

    async def _finish(self, proc: asyncssh.SSHClientProcess[str]) -> None:
        """stdout is at its end: collect stderr and the exit status."""
        t = self.transport
        self._done = True
        try:
            async with asyncio.timeout(t.command_timeout):
                if self._stderr_task is not None:
                    self._stderr = await self._stderr_task
                await proc.wait_closed()
        except TimeoutError:
            self._abort()
            raise t._fail(
                Timeout(self.node, f"`{self.command}` closed its output but did not exit")
            ) from None
        except (asyncssh.Error, OSError) as exc:
            self._abort()
            raise t._fail(t._map_error(exc, f"lost while running `{self.command}`")) from None
        self.duration = time.monotonic() - self._started
        rc, note = t._exit_code(self.command, proc.returncode, proc.exit_signal)
        self._stderr += note
        self._returncode = rc

    @staticmethod
    async def _read_stderr(proc: asyncssh.SSHClientProcess[str]) -> str:
        return _text(await proc.stderr.read())

    def _abort(self) -> None:
        self._done = True
        if self._proc is not None and not self._proc.is_closing():
            self._proc.close()

    async def _cleanup(self) -> None:
        self._abort()
        task, self._stderr_task = self._stderr_task, None
        if task is not None:
            if not task.done():
                task.cancel()
            # gather() still lets a cancellation of *this* task through
            await asyncio.gather(task, return_exceptions=True)
            if not self._stderr and not task.cancelled() and task.exception() is None:
                self._stderr = task.result()
