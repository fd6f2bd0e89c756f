"""The audit trail's hash chain (pure).

Every audit row carries a hash of its own content and of the previous row's
hash, so editing, deleting or inserting any row breaks the chain at a place
we can name. The tail is anchored twice: the store keeps the sequence number
and hash of the last row in a head record, updated in the same transaction,
and every new head is also appended to an anchor log outside the database
(``store.audit_anchor``), so a wipe or a trimmed tail with a moved head shows.

Two sealing schemes, and every hash says which sealed it:

* ``sha256`` (rows written before the key existed): the bare 64 hex digits of
  SHA-256 over the canonical content. Anyone can recompute these, so they are
  accepted only as the chain's oldest rows, before the first keyed one.
* ``hmac-sha256`` (every new row): ``hmac-sha256:`` and the HMAC-SHA256 of the
  same content under a key held outside the database. Someone with write
  access to the database but not the key cannot re-hash an edited chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TypedDict

GENESIS = "0" * 64
KEYED = "hmac-sha256"
UNKEYED = "sha256"
_KEYED_PREFIX = KEYED + ":"


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


def _canonical(content: Mapping[str, object]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(content: Mapping[str, object]) -> str:
    """The unkeyed (``sha256``) hash: what rows sealed before the key carry."""
    return hashlib.sha256(_canonical(content)).hexdigest()


def keyed_digest(content: Mapping[str, object], key: bytes) -> str:
    """The keyed (``hmac-sha256``) hash, prefixed with its scheme's name."""
    return _KEYED_PREFIX + hmac.new(key, _canonical(content), hashlib.sha256).hexdigest()


def scheme_of(hash_: str) -> str:
    """Which scheme sealed a row, as its hash says."""
    return KEYED if hash_.startswith(_KEYED_PREFIX) else UNKEYED


def seal(prev: AuditRecord | None, *, at: str, actor: str, action: str, operation: int | None = None,
         tenant: str | None = None, node: str | None = None,
         detail: Mapping[str, object] | None = None, key: bytes | None = None) -> AuditRecord:
    """The next record of the chain: keyed when ``key`` is given (the store
    always gives it), else sealed the old unkeyed way."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    content = {
        "seq": seq, "at": at, "actor": actor, "action": action, "operation": operation, "tenant": tenant,
        "node": node, "detail": dict(detail or {}), "prev_hash": prev_hash,
    }
    hash_ = digest(content) if key is None else keyed_digest(content, key)
    return AuditRecord(**content, hash=hash_)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None  # the row the problem is found at (None: the head anchor)
    row_id: int | None  # the database row id, where known
    problem: str
    where: str | None = None  # instead of the row: "anchor log", "operations"

    def __str__(self) -> str:
        if self.where is not None:
            return f"{self.where}: {self.problem}"
        where = f"row {self.row_id} (seq {self.seq})" if self.row_id is not None else (
            f"seq {self.seq}" if self.seq is not None else "head")
        return f"{where}: {self.problem}"


def _sealed_by_its_scheme(rec: AuditRecord, key: bytes | None) -> bool:
    if scheme_of(rec.hash) == KEYED:
        return key is not None and hmac.compare_digest(keyed_digest(rec.content(), key), rec.hash)
    return digest(rec.content()) == rec.hash


def verify_chain(records: Sequence[tuple[int | None, AuditRecord]],
                 head: tuple[int, str] | None, *, key: bytes | None = None) -> list[ChainProblem]:
    """Check (row id, record) pairs in sequence order against each other and
    against the head anchor (last seq, last hash). Returns every problem.
    With ``key``, keyed rows are checked against it (without it, a keyed row
    cannot be shown genuine and is reported); unkeyed rows are accepted only
    before the first keyed row."""
    problems: list[ChainProblem] = []
    prev_hash, expected_seq = GENESIS, 1
    keyed_seen = False
    for row_id, rec in records:
        keyed = scheme_of(rec.hash) == KEYED
        if not _sealed_by_its_scheme(rec, key):
            if keyed and key is None:
                problems.append(ChainProblem(rec.seq, row_id, "keyed, and no audit key to check it with"))
            elif keyed:
                problems.append(ChainProblem(rec.seq, row_id, "its keyed hash does not verify: the row was edited, "
                                                              "or the chain re-hashed without the key"))
            else:
                problems.append(ChainProblem(rec.seq, row_id, "content does not match its hash (edited)"))
        if keyed_seen and not keyed:
            problems.append(ChainProblem(rec.seq, row_id, "sealed without the key after keyed rows: the chain was "
                                                          "re-hashed without the key"))
        keyed_seen = keyed_seen or keyed
        if rec.seq != expected_seq:
            what = "missing before it (deleted)" if rec.seq > expected_seq else "repeated or out of order (inserted)"
            problems.append(ChainProblem(rec.seq, row_id, f"expected seq {expected_seq}: a row is {what}"))
        if rec.prev_hash != prev_hash:
            problems.append(ChainProblem(rec.seq, row_id, "does not follow the previous row (inserted, deleted or "
                                                          "edited before it)"))
        prev_hash, expected_seq = rec.hash, rec.seq + 1
    last_seq = expected_seq - 1
    if head is None:
        problems.append(ChainProblem(None, None, "the head anchor is missing (deleted)"))
    elif head != (last_seq, prev_hash):
        problems.append(ChainProblem(None, None, f"the head says seq {head[0]}, the chain ends at seq {last_seq} "
                                                 "(the newest rows were deleted or added)"))
    return problems
