"""Typed transport errors: what went wrong talking to one KSYS node.

Every error carries the node it concerns (``.node``), a machine-readable
``.kind`` (the UI and the fleet switch on it) and a human ``.message``;
``str(e)`` is one line that names the node, e.g.::

    r7r3m116: connection refused by 127.0.0.1:2222

No error message ever contains a secret (a REST token, a key passphrase).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def one_line(text: str, limit: int = 300) -> str:
    """``text`` squeezed onto one line (newlines become `` | ``) and cut at ``limit``."""
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    line = " | ".join(parts)
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def with_suffix(text: str, suffix: str, limit: int = 300) -> str:
    """``text; suffix`` on one line within ``limit``, cutting ``text`` rather
    than the suffix (which says what happens next)."""
    return f"{one_line(text, max(20, limit - len(suffix) - 2))}; {suffix}"


class TransportError(Exception):
    """Base of every transport error."""

    kind = "error"

    def __init__(self, node: str, message: str) -> None:
        self.node = node
        self.message = one_line(message)
        super().__init__(f"{node}: {self.message}")

    def __str__(self) -> str:
        return f"{self.node}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(node={self.node!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Callable[[type[TransportError], dict[str, object]], TransportError],
                                  tuple[type[TransportError], dict[str, object]]]:
        # picklable despite the keyword-only constructors
        return (_restore, (type(self), dict(self.__dict__)))


def _restore(cls: type[TransportError], state: dict[str, object]) -> TransportError:
    err = cls.__new__(cls)
    Exception.__init__(err, f"{state.get('node')}: {state.get('message')}")
    err.__dict__.update(state)
    return err


class Unreachable(TransportError):
    """Refused, reset, DNS failure, connection lost, node down, or in backoff."""

    kind = "unreachable"


class AuthFailed(TransportError):
    """The node refused our SSH key, or the REST service rejected the token."""

    kind = "auth_failed"


class HostKeyMismatch(TransportError):
    """The node's SSH host key is not the one stored for it.

    ``known_hosts_file`` is the file holding the stored key and ``line`` its
    1-based line number (``None`` when the host is simply not known).
    """

    kind = "host_key_mismatch"

    def __init__(
        self,
        node: str,
        message: str,
        *,
        known_hosts_file: Path | None = None,
        line: int | None = None,
    ) -> None:
        self.known_hosts_file = known_hosts_file
        self.line = line
        super().__init__(node, message)


class HostKeyUnknown(HostKeyMismatch):
    """The host is not in known_hosts and trust-on-first-use is off."""

    kind = "host_key_unknown"


class Timeout(TransportError):
    """A connection or a command took longer than its time limit."""

    kind = "timeout"


class CommandFailed(TransportError):
    """A command ran and exited with a non-zero status (``run(check=True)``)."""

    kind = "command_failed"

    def __init__(
        self,
        node: str,
        message: str,
        *,
        rc: int,
        stdout: str = "",
        stderr: str = "",
        argv: tuple[str, ...] = (),
    ) -> None:
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.argv = argv
        super().__init__(node, message)


class HttpError(TransportError):
    """A REST call answered with a non-auth 4xx, or a 5xx after the retries."""

    kind = "http_error"

    def __init__(self, node: str, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(node, message)


__all__ = [
    "AuthFailed",
    "CommandFailed",
    "HostKeyMismatch",
    "HostKeyUnknown",
    "HttpError",
    "Timeout",
    "TransportError",
    "Unreachable",
    "one_line",
]
