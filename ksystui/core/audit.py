"""The audit trail's hash chain (pure).

Every audit row carries the SHA-256 of its own content and of the previous
row's hash, so editing, deleting or inserting any row breaks the chain at a
place we can name. The tail is anchored too: the store keeps the sequence
number and hash of the last row in a separate head record, updated in the
same transaction, so deleting the newest row is caught as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TypedDict

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int  # 1, 2, 3 … with no gap
    at: str  # ISO 8601 UTC
    actor: str  # os user @ host / console id
    action: str  # submit, admit, start, progress, finish, cancel, raise, override, …
    operation: int | None  # the queued operation's id
    tenant: str | None
    node: str | None
    detail: Mapping[str, object]  # what and why; never a secret
    prev_hash: str
    hash: str

    def content(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("hash")
        d["detail"] = dict(self.detail)
        return d



class AuditEntry(TypedDict):
    """A stored record as readers get it (export, the audit view): the
    record's fields, its row id, and the detail as stored (a mapping, or
    whatever an edited row holds)."""

    id: int
    seq: int
    at: str
    actor: str
    action: str
    operation: int | None
    tenant: str | None
    node: str | None
    detail: object
    prev_hash: str
    hash: str

def digest(content: Mapping[str, object]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def seal(prev: AuditRecord | None, *, at: str, actor: str, action: str, operation: int | None = None,
         tenant: str | None = None, node: str | None = None,
         detail: Mapping[str, object] | None = None) -> AuditRecord:
    """The next record of the chain."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    content = {
        "seq": seq, "at": at, "actor": actor, "action": action, "operation": operation, "tenant": tenant,
        "node": node, "detail": dict(detail or {}), "prev_hash": prev_hash,
    }
    return AuditRecord(**content, hash=digest(content))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None  # the row the problem is found at (None: the head anchor)
    row_id: int | None  # the database row id, where known
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row_id} (seq {self.seq})" if self.row_id is not None else (
            f"seq {self.seq}" if self.seq is not None else "head")
        return f"{where}: {self.problem}"


def verify_chain(records: Sequence[tuple[int | None, AuditRecord]],
                 head: tuple[int, str] | None) -> list[ChainProblem]:
    """Check (row id, record) pairs in sequence order against each other and
    against the head anchor (last seq, last hash). Returns every problem."""
    problems: list[ChainProblem] = []
    prev_hash, expected_seq = GENESIS, 1
    for row_id, rec in records:
        if digest(rec.content()) != rec.hash:
            problems.append(ChainProblem(rec.seq, row_id, "content does not match its hash (edited)"))
        if rec.seq != expected_seq:
            what = "missing before it (deleted)" if rec.seq > expected_seq else "repeated or out of order (inserted)"
            problems.append(ChainProblem(rec.seq, row_id, f"expected seq {expected_seq}: a row is {what}"))
        if rec.prev_hash != prev_hash:
            problems.append(ChainProblem(rec.seq, row_id, "does not follow the previous row (inserted, deleted or "
                                                          "edited before it)"))
        prev_hash, expected_seq = rec.hash, rec.seq + 1
    last_seq = expected_seq - 1
    if head is None:
        if records:
            problems.append(ChainProblem(None, None, "the head anchor is missing"))
    elif head != (last_seq, prev_hash):
        problems.append(ChainProblem(None, None, f"the head says seq {head[0]}, the chain ends at seq {last_seq} "
                                                 "(the newest rows were deleted or added)"))
    return problems
