"""The audit trail proves its own completeness (issue 16, deliverable 1):
keyed with a key outside the database, anchored outside it, covering the
operations table. Each intrusion is ONE or two plain SQL statements, as the
issue's adversarial run made them."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ksystui.core.audit import GENESIS, AuditRecord, digest, keyed_digest, seal
from ksystui.store.audit_key import ENV_DIR, ENV_KEY, audit_key
from ksystui.store.audit_log import AuditLog, AuditTrailBroken
from ksystui.store.engine import open_engine
from ksystui.store.queue import Queue
from tests.store.audit_state import own_audit_state
from tests.store.test_audit_log import ALICE, _verify, raw, workload


@pytest.fixture(scope="module", autouse=True)
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This module's own key (and no key from the environment)."""
    with own_audit_state(tmp_path_factory.mktemp("audit-state")) as state:
        yield state


@pytest.fixture(scope="module")
def template(audit_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database after the workload: 12 keyed records, 2 operations (built once)."""
    path = tmp_path_factory.mktemp("audit-proof") / "template.db"
    q = Queue.open(f"sqlite:///{path}")
    try:
        workload(q)
        assert q.verify_audit() == []
    finally:
        q.close()
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    """A copy of the template, with its anchor log."""
    path = tmp_path / "ks.db"
    for suffix in ("", "-wal", "-shm", ".anchors"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", f"{path}{suffix}")
    return path


def problems_of(path: Path, anchor: str | None = None) -> list[str]:
    engine = open_engine(f"sqlite:///{path}")
    try:
        return [str(p) for p in AuditLog(engine).verify(anchor)]
    finally:
        engine.dispose()


def rows(path: Path) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY seq")]
    finally:
        conn.close()


def script(path: Path, *statements: tuple[str, tuple]) -> None:
    conn = sqlite3.connect(path)
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


# --- Why: "DELETE FROM audit; DELETE FROM audit_head; → audit trail intact" ---------------------
def test_a_wiped_trail_is_named_a_wipe(db):
    raw(db, "DELETE FROM audit")
    raw(db, "DELETE FROM audit_head")
    problems = problems_of(db)
    assert any("wiped" in p for p in problems), problems
    assert any("head anchor is missing" in p for p in problems), problems


def test_a_wipe_that_resets_the_head_is_still_a_wipe(db):
    raw(db, "DELETE FROM audit")
    raw(db, "UPDATE audit_head SET last_seq = 0, last_hash = ?", (GENESIS,))
    problems = problems_of(db)
    assert any("the audit trail was wiped" in p and "seq 12" in p for p in problems), problems


def test_writing_after_the_head_was_deleted_is_a_sentence_and_changes_nothing(db):
    raw(db, "DELETE FROM audit")
    raw(db, "DELETE FROM audit_head")
    q = Queue(open_engine(f"sqlite:///{db}"))
    try:
        with pytest.raises(AuditTrailBroken, match="audit trail is broken") as caught:
            q.submit(_verify("customerA", "r7r3m116"), ALICE)
        assert "\n" not in str(caught.value)
        assert len(q.operations()) == 2  # nothing was queued
    finally:
        q.close()


# --- Why: "deleting the last rows and moving audit_head to the new last row is not detected" ----
@pytest.mark.parametrize("keep", [1, 6, 11])
def test_a_truncated_tail_with_a_moved_head_is_named(db, keep):
    last_kept = rows(db)[keep - 1]
    script(db, ("DELETE FROM audit WHERE seq > ?", (keep,)),
           ("UPDATE audit_head SET last_seq = ?, last_hash = ?", (keep, last_kept["hash"])))
    problems = problems_of(db)
    assert any("tail truncated and head moved" in p and f"ends at seq {keep}" in p and "seq 12" in p
               for p in problems), problems


# --- a chain re-hashed without the key ------------------------------------------------------------
def _rehash(path: Path, *, key: bytes | None) -> None:
    """Edit seq 3's detail, then re-seal every row from it on (unkeyed, or
    with a guessed key) and move the head: the chain agrees with itself."""
    chain = rows(path)
    prev: AuditRecord | None = None
    statements = []
    for r in chain:
        detail = json.loads(r["detail"])
        if r["seq"] == 3:
            detail = {**detail, "console": "nobody"}
        fields = {k: r[k] for k in ("at", "actor", "action", "operation", "tenant", "node")}
        rec = seal(prev, detail=detail, key=key, **fields)
        if r["seq"] >= 3:
            statements.append(("UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                               (json.dumps(detail, sort_keys=True), rec.prev_hash, rec.hash, r["seq"])))
        prev = rec if r["seq"] >= 3 else AuditRecord(**{k: r[k] for k in AuditRecord.__dataclass_fields__
                                                        if k != "detail"}, detail=json.loads(r["detail"]))
    statements.append(("UPDATE audit_head SET last_seq = ?, last_hash = ?", (prev.seq, prev.hash)))
    script(path, *statements)


@pytest.mark.parametrize("key", [None, b"a guess at the key, sixteen+"], ids=["unkeyed", "guessed-key"])
def test_a_chain_rehashed_without_the_key_is_named(db, key):
    _rehash(db, key=key)
    problems = problems_of(db)
    assert any("re-hashed" in p for p in problems), problems
    assert any("seq 3" in p for p in problems), problems


def test_the_anchor_log_alone_catches_a_rewrite_with_the_key(db):
    """Even someone holding the key cannot rewrite history the anchor log saw."""
    _rehash(db, key=audit_key())
    problems = problems_of(db)
    assert any("re-hashed chain" in p and "anchor log" in p for p in problems), problems


# --- Why: "the operations table is not covered at all (a succeeded operation edited to failed)" ----
def test_an_operation_edited_behind_the_arbiters_back_is_named(db):
    raw(db, "UPDATE operations SET state = 'failed' WHERE state = 'succeeded'")
    problems = problems_of(db)
    assert any(p.startswith("operations: #1 is failed, its audit records say succeeded") for p in problems), problems


@pytest.mark.parametrize("edit", [
    "UPDATE operations SET tenant = 'customerB' WHERE id = 1",
    "UPDATE operations SET state = 'queued', fence = NULL WHERE id = 2",
    "INSERT INTO operations (tenant, node, op, argv, recovery_hosts, host_names, priority, class_rank, arrival, "
    "raised, state, confirmed, submitted_by, submitted_at) VALUES ('customerA', 'r7r3m116', 'move', '[]', '[]', "
    "'[]', 1, 1, 99, 0, 'queued', 0, 'mallory', '2026-01-01')",
])
def test_any_operations_edit_is_named(db, edit):
    raw(db, edit)
    problems = problems_of(db)
    assert any(p.startswith("operations: #") for p in problems), problems


# --- what stays as it was ----------------------------------------------------------------------------
def test_rows_sealed_before_the_key_still_verify_and_the_chain_goes_on_keyed(tmp_path):
    """A database from before the key: its unkeyed rows verify; new rows are keyed."""
    path = tmp_path / "old.db"
    Queue.open(f"sqlite:///{path}").close()
    old = seal(None, at="2026-01-01T00:00:00.000000+00:00", actor="alice@noc1/console-1", action="schedule",
               detail={"auto_discovery_time": "02:00"})
    assert old.hash == digest(old.content()) and len(old.hash) == 64
    script(path, ("INSERT INTO audit (id, seq, at, actor, action, operation, tenant, node, detail, prev_hash, hash) "
                  "VALUES (1, 1, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?)",
                  (old.at, old.actor, old.action, json.dumps(dict(old.detail)), old.prev_hash, old.hash)),
           ("UPDATE audit_head SET last_seq = 1, last_hash = ?", (old.hash,)))
    assert problems_of(path) == []
    q = Queue.open(f"sqlite:///{path}")
    try:
        q.submit(_verify("customerA", "r7r3m116"), ALICE)
    finally:
        q.close()
    new = rows(path)[-1]
    assert new["hash"].startswith("hmac-sha256:") and new["prev_hash"] == old.hash
    assert problems_of(path) == []


def test_the_key_is_a_0600_file_outside_the_database_and_never_in_it(db, audit_dir):
    key_file = audit_dir / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    for f in db.parent.iterdir():
        if f.is_file() and f.name.startswith(db.name):
            assert key.encode() not in f.read_bytes(), f
    r = rows(db)[-1]
    content = {k: r[k] for k in ("seq", "at", "actor", "action", "operation", "tenant", "node", "prev_hash")}
    assert r["hash"] == keyed_digest({**content, "detail": json.loads(r["detail"])}, key.encode())


def test_a_key_from_the_environment_is_used_and_a_short_one_refused(db, monkeypatch):
    monkeypatch.setenv(ENV_KEY, "x" * 32)
    assert audit_key() == b"x" * 32
    monkeypatch.setenv(ENV_KEY, "short")
    q = Queue(open_engine(f"sqlite:///{db}"))
    try:
        with pytest.raises(Exception, match="KSYSTUI_AUDIT_KEY is shorter than 16"):
            q.submit(_verify("customerA", "r7r3m116"), ALICE)
    finally:
        q.close()


def test_the_anchor_log_has_every_committed_head_and_none_rolled_back(db):
    anchors = [json.loads(line) for line in Path(f"{db}.anchors").read_text().splitlines()]
    chain = rows(db)
    assert [(a["seq"], a["hash"]) for a in anchors] == [(r["seq"], r["hash"]) for r in chain]
    q = Queue(open_engine(f"sqlite:///{db}"))
    try:  # refused inside its transaction: rolled back, nothing anchored
        with pytest.raises(ValueError):
            q.submit(_verify("customerA", "r7r3m116").__class__(
                "customerA", "r7r3m116", "verify", ["ksysmgr", "verify", "site", "Austin"],
                recovery_hosts=["h"], pair_id=999), ALICE)
    finally:
        q.close()
    assert len(Path(f"{db}.anchors").read_text().splitlines()) == len(chain)


def test_an_anchor_log_that_lags_is_fine_and_a_missing_one_is_named(db):
    log = Path(f"{db}.anchors")
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-3]) + "\n")  # killed between commit and anchoring, three times
    assert problems_of(db) == []
    log.unlink()
    problems = problems_of(db)
    assert any("anchor log" in p and "missing" in p for p in problems), problems


def test_a_given_anchor_hash_must_be_in_the_chain(db):
    head = rows(db)[5]["hash"]
    assert problems_of(db, anchor=head) == []
    assert problems_of(db, anchor=head.split(":")[1]) == []  # the bare digits will do
    raw(db, "DELETE FROM audit WHERE seq = 6")
    assert any("given anchor" in p for p in problems_of(db, anchor=head))


def test_key_file_race_gives_every_process_the_same_key(tmp_path):
    """Two first runs at once: one key, whoever wins (linked whole, never half-written)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        keys = set(pool.map(_key_in_child, [str(tmp_path)] * 4))
    assert len(keys) == 1 and os.listdir(tmp_path) == ["audit.key"]


