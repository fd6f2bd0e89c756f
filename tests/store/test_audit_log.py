"""The audit trail: one row per transition, tamper-evident, tenant-scoped
export, no secrets."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ksystui.core.audit import AuditRecord, seal
from ksystui.core.lifecycle import Op
from ksystui.store import audit_log
from ksystui.store.audit_log import Actor, AuditLog, SecretRefused
from ksystui.store.engine import StoreError, open_engine
from ksystui.store.queue import NewOp, Queue

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"
ALICE = Actor("alice", "noc1", "console-1")
BOB = Actor("bob", "noc2", "console-2")
COLUMNS = ("id", "seq", "at", "actor", "action", "operation", "tenant", "node", "detail", "prev_hash", "hash")


def _verify(tenant: str, node: str) -> NewOp:
    return NewOp(tenant, node, Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"], recovery_hosts=[SNORLAX])


def workload(q: Queue) -> None:
    """A bit of everything, for two tenants and one untenanted record."""
    a = q.submit(_verify("customerA", "r7r3m116"), ALICE)
    b = q.submit(_verify("customerB", "r7r3m200"), BOB)
    fence = q.admit(a.id, "console-1", ALICE)
    q.mark_running(a.id, fence, ALICE)
    q.add_progress(a.id, fence, "Verification has started", ALICE, milestone=True)
    q.add_progress(a.id, fence, "  not audited", ALICE)
    q.finish(a.id, fence, "succeeded", 0, "exit 0", "", ALICE)
    q.record(BOB, "schedule", detail={"auto_discovery_time": "02:00"})  # no tenant
    q.raise_priority(b.id, ALICE, "contract review")
    fence = q.admit(b.id, "console-2", BOB)
    q.mark_running(b.id, fence, BOB)
    q.finish(b.id, fence, "in_doubt", None, "connection lost", "", BOB)
    q.resolve(b.id, "failed", ALICE, "the HMC shows the verification failed")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, int]:
    """A database after the workload (built once; tests work on copies)."""
    path = tmp_path_factory.mktemp("audit") / "template.db"
    q = Queue.open(f"sqlite:///{path}")
    workload(q)
    rows = len(q.export_audit())
    q.close()  # the last connection checkpoints the WAL into the file
    return path, rows


@pytest.fixture
def copy(template, tmp_path) -> tuple[Path, int]:
    src, rows = template
    dst = tmp_path / "ks.db"
    shutil.copy(src, dst)
    for suffix in ("-wal", "-shm", ".anchors"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return dst, rows


def raw(path: Path, sql: str, params: tuple = ()) -> None:
    """ONE statement through the stdlib sqlite3 module, as an intruder would."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def problems_of(path: Path) -> list:
    engine = open_engine(f"sqlite:///{path}")
    try:
        return AuditLog(engine).verify()
    finally:
        engine.dispose()


def names(problems, *, row_id=None, seq=None) -> bool:
    return any((row_id is not None and p.row_id == row_id) or (seq is not None and p.seq == seq) for p in problems)


def row(path: Path, seq: int) -> dict:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM audit WHERE seq = ?", (seq,)).fetchone())
    finally:
        conn.close()


# --- one row per transition, and an intact chain -----------------------------------------------
def test_an_untouched_database_verifies(tmp_path):
    q = Queue.open(f"sqlite:///{tmp_path / 'ks.db'}")
    try:
        assert q.verify_audit() == [] and q.audit.head() == (0, "0" * 64)
        workload(q)
        assert q.verify_audit() == []
        entries = q.export_audit()
        assert [e["action"] for e in entries] == [
            "submit", "submit", "admit", "start", "progress", "finish", "schedule", "raise", "admit", "start",
            "finish", "resolve"]
        assert [e["seq"] for e in entries] == list(range(1, 13)) == [e["id"] for e in entries]
        assert q.audit.head() == (12, entries[-1]["hash"])
        assert all(e["prev_hash"] == p["hash"] for p, e in zip(entries, entries[1:], strict=False))
    finally:
        q.close()


def test_the_template_verifies(copy):
    assert problems_of(copy[0]) == []


