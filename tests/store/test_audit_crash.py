"""kill -9 at every named point inside the store (issue 16, deliverable 7):
admission, claims, transitions, the audit append, the anchor append and the
migrations. The process really dies there (SIGKILL, forked from this one so
that nothing has to be imported again); afterwards the trail verifies (keyed
chain, anchor log, operations) and the change is all there or not at all."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ksystui import killpoints
from ksystui.core.lifecycle import Op
from ksystui.store.engine import open_engine
from ksystui.store.queue import NewOp, Queue
from tests.store.audit_state import own_audit_state
from tests.store.test_audit_log import ALICE, SNORLAX

KILL = killpoints.ENV


def _op(tenant: str, node: str, host: str = SNORLAX) -> NewOp:
    return NewOp(tenant, node, Op.VERIFY, ["ksysmgr", "verify", "site", "Austin"], recovery_hosts=[host])


@pytest.fixture(scope="module", autouse=True)
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with own_audit_state(tmp_path_factory.mktemp("crash-state")) as state:
        yield state


@pytest.fixture(scope="module")
def template(audit_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """#1 queued (customerA), #2 running under fence 1 (customerB), #3 in doubt (customerC)."""
    path = tmp_path_factory.mktemp("crash") / "template.db"
    q = Queue.open(f"sqlite:///{path}")
    try:
        q.submit(_op("customerA", "r7r3m116", host="another-host"), ALICE)
        two = q.submit(_op("customerB", "r7r3m108"), ALICE)
        three = q.submit(NewOp("customerC", "ksysorch", Op.DISCOVER, ["ksysmgr", "discover", "site", "X"]), ALICE)
        fence = q.admit(two.id, "console-1", ALICE)
        assert fence is not None and q.mark_running(two.id, fence, ALICE)
        fence3 = q.admit(three.id, "console-1", ALICE)
        assert fence3 is not None and q.mark_running(three.id, fence3, ALICE)
        assert q.finish(three.id, fence3, "in_doubt", None, "connection lost", "", ALICE)
    finally:
        q.close()
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ks.db"
    for suffix in ("", "-wal", "-shm", ".anchors"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", f"{path}{suffix}")
    return path


# what passes each point, on the template (the queue's own calls, as the dispatcher makes them)
ACTIONS: dict[str, Callable[[Queue], object]] = {
    "submit_before_commit": lambda q: q.submit(_op("customerD", "n4"), ALICE),
    "admit_before_claims": lambda q: q.admit(1, "console-2", ALICE),
    "admit_after_claims": lambda q: q.admit(1, "console-2", ALICE),
    "transition_before_release": lambda q: q.finish(2, 1, "succeeded", 0, "exit 0", "", ALICE),
    "transition_after_release": lambda q: q.finish(2, 1, "succeeded", 0, "exit 0", "", ALICE),
    "resolve_before_commit": lambda q: q.resolve(3, "failed", ALICE, "checked the node: nothing ran"),
    "progress_before_commit": lambda q: q.add_progress(2, 1, "Verification has started", ALICE, milestone=True),
    "queued_update_before_commit": lambda q: q.cancel(1, ALICE, "drill postponed"),
    "audit_before_insert": lambda q: q.record(ALICE, "schedule", detail={"auto_discovery_time": "02:00"}),
    "audit_after_insert": lambda q: q.record(ALICE, "schedule", detail={"auto_discovery_time": "02:00"}),
    "audit_after_head": lambda q: q.record(ALICE, "schedule", detail={"auto_discovery_time": "02:00"}),
    "anchor_before_write": lambda q: q.cancel(1, ALICE, "drill postponed"),
    "anchor_after_write": lambda q: q.cancel(1, ALICE, "drill postponed"),
    "anchor_after_fsync": lambda q: q.cancel(1, ALICE, "drill postponed"),
}
COMMITTED = {"anchor_before_write", "anchor_after_write", "anchor_after_fsync"}  # after the commit


def _die_at(point: str, url: str, action: Callable[[Queue], object] | None) -> None:
    os.environ[KILL] = point
    if action is None:  # the migration points: opening a new database migrates it
        Queue.open(url)
    else:
        action(Queue(open_engine(url)))
    os._exit(0)  # not killed: the point was not passed


def run_until_killed(point: str, url: str, action: Callable[[Queue], object] | None) -> int | None:
    child = multiprocessing.get_context("fork").Process(target=_die_at, args=(point, url, action))
    child.start()
    child.join(60)
    return child.exitcode


def snapshot(q: Queue) -> tuple:
    return ([(o.id, str(o.state), o.fence) for o in q.operations()], len(q.export_audit()),
            [(o.id, o.holder) for o in q.holding()])


def test_there_are_at_least_twenty_named_points_and_each_is_in_the_code():
    assert len(killpoints.POINTS) >= 20 and len(set(killpoints.POINTS)) == len(killpoints.POINTS)
    source = "".join(p.read_text() for p in Path(killpoints.__file__).parent.rglob("*.py"))
    for point in killpoints.POINTS:
        assert f'maybe_die("{point}")' in source, point
    assert set(ACTIONS) | {"migrate_before_upgrade", "migrate_after_upgrade"} == (
        set(killpoints.POINTS) - set(killpoints.OPERATION_POINTS))


@pytest.mark.parametrize("point", sorted(ACTIONS))
def test_kill_9_inside_the_store_leaves_all_or_nothing_and_a_trail_that_verifies(db, point):
    url = f"sqlite:///{db}"
    before = Queue(open_engine(url))  # migrated already (the template's copy)
    try:
        was = snapshot(before)
    finally:
        before.close()
    assert run_until_killed(point, url, ACTIONS[point]) == -signal.SIGKILL, f"not killed at {point}"
    q = Queue(open_engine(url))
    try:
        assert q.verify_audit() == [], [str(p) for p in q.verify_audit()]
        now = snapshot(q)
        if point in COMMITTED:
            assert now != was and now[1] == was[1] + 1  # committed: the change and its record stand
        else:
            assert now == was  # rolled back: nothing half done
        # and the store goes on: the next write is sealed, anchored and verifies
        q.record(ALICE, "schedule", detail={"after": point})
        assert q.verify_audit() == []
    finally:
        q.close()


@pytest.mark.parametrize("point", ["migrate_before_upgrade", "migrate_after_upgrade"])
def test_kill_9_during_the_migration_leaves_a_database_that_migrates_next_time(tmp_path, point):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert run_until_killed(point, url, None) == -signal.SIGKILL
    q = Queue.open(url)
    try:
        q.submit(_op("customerA", "r7r3m116"), ALICE)
        assert q.verify_audit() == [] and len(q.operations()) == 1
    finally:
        q.close()


def test_any_n_kills_at_the_nth_point_passed_whichever_it_is(db):
    url = f"sqlite:///{db}"
    assert run_until_killed("any:3", url, ACTIONS["queued_update_before_commit"]) == -signal.SIGKILL
    q = Queue(open_engine(url))
    try:  # audit_before_insert, audit_after_insert, audit_after_head: died before the commit
        assert q.get(1).state == "queued" and q.verify_audit() == []
    finally:
        q.close()
