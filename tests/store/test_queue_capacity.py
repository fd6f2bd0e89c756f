"""The queue keeps a capacity override: a move queued although it does not
fit its recovery hosts carries the operator's written reason on its row
(the dispatcher honours it) and in its audit record, with the verdict; on
SQLite and PostgreSQL, and across migration 0007."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ksystui.core.lifecycle import Op
from ksystui.store.audit_log import SecretRefused
from ksystui.store.engine import current_revision, head_revision, migrate, open_engine
from ksystui.store.queue import Actor, NewOp, Queue
from tests.store.migration_0003 import _alembic

SNORLAX = "8f2a5f4e-0000-4000-8000-00000000a001"
ALICE = Actor("alice", "noc1", "console-1")
VERDICT = ("snorlax: needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of 300 GB, 32 CPU (280 GB, 17.5 CPU in use or "
           "queued): DOES NOT FIT, short 180 GB",)


def move(**kw) -> NewOp:
    return NewOp(tenant="customerB", node="r7r3m108", op=Op.MOVE_PLANNED,
                 argv=["ksysmgr", "-t", "move", "site", "from=customerB", "to=service_provider"],
                 recovery_hosts=(SNORLAX,), host_names=("snorlax",), **kw)


@pytest.fixture
def q(db_url):
    queue = Queue.open(db_url)
    yield queue
    queue.close()


def submit_detail(q: Queue, op_id: int) -> dict:
    (entry,) = [e for e in q.export_audit("customerB") if e["action"] == "submit" and e["operation"] == op_id]
    return entry["detail"] if isinstance(entry["detail"], dict) else json.loads(entry["detail"])


def test_an_override_is_kept_on_the_row_and_audited_with_the_verdict(q):
    row = q.submit(move(capacity_override="  customerB accepts half memory (CAB-1142)\n", capacity_lines=VERDICT),
                   ALICE)
    assert row.capacity_override == "customerB accepts half memory (CAB-1142)"
    assert q.get(row.id).capacity_override == row.capacity_override
    assert q.waiting()[0].capacity_override == row.capacity_override
    detail = submit_detail(q, row.id)
    assert detail["capacity_override"] == row.capacity_override and detail["capacity"] == list(VERDICT)
    assert q.verify_audit() == []


def test_a_request_that_fits_has_no_override_and_its_verdict_is_still_audited(q):
    row = q.submit(move(capacity_lines=("snorlax: needs 200 GB, 12.5 CPU; ...: fits",)), ALICE)
    assert row.capacity_override is None
    detail = submit_detail(q, row.id)
    assert "capacity_override" not in detail and detail["capacity"] == ["snorlax: needs 200 GB, 12.5 CPU; ...: fits"]
    blank = q.submit(move(capacity_override="   ", unique_intent=False), ALICE)
    assert blank.capacity_override is None and "capacity" not in submit_detail(q, blank.id)


def test_a_secret_in_the_reason_is_refused(q):
    with pytest.raises(SecretRefused):
        q.submit(move(capacity_override="password=hunter2"), ALICE)
    assert q.operations() == []


def test_migration_0007_adds_the_column_empty_and_downgrades_without_it(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _alembic(engine, "upgrade", "0006")
        assert "capacity_override" not in {c["name"] for c in sa.inspect(engine).get_columns("operations")}
        assert migrate(engine) == head_revision()
        assert "capacity_override" in {c["name"] for c in sa.inspect(engine).get_columns("operations")}
        row = Queue(engine).submit(move(), ALICE)
        assert row.capacity_override is None
        _alembic(engine, "downgrade", "0006")
        assert current_revision(engine) == "0006"
        assert "capacity_override" not in {c["name"] for c in sa.inspect(engine).get_columns("operations")}
        assert migrate(engine) == head_revision()
    finally:
        engine.dispose()
