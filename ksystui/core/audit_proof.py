"""What the audit trail proves beyond its own links (pure).

* **Completeness**: the anchors, every head the chain had, copied outside the
  database as it moved, must still be in the chain. A chain that ends before
  the newest anchor lost its tail (a wipe when nothing is left); a chain whose
  row at an anchored seq has another hash was rewritten.
* **The operations table**: every operation's state follows from its audit
  records (submit → queued, admit → admitted, start → running, finish → its
  state, …), so a row edited behind the arbiter's back (a succeeded operation
  turned failed) disagrees with its records and is named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ksystui.core.audit import AuditRecord, ChainProblem


@dataclass(frozen=True)
class Anchor:
    """A head as the anchor log recorded it after its commit."""

    seq: int
    hash: str
    at: str  # when it was written (ISO 8601 UTC), for the message


def _short(hash_: str) -> str:
    return hash_.rsplit(":", 1)[-1][:12]


def check_anchors(records: Sequence[AuditRecord], anchors: Iterable[Anchor], *, source: str) -> list[ChainProblem]:
    """Compare the chain (in seq order) with the anchors ``source`` holds.
    Anchors may lag the database (a crash between commit and anchoring), never
    lead it."""
    anchors = list(anchors)
    if not anchors:
        return []
    by_seq = {rec.seq: rec.hash for rec in records}
    last_seq = max(by_seq, default=0)
    top = max(anchors, key=lambda a: a.seq)
    problems: list[ChainProblem] = []
    if top.seq > 0 and not records:
        problems.append(ChainProblem(None, None, where="anchor log", problem=f"the audit trail was wiped: the database holds no audit row, "
                                                 f"but {source} recorded seq {top.seq} ({_short(top.hash)}…) "
                                                 f"at {top.at}"))
    elif top.seq > last_seq:
        problems.append(ChainProblem(None, None, where="anchor log", problem=f"tail truncated and head moved: the chain ends at seq {last_seq}, "
                                                 f"but {source} recorded seq {top.seq} ({_short(top.hash)}…) at "
                                                 f"{top.at}: {top.seq - last_seq} newest rows were deleted"))
    for anchor in sorted(anchors, key=lambda a: a.seq):
        found = by_seq.get(anchor.seq)
        if found is not None and found != anchor.hash:
            problems.append(ChainProblem(anchor.seq, None, f"re-hashed chain: its hash ({_short(found)}…) is not "
                                                           f"the one {source} recorded at {anchor.at} "
                                                           f"({_short(anchor.hash)}…): the rows up to it were "
                                                           "rewritten"))
            break  # every later anchor differs too
    return problems


def check_given_anchor(records: Sequence[AuditRecord], hash_: str) -> list[ChainProblem]:
    """An anchor hash kept elsewhere (a report, a ticket): the chain must hold it."""
    wanted = hash_.strip().lower()
    if any(rec.hash.lower() == wanted or rec.hash.lower().endswith(":" + wanted) for rec in records):
        return []
    return [ChainProblem(None, None, where="anchor", problem=f"the given anchor {_short(wanted)}… is not in the chain: the trail was "
                                     "truncated or rewritten since it was taken")]


@dataclass(frozen=True)
class OperationRow:
    """What of an operations row its audit records vouch for."""

    id: int
    tenant: str
    node: str
    op: str
    state: str


#: The state an action leaves an operation in (None: unchanged). An action not
#: listed leaves it in the state its detail names ("state" or "to"), or else
#: in one the trail does not tell (then it is not compared until a later record says).
_STATE_AFTER: Mapping[str, str | None] = {
    "submit": "queued", "admit": "admitted", "start": "running", "requeue": "queued", "cancel": "cancelled",
    "progress": None, "raise": None, "refused": None, "fenced": None,
}
_UNKNOWN = "?"


def _state_after(rec: AuditRecord, before: str | None) -> str | None:
    detail = rec.detail
    if rec.action == "finish":
        return _str(detail.get("state")) or _UNKNOWN
    if rec.action == "resolve":
        return _str(detail.get("to")) or _UNKNOWN
    if rec.action in _STATE_AFTER:
        after = _STATE_AFTER[rec.action]
        return before if after is None else after
    named = _str(detail.get("state")) or _str(detail.get("to"))
    return named or _UNKNOWN


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def derive_states(records: Iterable[AuditRecord]) -> dict[int, tuple[AuditRecord, str | None]]:
    """operation id → (its submit record, the state its records leave it in;
    None when it has no submit record)."""
    out: dict[int, tuple[AuditRecord, str | None]] = {}
    for rec in records:
        if rec.operation is None:
            continue
        submit, state = out.get(rec.operation, (rec, None))
        if rec.action == "submit":
            submit = rec
        out[rec.operation] = (submit, _state_after(rec, state))
    return out


def check_operations(records: Sequence[AuditRecord], rows: Iterable[OperationRow]) -> list[ChainProblem]:
    """Every operations row against what its audit records say."""
    derived = derive_states(records)
    problems: list[ChainProblem] = []
    seen: set[int] = set()
    for row in rows:
        seen.add(row.id)
        if row.id not in derived:
            problems.append(_op(row.id, "has no audit record: it was inserted without the arbiter"))
            continue
        submit, state = derived[row.id]
        if submit.action != "submit":
            problems.append(_op(row.id, "its submit record is missing"))
        else:
            said = (submit.tenant, submit.node, submit.detail.get("op"))
            if said != (row.tenant, row.node, row.op):
                problems.append(_op(row.id, f"is {row.op} of {row.tenant} on {row.node}, its audit records say "
                                            f"{said[2]} of {said[0]} on {said[1]} (edited)"))
        if state not in (None, _UNKNOWN) and state != row.state:
            problems.append(_op(row.id, f"is {row.state}, its audit records say {state} (edited)"))
    for op_id in sorted(set(derived) - seen):
        if derived[op_id][0].action == "submit":
            problems.append(_op(op_id, "is audited but missing from the operations table (deleted)"))
    return problems


def _op(op_id: int, problem: str) -> ChainProblem:
    return ChainProblem(None, None, f"#{op_id} {problem}", where="operations")
