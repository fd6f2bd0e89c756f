"""The one interface the rest of ksystui uses to reach a KSYS node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

# host_key_status values (SSH); REST transports report None
HOST_KEY_VERIFIED = "verified"
HOST_KEY_TOFU = "trusted-on-first-use"
HOST_KEY_MISMATCH = "mismatch"
HOST_KEY_UNKNOWN = "unknown"


@dataclass(frozen=True)
class CommandResult:
    """A finished command: its argv, exit status, output and wall time (seconds)."""

    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class TransportHealth:
    """What the nodes view shows about a node's connection."""

    node: str
    connected: bool
    last_latency_ms: float | None
    host_key_status: str | None
    next_attempt_at: datetime | None
    last_error: str | None
    last_ok_at: datetime | None


@runtime_checkable
class CommandStream(Protocol):
    """``async with t.stream(argv) as s: async for line in s: ...``

    Lines come without their line end, as the node writes them. After the
    iteration ends, ``returncode`` and ``stderr`` are set.
    """

    argv: tuple[str, ...]

    @property
    def returncode(self) -> int | None: ...

    @property
    def stderr(self) -> str: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[str]: ...


class ClosedOnExit:
    """``async with transport:`` closes the transport on the way out, however
    the block ends (the transports define ``close``)."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


@runtime_checkable
class KsysTransport(Protocol):
    """What every transport offers: commands, and the state of its connection
    (for the nodes view and the fleet's health; no caller needs ``getattr``)."""

    node: str

    @property
    def host_key_status(self) -> str | None:
        """One of the ``HOST_KEY_*`` statuses above (SSH); None where there is no host key (REST)."""
        ...

    @property
    def next_attempt_at(self) -> datetime | None:
        """When the next connection attempt is allowed (None: not in backoff)."""
        ...

    @property
    def health(self) -> TransportHealth: ...

    async def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run one command. ``check=True``: a non-zero rc raises CommandFailed.
        ``timeout`` bounds the whole call (default: the endpoint's command timeout)."""
        ...

    def stream(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
    ) -> CommandStream:
        """A command whose output is read line by line as it is written.
        ``timeout`` is the longest silence allowed between lines (None: no limit)."""
        ...

    async def close(self) -> None: ...
