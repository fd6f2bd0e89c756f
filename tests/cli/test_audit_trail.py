"""The audit trail from the command line (issue 16, deliverable 1): a wiped or
trimmed trail is named by `ksystui audit verify`, and no verb ends in a
traceback over a missing or broken trail."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ksystui.store.audit_anchor import ENV_ANCHOR
from ksystui.store.audit_key import ENV_DIR, ENV_KEY

from .conftest import Quiet, ksystui, quiet_fleet


@pytest.fixture(scope="module", autouse=True)
def own_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_DIR, str(tmp_path_factory.mktemp("audit-state")))
        mp.delenv(ENV_KEY, raising=False)
        mp.delenv(ENV_ANCHOR, raising=False)
        yield


@pytest.fixture(scope="module")
def template(own_key: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two queued discoveries (customerA #1, customerB #2), made once."""
    where = tmp_path_factory.mktemp("trail")
    quiet = Quiet(where / "config.toml", where / "q.db")
    quiet.config.write_text(quiet_fleet(quiet.db))
    quiet.seed(("customerA", "nodeA"), ("customerB", "nodeB"))
    return quiet.db


@pytest.fixture
def seeded(template: Path, tmp_path: Path) -> Quiet:
    quiet = Quiet(tmp_path / "config.toml", tmp_path / "q.db")
    quiet.config.write_text(quiet_fleet(quiet.db))
    for suffix in ("", "-wal", "-shm", ".anchors"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", f"{quiet.db}{suffix}")
    run = ksystui("audit", "verify", "--config", str(quiet.config))
    assert run.rc == 0 and run.out == "audit trail intact\n", run
    return quiet


def sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_verify_names_a_wiped_trail(seeded):
    """Why: `DELETE FROM audit; DELETE FROM audit_head;` → "audit trail intact"."""
    sql(seeded.db, "DELETE FROM audit", "DELETE FROM audit_head")
    run = ksystui("audit", "verify", "--config", str(seeded.config))
    assert run.rc == 1 and "intact" not in run.out, run
    assert "TAMPERED: anchor log: the audit trail was wiped" in run.out and "Traceback" not in run.err, run


def test_verify_names_a_trimmed_tail_with_a_moved_head(seeded):
    """Why: deleting the last rows and moving audit_head to the new last row is not detected."""
    sql(seeded.db, "DELETE FROM audit WHERE seq = 2",
        "UPDATE audit_head SET last_seq = 1, last_hash = (SELECT hash FROM audit WHERE seq = 1)")
    run = ksystui("audit", "verify", "--config", str(seeded.config))
    assert run.rc == 1 and "tail truncated and head moved" in run.out and "ends at seq 1" in run.out, run


def test_verify_names_an_edited_operation(seeded):
    """Why: the operations table is not covered at all (a succeeded operation edited to failed)."""
    sql(seeded.db, "UPDATE operations SET state = 'succeeded' WHERE id = 1")
    run = ksystui("audit", "verify", "--config", str(seeded.config))
    assert run.rc == 1 and "TAMPERED: operations: #1 is succeeded, its audit records say queued" in run.out, run


def test_verify_accepts_a_head_hash_kept_elsewhere(seeded):
    conn = sqlite3.connect(seeded.db)
    head = conn.execute("SELECT last_hash FROM audit_head").fetchone()[0]
    conn.close()
    assert ksystui("audit", "verify", "--anchor", head, "--config", str(seeded.config)).rc == 0
    sql(seeded.db, "DELETE FROM audit WHERE seq = 2",
        "UPDATE audit_head SET last_seq = 1, last_hash = (SELECT hash FROM audit WHERE seq = 1)")
    run = ksystui("audit", "verify", "--anchor", head, "--config", str(seeded.config))
    assert run.rc == 1 and "the given anchor" in run.out, run


def test_an_unreadable_key_is_a_sentence(seeded, monkeypatch):
    monkeypatch.setenv("KSYSTUI_AUDIT_KEY_FILE", str(seeded.db.parent / "nowhere" / "audit.key"))
    run = ksystui("audit", "verify", "--config", str(seeded.config))
    assert run.rc == 1 and run.err.count("\n") == 1 and "KSYSTUI_AUDIT_KEY_FILE" in run.err, run
    assert "Traceback" not in run.err


@pytest.mark.parametrize("verb", [["cancel", "1", "--reason", "drill postponed"],
                                  ["raise", "2", "--reason", "auditor on site"],
                                  ["resolve", "1", "failed", "--reason", "checked the node"]])
def test_a_verb_that_writes_after_the_wipe_says_so_in_a_sentence(seeded, verb):
    """Why: after the wipe `submit` dies with a traceback "the audit head anchor is missing"."""
    sql(seeded.db, "DELETE FROM audit", "DELETE FROM audit_head")
    run = ksystui(*verb, "--config", str(seeded.config))
    assert run.rc != 0 and "Traceback" not in run.err, run
    assert "audit trail is broken" in run.err and run.err.count("\n") == 1, run.err
    assert seeded.states() == {1: "queued", 2: "queued"}  # nothing changed