def _key_in_child(directory: str) -> bytes:
    os.environ[ENV_DIR] = directory
    return audit_key()


def test_on_postgresql_the_anchor_log_outside_the_database_names_a_wipe(pg_url):
    """The same proof on PostgreSQL, whose anchor log lives in the audit
    directory (named after the server, the database and the cluster's id)."""
    q = Queue.open(pg_url)
    try:
        workload(q)
        assert q.verify_audit() == []
        assert [p for p in q.audit.anchors.path.parent.iterdir() if p.suffix == ".log"]
        with q.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit")
            conn.exec_driver_sql("UPDATE audit_head SET last_seq = 0, last_hash = '" + GENESIS + "'")
        problems = [str(p) for p in q.verify_audit()]
        assert any("the audit trail was wiped" in p for p in problems), problems
    finally:
        q.close()


def test_a_record_committed_while_the_trail_is_verified_is_no_truncation(db, monkeypatch):
    """CI saw 'tail truncated and head moved … 1 newest rows were deleted' on
    an intact trail: a record was committed (and anchored) between the
    verifier's read of the chain and its read of the anchor log. The log is
    read first now: a head is anchored only after its commit."""
    from ksystui.store.audit_anchor import AnchorLog

    engine = open_engine(f"sqlite:///{db}")
    writer = Queue(open_engine(f"sqlite:///{db}"))
    real_read = AnchorLog.read
    try:
        def read_while_another_commits(self: AnchorLog):
            writer.record(ALICE, "schedule", detail={"auto_discovery_time": "03:00"})  # commits, then anchors
            return real_read(self)

        monkeypatch.setattr(AnchorLog, "read", read_while_another_commits)
        assert AuditLog(engine).verify() == []
    finally:
        writer.close()
        engine.dispose()
