"""SSH front end of one simulated KSYS node (asyncssh server).

A client reaches the node as ``root`` with a public key from the authorised
list (no passwords), and either runs one command (``exec``) or gets the KSYS
operator shell::

    (0) root @ r7r3m116: /
    # ksysmgr query vm

``ksysmgr ...`` goes to :meth:`SimNode.run_ksysmgr`, whose output is sent line
by line as it is written and whose return code becomes the exit status. Any
other word answers like AIX ksh: ``ksh: <word>: not found`` and status 127.

An operation keeps running on the node when its SSH session goes away (a real
KSYS does not undo a half-done move because the operator's terminal dropped);
only its output is lost.

Faults (queried from the world's :class:`FaultBoard` at the moment they matter):
``node_down`` closes new connections at once and drops existing ones
(:meth:`SshNodeServer.enforce_faults`, polled by the runner); ``slow`` delays a
command's first output; ``drop_ssh`` aborts the connection right after the
first line of a command's output.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING

import asyncssh

from ksystui.sim.stats import stats_for

if TYPE_CHECKING:
    from ksystui.sim.faults import FaultBoard
    from ksystui.sim.node import SimNode

log = logging.getLogger(__name__)

KSYSMGR_NAMES = frozenset({"ksysmgr", "/opt/IBM/ksys/ksysmgr"})
CMD_NOT_FOUND = 127
SYNTAX_ERROR = 2
# How long to let the last line reach the client before a drop_ssh abort.
_DROP_GRACE = 0.05


class SessionGone(Exception):
    """The client's session was closed under a running command."""


