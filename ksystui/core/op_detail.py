"""What Enter on a queue row or an audit row shows, as plain values: an
operation's whole story (its full ksysmgr command, every output line with
its time, exit code, outcome, and its audit records) and one audit record
whole. The arbiter builds them; the console only lays them out."""

from __future__ import annotations

from dataclasses import dataclass

from ksystui.core.readouts import QueueLine


@dataclass(frozen=True)
class OutputLine:
    """One line the operation's command wrote, and when it arrived (UTC)."""

    at: str
    text: str


@dataclass(frozen=True)
class AuditRecordView:
    """One audit record with nothing cut short. A scoped console's view
    carries no global place (seq, hashes, other tenants' operation ids)."""

    seq: int  # the row's key in the console; shown only when shown_seq is set
    shown_seq: str
    at: str
    actor: str
    action: str
    shown_operation: str
    tenant: str
    node: str
    detail: tuple[tuple[str, str], ...]  # every key and its whole value
    prev_hash: str = ""
    hash: str = ""

    def pairs(self) -> list[tuple[str, str]]:
        """The record as key: value lines, detail keys last."""
        out = [("seq", self.shown_seq)] if self.shown_seq else []
        out += [("at", self.at), ("actor", self.actor), ("action", self.action),
                ("operation", self.shown_operation), ("tenant", self.tenant), ("node", self.node)]
        out += [(f"detail.{k}", v) for k, v in self.detail]
        if self.hash:
            out += [("prev_hash", self.prev_hash), ("hash", self.hash)]
        return out

    def summary(self) -> str:
        """The detail on one line, whole (``key=value`` pairs)."""
        return "  ".join(f"{k}={v}" for k, v in self.detail)


@dataclass(frozen=True)
class OperationDetail:
    """An operation as Enter on its queue row shows it."""

    line: QueueLine  # as the queue lists it (state, place, why it waits)
    argv: tuple[str, ...]
    site: str | None
    to_site: str | None
    host_names: tuple[str, ...]
    submitted_by: str
    submitted_at: str
    admitted_at: str
    started_at: str
    finished_at: str
    rc: int | None
    outcome: str
    raise_reason: str
    output: tuple[OutputLine, ...]
    audit: tuple[AuditRecordView, ...]  # oldest first

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    @property
    def active(self) -> bool:
        """Still to change: queued, admitted, running or in doubt."""
        return not self.line.ended


def when(value: object) -> str:
    """A stored time as shown: UTC to the second, "-" for none."""
    if value is None or value == "":
        return "-"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:19].replace("T", " ")
