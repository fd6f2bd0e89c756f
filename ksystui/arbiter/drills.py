"""The drills as the queue's rows and output lines tell them: which one a
console asked for, and each as a ``core.drills.DrillRun`` (with when its
last VM came up, read from its output, and whether a cleanup closed a
rehearsal). The port calls these; reading is in worker threads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine

from ksystui.arbiter.history import output_lines, output_lines_of
from ksystui.arbiter.service import unpaired_rehearsals
from ksystui.core.drill_steps import read_progress, vm_steps
from ksystui.core.drills import DRILL_OPS, DrillLive, DrillRun, past_rtos, recovered_at
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import FINISHED, OpState
from ksystui.core.readouts import QueueLine
from ksystui.core.tenant_numbers import shown_ref
from ksystui.store.queue_types import QueuedOp

HISTORY = 200  # the newest drills a history lists (per console scope)
# what a drill view reads of the queue: the drills and their cleanups (which
# tell whether a DR test was cleaned up), the newest of them only, with room
# for the newest HISTORY drills' pairs; never the whole history, which grows
# without end while the view reads it every second
DRILL_KINDS = (*sorted(DRILL_OPS), Op.DR_TEST_CLEANUP)
DRILL_READ = 2 * HISTORY
_REF = re.compile(r"#?(\d+)")


def named_operation(ref: str, numbers: Mapping[int, int] | None, op_id: int | None = None) -> int | None:
    """The global id ``op_id`` or ``ref`` names ("#42", "42"; a scoped
    console's own number); None when neither names one; -1 for a name that
    matches nothing."""
    if op_id is not None:
        return op_id
    ref = ref.strip()
    if not ref:
        return None
    m = _REF.fullmatch(ref)
    if m is None:
        return -1
    wanted = int(m.group(1))
    if numbers is not None:  # a scoped console names its tenant's operations by their own numbers
        wanted = next((gid for gid, n in numbers.items() if n == wanted), -1)
    return wanted


def pick(ops: Sequence[QueuedOp], ref: str, numbers: Mapping[int, int] | None,
         op_id: int | None = None) -> QueuedOp | None:
    """The operation ``op_id`` is, or the one ``ref`` names ("#42", "42"; a
    scoped console's own number), or without either the drill to watch: the
    newest that runs or waits, else the newest that ran."""
    wanted = named_operation(ref, numbers, op_id)
    if wanted is not None:
        return next((o for o in ops if o.id == wanted), None)
    drills = [o for o in ops if o.op in DRILL_OPS]
    active = [o for o in drills if o.state not in FINISHED]
    return max(active or drills, key=lambda o: o.id, default=None)


class DrillReader:
    """Builds DrillRuns, remembering when each ended drill's last VM came up
    (an ended operation's output no longer changes)."""

    def __init__(self, engine: Engine, until: datetime | None = None):
        self.engine = engine
        self.until = until  # a replay's cursor: the output written by then, and nothing remembered
        self._recovered: dict[int, datetime | None] = {}

    async def runs(self, ops: Sequence[QueuedOp], numbers: Mapping[int, int] | None,
                   also: Sequence[QueuedOp] = ()) -> list[DrillRun]:
        """The drills among ``ops`` (the newest HISTORY of them), oldest
        first, plus the operations in ``also`` whatever they are."""
        wanted = [o for o in ops if o.op in DRILL_OPS][-HISTORY:]
        have = {o.id for o in wanted}
        wanted += [o for o in also if o.id not in have]
        need = [o.id for o in wanted if o.id not in self._recovered]
        recovered = dict(self._recovered)
        if need:
            lines = await asyncio.to_thread(output_lines_of, self.engine, need, self.until)
            for o in wanted:
                if o.id in need:
                    recovered[o.id] = recovered_at(vm_steps(lines.get(o.id, [])))
                    if o.state in FINISHED and self.until is None:
                        self._recovered[o.id] = recovered[o.id]
        open_rehearsals = {o.id for o in unpaired_rehearsals(ops)}
        return [_run(o, numbers, open_rehearsals, recovered.get(o.id)) for o in sorted(wanted, key=lambda o: o.id)]


def _run(o: QueuedOp, numbers: Mapping[int, int] | None, open_rehearsals: set[int],
         recovered: datetime | None) -> DrillRun:
    cleaned = None
    if o.op is Op.DR_TEST and o.state is OpState.SUCCEEDED:
        cleaned = o.id not in open_rehearsals
    return DrillRun(
        id=o.id, shown=shown_ref(o.id, numbers), tenant=o.tenant, node=o.node, op=o.op, state=o.state.value,
        submitted_by=o.submitted_by, submitted_at=o.submitted_at, started_at=o.started_at,
        finished_at=o.finished_at, outcome=o.outcome or "", recovered_at=recovered, cleaned_up=cleaned)


async def live_drill(reader: DrillReader, ops: Sequence[QueuedOp], numbers: Mapping[int, int] | None, ref: str,
                     op_id: int | None, queue_lines: Callable[[], Awaitable[Sequence[QueueLine]]]) -> DrillLive | None:
    """One drill as it runs (``op_id``, or ``ref`` naming an operation as the
    console shows it; neither: the newest drill that runs or waits, else the
    newest that ran): its per-VM steps from the output so far, and the
    tenant's past runs of the same operation. None when there is none. The
    live port and a replay's both answer with this."""
    target = pick(ops, ref, numbers, op_id)
    if target is None:
        return None
    theirs = [o for o in ops if o.tenant == target.tenant]
    runs = await reader.runs(theirs, numbers, also=[target])
    run = next(r for r in runs if r.id == target.id)
    line = next((line for line in await queue_lines() if line.id == target.id), None)
    if line is not None:
        run = replace(run, detail=line.detail)
    output = await asyncio.to_thread(output_lines, reader.engine, target.id, reader.until)
    return DrillLive(run, read_progress(output), past_rtos(runs, target.tenant, target.op, before=target.id))
