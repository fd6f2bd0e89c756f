"""What each simulated node has been asked, and by whom: the counters behind
the admin endpoint's ``GET /stats``.

A benchmark reads how many ksysmgr queries a node answered per poll interval;
a test reads which client addresses connected to a node (a console that must
never talk to a node can be caught by its source port, or by its pid with
:func:`pids_of_local_ports`).

The counters of a node live in :func:`stats_for` (keyed by the node object,
so the SSH and REST servers and the admin endpoint find the same counters
without being wired to each other; they go away with the node).
"""

from __future__ import annotations

import os
import time
import weakref
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ksystui.core.ksysmgr.errors import KsysmgrUsageError
from ksystui.core.ksysmgr.grammar import parse_command

# Closed connections remembered per node (open ones are always kept): enough
# for a test to see who came and went, bounded for a long benchmark.
CLOSED_PEERS_KEPT = 64
# When the last commands ran, per node: a rate over a window needs the times,
# not only a count (polls all started together would all fall in or out of it).
RECENT_COMMANDS_KEPT = 256

SSH, REST = "ssh", "rest"


def _iso(wall: float | None) -> str | None:
    return None if wall is None else datetime.fromtimestamp(wall, UTC).isoformat()


def peer_text(peername: Any) -> tuple[str, int] | None:
    """``("127.0.0.1:51234", 51234)`` from a socket's peername, None if unknown."""
    if not isinstance(peername, tuple) or len(peername) < 2:
        return None
    host, port = str(peername[0]), int(peername[1])
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}", port


@dataclass
class PeerRecord:
    """One client connection to a node (SSH), or one client address seen by
    its REST server (a keep-alive connection sends many requests)."""

    transport: str
    address: str  # "127.0.0.1:51234"
    port: int  # the client's source port
    server_port: int  # the node's port it connected to
    opened_at: float
    closed_at: float | None = None
    commands: int = 0  # ksysmgr commands (SSH) or HTTP requests (REST) on it

    def to_json(self, pid: int | None = None) -> dict[str, Any]:
        return {
            "transport": self.transport,
            "peer": self.address,
            "port": self.port,
            "opened_at": _iso(self.opened_at),
            "closed_at": _iso(self.closed_at),
            "commands": self.commands,
            "pid": pid,
        }


class NodeStats:
    """Counters of one node since the simulator started."""

    def __init__(self) -> None:
        self.ksysmgr_commands = 0
        self.ksysmgr_queries = 0  # `ksysmgr query ...` (what a monitor's poll runs)
        self.commands: Counter[str] = Counter()  # "query vm", "move site", "<invalid>"
        self.rest_requests = 0
        self.ssh_connections = 0
        self.rest_connections = 0
        self._peers: dict[tuple[str, str], PeerRecord] = {}
        # (epoch seconds, command, client port)
        self.recent: deque[tuple[float, str, int | None]] = deque(maxlen=RECENT_COMMANDS_KEPT)

    # --- recording (called by the node's servers) -------------------------------

    def ssh_opened(self, peername: Any, server_port: int) -> None:
        self.ssh_connections += 1
        self._remember(SSH, peername, server_port)

    def ssh_closed(self, peername: Any) -> None:
        shown = peer_text(peername)
        record = self._peers.get((SSH, shown[0])) if shown else None
        if record is not None and record.closed_at is None:
            record.closed_at = time.time()
        self._forget_old()

    def ksysmgr(self, args: list[str], peername: Any) -> None:
        self.ksysmgr_commands += 1
        try:
            cmd = parse_command(args)
        except KsysmgrUsageError:
            key = "<invalid>"
        else:
            key = " ".join(w for w in (cmd.action, cmd.klass) if w) or "<usage>"
            if cmd.action == "query":
                self.ksysmgr_queries += 1
        self.commands[key] += 1
        shown = peer_text(peername)
        self.recent.append((time.time(), key, shown[1] if shown else None))
        record = self._peers.get((SSH, shown[0])) if shown else None
        if record is not None:
            record.commands += 1

    def rest_accepted(self) -> None:
        self.rest_connections += 1

    def rest_request(self, peername: Any, server_port: int) -> None:
        self.rest_requests += 1
        shown = peer_text(peername)
        if shown is None:
            return
        record = self._peers.get((REST, shown[0])) or self._remember(REST, peername, server_port)
        if record is not None:
            record.commands += 1

    def _remember(self, transport: str, peername: Any, server_port: int) -> PeerRecord | None:
        shown = peer_text(peername)
        if shown is None:
            return None
        record = PeerRecord(transport, shown[0], shown[1], server_port, time.time())
        key = (transport, shown[0])
        self._peers.pop(key, None)  # a re-used source port is a new connection: newest last
        self._peers[key] = record
        self._forget_old()
        return record

    def _forget_old(self) -> None:
        closed = [k for k, r in self._peers.items() if r.closed_at is not None]
        for key in closed[: max(0, len(closed) - CLOSED_PEERS_KEPT)]:
            del self._peers[key]

    # --- reading -----------------------------------------------------------------

    @property
    def peers(self) -> list[PeerRecord]:
        return list(self._peers.values())

    @property
    def open_connections(self) -> int:
        return sum(1 for r in self._peers.values() if r.transport == SSH and r.closed_at is None)

    def to_json(self, *, peers: bool = True, pids: dict[int, int] | None = None,
                times_of: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ksysmgr_commands": self.ksysmgr_commands,
            "ksysmgr_queries": self.ksysmgr_queries,
            "commands": dict(sorted(self.commands.items())),
            "rest_requests": self.rest_requests,
            "ssh_connections": self.ssh_connections,
            "rest_connections": self.rest_connections,
            "open_ssh_connections": self.open_connections,
        }
        if peers:
            out["peers"] = [r.to_json((pids or {}).get(r.port)) for r in self._peers.values()]
        if times_of is not None:
            out["times"] = [[round(at, 6), port] for at, key, port in self.recent if key == times_of]
        return out


_STATS: weakref.WeakKeyDictionary[object, NodeStats] = weakref.WeakKeyDictionary()


def stats_for(node: object) -> NodeStats:
    """The counters of ``node`` (created on first use)."""
    stats = _STATS.get(node)
    if stats is None:
        stats = _STATS[node] = NodeStats()
    return stats


# --- which local process owns a client port (Linux /proc; loopback tests) ----------


def _socket_inodes(connections: set[tuple[int, int]], proc: Path) -> dict[int, int]:
    """inode -> client port of the TCP sockets whose (local port, remote
    port) is one of ``connections``. Both ends count: Linux re-uses an
    ephemeral port for connections to other destinations, so a local port
    alone may name another process's socket (a console's connection to
    PostgreSQL, say) as well as the one that reached the node."""
    found: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            remote = int(fields[2].rsplit(":", 1)[1], 16)
            if (port, remote) in connections and fields[9] != "0":
                found[int(fields[9])] = port
    return found


def pids_of_local_ports(connections: set[tuple[int, int]], proc: Path = Path("/proc")) -> dict[int, int]:
    """client port -> pid of the process holding that TCP socket, for the
    (client port, node port) connections found (only processes this user
    may inspect; empty off Linux).
    """
    if not connections:
        return {}
    inodes = _socket_inodes(connections, proc)
    if not inodes:
        return {}
    owners: dict[int, int] = {}
    try:
        pid_dirs = [p for p in proc.iterdir() if p.name.isdigit()]
    except OSError:
        return {}
    for pid_dir in pid_dirs:
        pid = int(pid_dir.name)
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                port = inodes.get(int(target[8:-1]))
                if port is not None:
                    owners[port] = pid
    return owners
