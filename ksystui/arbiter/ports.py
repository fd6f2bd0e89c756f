"""What the arbiter needs from the rest of ksystui, as it needs it.

The arbiter (service, dispatcher, port) owns these Protocols: they list the
calls it makes and nothing more, so a fleet, a transport or a test double
fits by shape. ``ksystui.fleet.Fleet`` is a :class:`FleetReader`; an SSH or
REST transport (``ksystui.transport.KsysTransport``) is a
:class:`NodeTransport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from ksystui.core.snapshot import NodeSnapshot
from ksystui.transport.base import CommandResult, CommandStream, KsysTransport

if TYPE_CHECKING:
    from ksystui.fleet.fleet import Fleet


class NodePoller(Protocol):
    """One node's monitor: read the node now, or soon."""

    async def poll_once(self) -> NodeSnapshot:
        """Read the node now and return (and publish) its snapshot."""
        ...

    def refresh_now(self) -> None:
        """Read the node again soon (after an operation changed it)."""
        ...


class FleetReader(Protocol):
    """The fleet as the arbiter reads it: each node's monitor and latest
    snapshot, by node name."""

    @property
    def monitors(self) -> Mapping[str, NodePoller]: ...

    @property
    def snapshots(self) -> Mapping[str, NodeSnapshot]: ...


class NodeTransport(Protocol):
    """A way to run ksysmgr on one node: a short command, or a long one read
    line by line (the same signatures as ``transport.base.KsysTransport``)."""

    async def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult: ...

    def stream(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
    ) -> CommandStream: ...


class Waker(Protocol):
    """Something to nudge when work was queued (the local dispatcher)."""

    def wake(self) -> None: ...


if TYPE_CHECKING:  # mypy proves that what the composition root passes in fits
    def _a_fleet_is_read_so(fleet: Fleet) -> FleetReader:
        return fleet

    def _a_transport_runs_so(transport: KsysTransport) -> NodeTransport:
        return transport
