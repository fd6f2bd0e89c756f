"""Reaching KSYS nodes: one interface (:class:`KsysTransport`), SSH and REST.

The fleet and the arbiter only ever see :class:`CommandResult`, a
:class:`CommandStream` and the typed errors of :mod:`ksystui.transport.errors`.
"""

from typing import TYPE_CHECKING

from ksystui.transport.backoff import Backoff
from ksystui.transport.base import CommandResult, CommandStream, KsysTransport, TransportHealth
from ksystui.transport.errors import (
    AuthFailed,
    CommandFailed,
    HostKeyMismatch,
    HostKeyUnknown,
    HttpError,
    Timeout,
    TransportError,
    Unreachable,
)
from ksystui.transport.rest import RestTransport
from ksystui.transport.ssh import SshCommandStream, SshTransport

__all__ = [
    "AuthFailed",
    "Backoff",
    "CommandFailed",
    "CommandResult",
    "CommandStream",
    "HostKeyMismatch",
    "HostKeyUnknown",
    "HttpError",
    "KsysTransport",
    "RestTransport",
    "SshCommandStream",
    "SshTransport",
    "Timeout",
    "TransportError",
    "TransportHealth",
    "Unreachable",
]

if TYPE_CHECKING:  # mypy proves the SSH transport keeps the one interface
    def _ssh_is_a_transport(t: SshTransport) -> KsysTransport:
        return t