# --- tampering: ONE raw statement, and verify names the row ------------------------------------------
FORGED = {
    "id": "id + 1000", "seq": "seq + 1000", "at": "'1999-12-31T23:59:59.000000+00:00'", "actor": "'mallory@x/y'",
    "action": "'cancel'", "operation": "coalesce(operation, 0) + 100", "tenant": "'customerZ'",
    "node": "'elsewhere'", "detail": "'{\"reason\": \"nothing to see\"}'", "prev_hash": "'" + "f" * 64 + "'",
    "hash": "'" + "e" * 64 + "'",
}


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_an_update_of_any_column_is_found_and_named(copy, column, position):
    path, n = copy
    seq = {"first": 1, "middle": n // 2, "last": n}[position]
    raw(path, f"UPDATE audit SET {column} = {FORGED[column]} WHERE seq = ?", (seq,))
    problems = problems_of(path)
    assert problems, f"UPDATE of {column} at seq {seq} went unnoticed"
    assert names(problems, seq=seq) or names(problems, row_id=seq), [str(p) for p in problems]


@pytest.mark.parametrize("position", ["first", "second", "middle", "second-to-last", "last"])
def test_a_deleted_row_is_found_and_named(copy, position):
    path, n = copy
    seq = {"first": 1, "second": 2, "middle": n // 2, "second-to-last": n - 1, "last": n}[position]
    raw(path, "DELETE FROM audit WHERE seq = ?", (seq,))
    problems = problems_of(path)
    assert problems
    # the gap is named where it shows: the missing seq, or the row right after it
    assert names(problems, seq=seq) or names(problems, seq=seq + 1), [str(p) for p in problems]


def _forged_next(path: Path, n: int, **override) -> dict:
    last = row(path, n)
    prev = AuditRecord(**{k: last[k] for k in COLUMNS if k != "id"} | {"detail": json.loads(last["detail"])})
    rec = seal(prev, at="2026-11-23T04:00:00.000000+00:00", actor="mallory@x/y", action="resolve",
               operation=last["operation"], tenant="customerA", node="r7r3m116",
               detail={"reason": "looks legitimate"})
    values = {"id": rec.seq, "seq": rec.seq, "at": rec.at, "actor": rec.actor, "action": rec.action,
              "operation": rec.operation, "tenant": rec.tenant, "node": rec.node,
              "detail": json.dumps(dict(rec.detail)), "prev_hash": rec.prev_hash, "hash": rec.hash}
    return values | override


def _insert(path: Path, values: dict) -> None:
    raw(path, f"INSERT INTO audit ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()))


@pytest.mark.parametrize("kind", ["well-chained next", "well-chained, other id", "before the first",
                                  "far after the end", "replay of an old row"])
def test_an_inserted_row_is_found_and_named(copy, kind):
    path, n = copy
    if kind == "well-chained next":  # a perfect forgery of the next link: only the head anchor tells
        forged = _forged_next(path, n)
    elif kind == "well-chained, other id":
        forged = _forged_next(path, n, id=5000)
    elif kind == "before the first":
        forged = _forged_next(path, n, id=0, seq=0, prev_hash="0" * 64)
    elif kind == "far after the end":
        forged = _forged_next(path, n, id=n + 7, seq=n + 7)
    else:
        old = row(path, 3)
        forged = old | {"id": n + 1, "seq": n + 1}
    _insert(path, forged)
    problems = problems_of(path)
    assert problems
    assert names(problems, row_id=forged["id"]) or names(problems, seq=forged["seq"]), [str(p) for p in problems]


def test_a_row_cannot_be_slipped_in_mid_chain_at_all(copy):
    """seq is UNIQUE: a forged row can only take a seq nobody has."""
    path, _n = copy
    with pytest.raises(sqlite3.IntegrityError):
        _insert(path, _forged_next(path, _n, id=9999, seq=4))


def test_moving_the_head_back_names_the_rows_after_it(copy):
    path, n = copy
    raw(path, "UPDATE audit_head SET last_seq = last_seq - 2")
    problems = problems_of(path)
    assert names(problems, seq=n) and names(problems, seq=n - 1)


def test_a_missing_head_is_reported_and_stops_further_writes(copy):
    path, _n = copy
    raw(path, "DELETE FROM audit_head")
    assert any("head anchor is missing" in p.problem for p in problems_of(path))
    q = Queue(open_engine(f"sqlite:///{path}"))
    try:
        with pytest.raises(StoreError, match="audit head anchor is missing"):
            q.submit(_verify("customerA", "r7r3m116"), ALICE)
    finally:
        q.close()


TAMPER = st.one_of(
    st.tuples(st.just("update"), st.sampled_from(COLUMNS), st.floats(0, 1)),
    st.tuples(st.just("delete"), st.just(""), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.sampled_from(["next", "replay", "zero"]), st.floats(0, 1)),
)


def test_fuzzed_single_statement_tampering_is_always_found(template, tmp_path):
    src, n = template

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(TAMPER)
    def run(tamper):
        kind, what, where = tamper
        path = tmp_path / "fuzz.db"
        shutil.copy(src, path)
        seq = 1 + int(where * (n - 1))
        if kind == "update":
            raw(path, f"UPDATE audit SET {what} = {FORGED[what]} WHERE seq = ?", (seq,))
            expected = [(None, seq), (seq, None)]
        elif kind == "delete":
            raw(path, "DELETE FROM audit WHERE seq = ?", (seq,))
            expected = [(None, seq), (None, seq + 1)]
        else:
            forged = {"next": lambda: _forged_next(path, n),
                      "replay": lambda: row(path, seq) | {"id": n + 1, "seq": n + 1},
                      "zero": lambda: _forged_next(path, n, id=-seq, seq=-seq)}[what]()
            _insert(path, forged)
            expected = [(forged["id"], None), (None, forged["seq"])]
        problems = problems_of(path)
        assert any(names(problems, row_id=r, seq=s) for r, s in expected), (tamper, [str(p) for p in problems])
        path.unlink()

    run()


# --- export ---------------------------------------------------------------------------------------
def test_export_is_json_lines_ready_and_tenant_export_is_only_that_tenant(copy, monkeypatch):
    path, n = copy
    monkeypatch.setattr(audit_log, "_EXPORT_PAGE", 3)  # page through it
    engine = open_engine(f"sqlite:///{path}")
    try:
        log = AuditLog(engine)
        everything = list(log.export())
        assert [e["seq"] for e in everything] == list(range(1, n + 1))
        for line in (json.dumps(e) for e in everything):
            assert json.loads(line)["hash"]
        a = list(log.export(tenant="customerA"))
        b = list(log.export(tenant="customerB"))
        assert a and all(e["tenant"] == "customerA" for e in a)
        assert b and all(e["tenant"] == "customerB" for e in b)
        untenanted = [e for e in everything if e["tenant"] is None]
        assert [e["action"] for e in untenanted] == ["schedule"]
        assert len(a) + len(b) + len(untenanted) == n
        assert "customerB" not in json.dumps(a) and "auto_discovery_time" not in json.dumps(a)
        assert list(log.export(tenant="nobody")) == []
    finally:
        engine.dispose()


# --- no secrets -----------------------------------------------------------------------------------
@pytest.mark.parametrize("detail", [
    {"password": "hunter2"},
    {"hmc": {"Password": "hunter2"}},
    {"token": "abc"},
    {"api_key": "abc"},
    {"API-KEY": "abc"},
    {"passphrase": "abc"},
    {"client_secret": "abc"},
    {"argv": ["ksysmgr", "add", "hmc", "h1", "login=hscroot", "password=hunter2"]},
    {"reason": "reset it, token: 4f9a"},
])
def test_a_detail_that_looks_secret_is_refused_and_nothing_is_written(tmp_path, detail):
    q = Queue.open(f"sqlite:///{tmp_path / 'ks.db'}")
    try:
        with pytest.raises(SecretRefused, match="never stored"):
            q.record(ALICE, "configure", tenant="customerA", detail=detail)
        assert q.export_audit() == [] and q.audit.head() == (0, "0" * 64)
    finally:
        q.close()


def test_ordinary_details_pass_the_guard(tmp_path):
    q = Queue.open(f"sqlite:///{tmp_path / 'ks.db'}")
    try:
        q.record(ALICE, "configure", detail={"reason": "the pass through site is Austin", "keys": 3,
                                              "argv": ["ksysmgr", "verify", "site", "Austin"]})
        assert q.verify_audit() == []
    finally:
        q.close()
