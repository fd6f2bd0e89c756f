"""What the port hands the drill views: the drill a console asked for (or
the one to watch), its steps from the stored output, the tenant's past runs,
the rehearsals never cleaned up — and a console scoped to one tenant never
gets another tenant's drill, its VMs or its global numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ksystui.arbiter.port import ArbiterPort
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import OpState
from ksystui.store import queue as queue_module
from ksystui.store.audit_log import current_actor
from ksystui.store.queue_tables import OperationRow
from ksystui.store.queue_types import NewOp

ACTOR = current_actor("drill-port-test")


class NoFleet:
    monitors: dict = {}
    snapshots: dict = {}


def rehearsal(vms: list[str], site: str) -> list[str]:
    lines = [f"15:00:00  Site dr_test move started for home to {site}, this may take a few minutes..."]
    for vm in vms:
        lines += [f"        15:00:01  Rehearsal VM creation has started for VM {vm}",
                  f"        15:00:02  Rehearsal VM {vm}_Rehearsal creation has completed",
                  f"        15:00:03  Boot up on {site} Site has started for VM {vm}_Rehearsal",
                  f"        15:00:04  Boot up on {site} Site has completed for VM {vm}_Rehearsal"]
    return lines


def run_op(q, tenant: str, node: str, op: Op, lines: list[str], *, end: OpState | None = OpState.SUCCEEDED,
           pair_id: int | None = None) -> int:
    """An operation through the queue as a dispatcher runs it: admitted,
    started, its output lines stored, and (unless ``end`` is None) ended."""
    row = q.submit(NewOp(tenant, node, op, ("ksysmgr", "-t", "move", "site"), site="home", pair_id=pair_id,
                         recovery_hosts=("a1f3c9e0-snorlax",), host_names=("snorlax",)), ACTOR)
    fence = q.admit(row.id, ACTOR.console, ACTOR)
    assert fence is not None and q.mark_running(row.id, fence, ACTOR)
    for line in lines:
        q.add_progress(row.id, fence, line, ACTOR)
    if end is not None:
        q.finish(row.id, fence, end, 0 if end is OpState.SUCCEEDED else 1, "exit 0", "", ACTOR)
    return row.id


def port(queue, scope=None) -> ArbiterPort:
    return ArbiterPort(queue, NoFleet(), ACTOR, {"customerA": 1, "customerB": 2}, scope=scope, readonly=True)


async def test_the_drill_to_watch_its_steps_past_runs_and_open_rehearsals(queue):
    q = queue.queue
    a1 = run_op(q, "customerA", "r7r3m116", Op.DR_TEST, rehearsal(["cA_db", "cA_app"], "dr"))
    run_op(q, "customerA", "r7r3m116", Op.DR_TEST_CLEANUP, [], pair_id=a1)
    a2 = run_op(q, "customerA", "r7r3m116", Op.DR_TEST, rehearsal(["cA_db", "cA_app"], "dr"))
    b1 = run_op(q, "customerB", "r7r3m108", Op.DR_TEST, rehearsal(["cB_core"], "sp")[:4], end=None)  # still running

    everyone = port(queue)
    live = await everyone.drill()
    assert live is not None and live.run.id == b1 and live.run.active  # the one that runs now
    assert [v.vm for v in live.progress.vms] == ["cB_core"] and live.progress.vms[0].running is not None
    assert "running" in live.run.detail  # the queue's word on it
    runs = {r.id: r for r in await everyone.drills()}
    assert set(runs) == {a1, a2, b1}  # drills only: the cleanup is not one
    assert runs[a1].cleaned_up is True and runs[a2].cleaned_up is False and runs[b1].cleaned_up is None
    measured = runs[a1].measured_rto
    assert measured is not None and runs[a1].recovered_at is not None
    assert runs[a1].recovered_at <= runs[a1].finished_at
    second = await everyone.drill(f"#{a2}")
    assert second is not None and second.past == (measured,)  # the tenant's earlier run of the same operation
    assert [v.vm for v in second.progress.vms] == ["cA_db", "cA_app"]

    scoped = port(queue, scope="customerA")
    mine = await scoped.drill()
    assert mine is not None and mine.run.id == a2 and mine.run.shown == "#3"  # its own numbering: a1, cleanup, a2
    assert await scoped.drill(f"#{b1}") is None  # #4 is no operation of customerA's
    assert await scoped.drill(op_id=b1) is None  # another tenant's operation: not there
    listed = await scoped.drills()
    assert {r.tenant for r in listed} == {"customerA"} and [r.shown for r in listed] == ["#1", "#3"]
    text = repr(listed) + repr(mine)
    assert "customerB" not in text and "cB_core" not in text and "r7r3m108" not in text
    assert await port(queue, scope="customerC").drill() is None


async def test_a_long_history_is_not_read_whole_by_the_views_that_poll_it(queue, monkeypatch):
    """The drill view reads every second, the queue view every few: each read
    the whole history of operations, which grows without end (16,384 rows
    took 0.8 s to read on SQLite). They now read what they show: the drills
    and their cleanups, the last hour's outcomes, the ids for a scoped
    console's numbering."""
    q = queue.queue
    old = [run_op(q, "customerA", "r7r3m116", Op.VERIFY, []) for _ in range(50)]
    with q.engine.begin() as conn:  # they ended a week ago
        conn.execute(sa.update(OperationRow.__table__).values(finished_at=datetime.now(UTC) - timedelta(days=7)))
    drill = run_op(q, "customerA", "r7r3m116", Op.DR_TEST, rehearsal(["cA_db"], "dr"))
    read: list[int] = []
    select = queue_module.Queue._select

    def counted(self, query):
        rows = select(self, query)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(queue_module.Queue, "_select", counted)
    for scope in (None, "customerA"):
        p = port(queue, scope=scope)
        lines = await p.lines()
        assert [line.id for line in lines] == [drill]  # the last hour's outcome; last week's are not listed
        live = await p.drill()
        assert live is not None and live.run.id == drill
        assert [r.id for r in await p.drills()] == [drill]
        assert await p.rehearsals_left() != []
        named = await p.drill(f"#{old[0]}")  # an old operation of another kind, watched by its name
        assert named is not None and named.run.id == old[0]
    assert read and max(read) <= 2, read  # never the history: one row or two per read