class SshNodeServer:
    """The SSH server of one node. ``await start()`` then read :attr:`port`."""

    def __init__(
        self,
        node: SimNode,
        faults: FaultBoard,
        host_key: asyncssh.SSHKey,
        authorized_keys: Iterable[asyncssh.SSHKey] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.node = node
        self.faults = faults
        self.host_key = host_key
        self.host = host
        self._requested_port = port
        self._authorized: set[bytes] = {k.public_data for k in authorized_keys}
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._conns: set[asyncssh.SSHServerConnection] = set()
        self._tasks: set[asyncio.Task[int]] = set()
        self.port: int = 0
        self.stats = stats_for(node)

    # --- lifecycle --------------------------------------------------------

    def is_authorized(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == "root" and key.public_data in self._authorized

    async def start(self) -> None:
        self._acceptor = await asyncssh.create_server(
            lambda: _ServerHooks(self),
            self.host,
            self._requested_port,
            server_host_keys=[self.host_key],
            process_factory=self._handle_process,
            public_key_auth=True,
            password_auth=False,
            kbdint_auth=False,
            gss_host=None,
            x509_trusted_certs=None,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            line_editor=True,
            encoding="utf-8",
            errors="replace",
            # The node never sends keepalives of its own; it answers the
            # client's (asyncssh replies to keepalive@openssh.com requests).
            keepalive_interval=0,
        )
        self.port = self._acceptor.get_port()

    async def close(self) -> None:
        """Stop listening, drop every session and stop orphaned commands."""
        if self._acceptor is not None:
            self._acceptor.close()
            with contextlib.suppress(Exception):
                await self._acceptor.wait_closed()
            self._acceptor = None
        self.drop_connections()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def drop_connections(self) -> None:
        """Abort every open connection (no disconnect message: the node is gone)."""
        for conn in list(self._conns):
            conn.abort()
        self._conns.clear()

    def enforce_faults(self) -> None:
        """Apply faults that act on existing sessions (``node_down``)."""
        if self._conns and self.faults.node_down(self.node.name):
            log.info("%s: node_down, dropping %d SSH connection(s)", self.node.name, len(self._conns))
            self.drop_connections()

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    @property
    def running_commands(self) -> int:
        """ksysmgr commands still running (including those whose session dropped)."""
        return len(self._tasks)

    async def wait_commands(self) -> None:
        """Wait until every running ksysmgr command has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- sessions ---------------------------------------------------------

    async def _handle_process(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command
        try:
            if command is None or not command.strip():
                status = await self._shell(process)
            else:
                status = await self._exec(process, command)
        except SessionGone:
            return
        except (asyncssh.Error, ConnectionError, BrokenPipeError) as exc:
            log.debug("%s: session ended: %s", self.node.name, exc)
            return
        with contextlib.suppress(Exception):
            process.exit(status)

    async def _exec(self, process: asyncssh.SSHServerProcess, command: str) -> int:
        io = ChannelIO(self, process)
        status = await self._run_line(command, io)
        await io.finish()
        return status

    async def _shell(self, process: asyncssh.SSHServerProcess) -> int:
        io = ChannelIO(self, process)
        last = 0
        while True:
            io.reset()
            try:
                await io.write_raw(f"({last}) root @ {self.node.name}: /\n# ")
                line = await io.read_command_line()
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                await io.write_raw("\n")
                last = 130
                continue
            if line is None:
                await io.write_raw("\n")
                return last
            try:
                words = shlex.split(line)
            except ValueError as exc:
                await io.write_err(f"ksh: syntax error: {exc}\n")
                last = SYNTAX_ERROR
                continue
            if not words:
                continue
            if words[0] == "exit":
                return _exit_code(words, last)
            last = await self._run_words(words, io)
            await io.finish()

    async def _run_line(self, command: str, io: ChannelIO) -> int:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            await io.write_err(f"ksh: syntax error: {exc}\n")
            return SYNTAX_ERROR
        if not words:
            return 0
        if words[0] == "exit":
            return _exit_code(words, 0)
        return await self._run_words(words, io)

    async def _run_words(self, words: list[str], io: ChannelIO) -> int:
        if words[0] not in KSYSMGR_NAMES:
            await io.write_err(f"ksh: {words[0]}: not found\n")
            return CMD_NOT_FOUND
        self.stats.ksysmgr(words[1:], io.peername)
        # The command runs in a task owned by the server, not the session: a
        # dropped connection must not cancel an operation on the node.
        task = asyncio.create_task(self._ksysmgr(words[1:], io))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _ksysmgr(self, args: list[str], io: ChannelIO) -> int:
        try:
            rc = await self.node.run_ksysmgr(args, io)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: ksysmgr %s failed", self.node.name, shlex.join(args))
            await io.write_err("ksysmgr: internal error, see the simulator log\n")
            return 1
        return rc & 0xFF if rc >= 0 else 255


def _exit_code(words: list[str], default: int) -> int:
    if len(words) < 2:
        return default
    try:
        return int(words[1]) & 0xFF
    except ValueError:
        return default


class ChannelIO:
    """:class:`CommandIO` over one SSH channel, applying the per-command faults.

    After the session is gone, writes are dropped and :meth:`readline` answers
    ``None`` (EOF), so a command on the node runs to its end undisturbed.
    """

    def __init__(self, server: SshNodeServer, process: asyncssh.SSHServerProcess) -> None:
        self._server = server
        self._process = process
        self._gone = False
        self._output_started = False
        self._first_line_done = False

    @property
    def _node(self) -> str:
        return self._server.node.name

    @property
    def peername(self) -> object:
        """The client's (address, port), for the node's stats."""
        return self._process.get_extra_info("peername")

    def reset(self) -> None:
        """Start a new command (in the shell): faults apply afresh."""
        self._output_started = False
        self._first_line_done = False

    async def _before_output(self) -> None:
        if self._output_started:
            return
        self._output_started = True
        delay = self._server.faults.slow_seconds(self._node)
        if delay > 0:
            await asyncio.sleep(delay)

    def _check_down(self) -> None:
        if not self._gone and self._server.faults.node_down(self._node):
            self._abort()

    def _abort(self) -> None:
        self._gone = True
        conn = self._process.channel.get_connection()
        conn.abort()

    async def _send(self, stream: asyncssh.SSHWriter, text: str) -> None:
        self._check_down()
        if self._gone:
            return
        try:
            stream.write(text)
            await stream.drain()
        except (asyncssh.Error, ConnectionError, BrokenPipeError, OSError):
            self._gone = True

    async def write(self, text: str) -> None:
        if not text:
            return
        await self._before_output()
        await self._send(self._process.stdout, text)
        await self._after_line(text)

    async def write_err(self, text: str) -> None:
        if not text:
            return
        await self._before_output()
        # With a pty, stdout and stderr are the same terminal (as with sshd).
        stream = self._process.stdout if self._process.term_type else self._process.stderr
        await self._send(stream, text)
        await self._after_line(text)

    async def write_raw(self, text: str) -> None:
        """Shell prompt and the like: no faults beyond node_down."""
        await self._send(self._process.stdout, text)
        if self._gone:
            raise SessionGone

    async def _after_line(self, text: str) -> None:
        if self._gone or self._first_line_done or "\n" not in text:
            return
        self._first_line_done = True
        if self._server.faults.drop_ssh(self._node):
            log.info("%s: drop_ssh, aborting the connection after the first line", self._node)
            await asyncio.sleep(_DROP_GRACE)
            self._abort()

    async def readline(self) -> str | None:
        """One line of the channel's stdin without its newline; ``None`` at EOF.

        A break (Ctrl-C on a pty) or a signal answers a prompt like EOF does.
        """
        try:
            return await self.read_command_line()
        except (asyncssh.BreakReceived, asyncssh.SignalReceived):
            return None

    async def read_command_line(self) -> str | None:
        """Like :meth:`readline`, but a break raises ``asyncssh.BreakReceived``
        (the shell answers it with a fresh prompt)."""
        self._check_down()
        while not self._gone:
            try:
                line = await self._process.stdin.readline()
            except asyncssh.TerminalSizeChanged:
                continue
            except (asyncssh.Error, ConnectionError, BrokenPipeError, OSError):
                self._gone = True
                break
            if not line:
                return None
            return line.rstrip("\r\n")
        return None

    async def finish(self) -> None:
        """End of a command: make sure a slow node is slow even when silent."""
        if not self._gone:
            await self._before_output()


class _ServerHooks(asyncssh.SSHServer):
    """Per-connection callbacks: connection tracking and public-key auth."""

    def __init__(self, owner: SshNodeServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None
        self._peername: object = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        if self._owner.faults.node_down(self._owner.node.name):
            asyncio.get_running_loop().call_soon(conn.abort)
            return
        self._conn = conn
        self._owner._conns.add(conn)
        # kept: a closed connection no longer knows its peer
        self._peername = conn.get_extra_info("peername")
        self._owner.stats.ssh_opened(self._peername, self._owner.port)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner._conns.discard(self._conn)
            self._owner.stats.ssh_closed(self._peername)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return self._owner.is_authorized(username, key)
