"""What screens ask of the console. A screen posts one of these and the
message bubbles up to the app, which decides; no screen calls the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.views import ViewRow
from ksystui.ui.ports import SharedNews


@dataclass
class SnapshotReceived(Message):
    """The fleet polled a node (posted from the fleet's callback)."""

    snapshot: NodeSnapshot
    new_events: tuple[KsysEvent, ...] = ()


@dataclass
class SharedChanged(Message):
    """The records every console shares changed (posted from the source's callback)."""

    news: SharedNews


@dataclass
class ScreenShown(Message):
    """A screen came (back) on top: its header and breadcrumb need the present."""


@dataclass
class DrillDownRequested(Message):
    view: str
    row: ViewRow


@dataclass
class RefreshRequested(Message):
    node: str


@dataclass
class AcknowledgeRequested(Message):
    identity: str  # the event's identity (an alert record's identity)


@dataclass
class OperationRequested(Message):
    word: str  # an operation's word (core.operations.OP_WORDS)
    row: ViewRow | None  # the selected row: its node, or its tenant's default node


@dataclass
class CancelRequested(Message):
    op_id: int
    shown: str  # how the queue view names it ("#3" in a scoped console: its own number)
    what: str = ""  # what it is, for the question asked before cancelling ("customerA verify on r7r3m116")


@dataclass
class RaiseRequested(Message):
    op_id: int
    shown: str


@dataclass
class OperationDetailRequested(Message):
    """Enter on a queue row: the operation's whole story."""

    op_id: int
    shown: str


@dataclass
class AuditRecordRequested(Message):
    """Enter on an audit row: the record whole."""

    seq: int
    shown: str
