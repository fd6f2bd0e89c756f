"""The dispatcher: admits what the pure rules allow, runs it on the node
under fenced claims, records everything, and reconciles after a crash.

The provider service's leader runs one, on a queue fenced by its lease
(``Queue.fenced``): every other dispatcher is then fenced out, so whatever
another holds is reconciled at once (``others_fenced``). A ``submit --wait``
on a box without a service runs one too; several are safe together because
exclusivity lives in the database (a partial unique index over held claims),
not in any one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ksystui.arbiter import capacity_gate
from ksystui.arbiter.killpoints import maybe_die
from ksystui.arbiter.ports import FleetReader, NodeTransport
from ksystui.core.actor import Actor
from ksystui.core.alerts import AlertRecord, NewAlert, unreachable_holder_alert
from ksystui.core.arbitration import decide
from ksystui.core.capacity import applies as capacity_checked
from ksystui.core.ksysmgr.errors import KsysmgrParseError
from ksystui.core.ksysmgr.parse import parse_report
from ksystui.core.operations import judge_outcome, preconditions
from ksystui.core.opstate import OpState
from ksystui.core.replan import Queued, replan
from ksystui.core.snapshot import NodeSnapshot
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.queue_types import Dispatcher as ConsoleSeen
from ksystui.store.queue_types import QueuedOp
from ksystui.transport.errors import TransportError

log = logging.getLogger(__name__)

READY = "KSYS is ready to be issued a command"  # sourced: `ksysmgr report system`
TAIL_LINES = 40
REJUDGE_EVERY = 5.0  # seconds between two looks at the node of an operation in doubt
UNREACHABLE_ALERT_AFTER = 300.0  # seconds a holder's node may stay silent before an alert is raised

UNREACHABLE_ALERT_ENV = "KSYSTUI_UNREACHABLE_ALERT_SECONDS"

AlertSink = Callable[[Sequence[NewAlert]], Awaitable[list[AlertRecord]]]


def unreachable_alert_after() -> float:
    """Seconds a holder's node may stay silent before the alert: the
    ``KSYSTUI_UNREACHABLE_ALERT_SECONDS`` setting, else 300."""
    raw = os.environ.get(UNREACHABLE_ALERT_ENV, "").strip()
    try:
        value = float(raw) if raw else UNREACHABLE_ALERT_AFTER
    except ValueError:
        return UNREACHABLE_ALERT_AFTER
    return value if value > 0 else UNREACHABLE_ALERT_AFTER


class DispatchKind(StrEnum):
    """What happened to an operation, as its listener hears it."""

    ADMITTED = "admitted"
    STARTED = "started"
    PROGRESS = "progress"
    FINISHED = "finished"
    REFUSED = "refused"  # its preconditions failed: nothing was sent
    RECONCILED = "reconciled"  # settled after its console was gone


@dataclass(frozen=True)
class DispatchEvent:
    """What the UI hears: an operation's state or a progress line."""

    op_id: int
    kind: DispatchKind
    text: str = ""


class Dispatcher:
    """Admits, runs and reconciles the operations of the nodes it has a
    transport for (``transports``: node name -> transport)."""

    def __init__(
        self,
        queue: AsyncQueue,
        fleet: FleetReader,
        transports: Mapping[str, NodeTransport],
        actor: Actor,
        *,
        tick: float = 0.5,
        orphan_after: float = 30.0,
        on_event: Callable[[DispatchEvent], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        others_fenced: bool = False,
        rejudge_every: float = REJUDGE_EVERY,
        unreachable_alert_after: float = UNREACHABLE_ALERT_AFTER,
        raise_alerts: AlertSink | None = None,
    ):
        self.queue = queue
        self.fleet = fleet
        self.transports = transports
        self.actor = actor
        self.console = actor.console
        self.tick = tick
        self.orphan_after = orphan_after
        self.on_event = on_event
        self.clock = clock
        # True: this dispatcher's queue is fenced by the service lease it holds, and
        # every other writer is fenced out: an operation another holds is orphaned
        self.others_fenced = others_fenced
        self.running: dict[int, asyncio.Task[None]] = {}
        self.admitted_here: set[int] = set()  # what this dispatcher admitted: its own to settle
        self.rejudge_every = rejudge_every
        # an operation holding hosts while its node does not answer: alert after this long
        self.unreachable_alert_after = unreachable_alert_after
        self.raise_alerts = raise_alerts  # where such alerts go (the shared alerts; None: the log only)
        self._judged_at: dict[int, datetime] = {}  # in-doubt operation -> when its node was last asked
        self._silent_since: dict[int, datetime] = {}  # held operation -> since when its node does not answer
        self._alerted: set[int] = set()
        self._wake = asyncio.Event()

    # --- the loop --------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self.queue.heartbeat(self.console, self.actor)
        while True:
            try:
                await self.step()
            except Exception:  # one bad step must not stop dispatching
                log.exception("dispatcher step failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that lands as the wait ends, and the loop never stops
                async with asyncio.timeout(self.tick):
                    await self._wake.wait()

    async def stop(self) -> None:
        """Stop admitting. Operations already sent run to their end: a move is
        never abandoned half-way because a console closes."""
        for task in list(self.running.values()):
            with contextlib.suppress(Exception):
                await task

    async def abandon(self) -> None:
        """Stop at once (the service stepping down or stopping): the commands
        already sent go on on their nodes, and their operations stay held,
        for the next leader to judge from the nodes (``reconcile``)."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def step(self) -> list[int]:
        await self.queue.heartbeat(self.console, self.actor)
        await self.reconcile()
        await self.rejudge_doubts()
        waiting = await self.queue.waiting()
        if not waiting:
            return []
        active = await self.queue.holding()  # in_doubt ops keep their claims
        decision = decide([o.to_request() for o in active], [o.to_request() for o in waiting],
                          presorted=True, explain=False,  # waiting() is in arbitration order
                          waiting_nodes={o.node for o in waiting})
        by_id = {o.id: o for o in waiting}
        admitted: list[int] = []
        for req in decision.admit:
            op = by_id[req.id]
            if op.node not in self.transports:
                continue  # a node this console cannot reach: another console will
            fence = await self.queue.admit(op.id, self.console, self.actor)
            if fence is None:
                continue  # another console was faster; the database said no
            maybe_die("after_admit")
            admitted.append(op.id)
            self._emit(op.id, DispatchKind.ADMITTED, f"fence {fence}")
            task = asyncio.create_task(self._execute(op, fence), name=f"op:{op.id}")
            self.running[op.id] = task
            self.admitted_here.add(op.id)
            task.add_done_callback(self._forget(op.id))
        return admitted

    def _forget(self, op_id: int) -> Callable[[asyncio.Task[None]], None]:
        """A done callback: the operation no longer runs here."""
        def done(_task: asyncio.Task[None]) -> None:
            self.running.pop(op_id, None)
        return done

    # --- one operation ---------------------------------------------------------------------
    async def _execute(self, op: QueuedOp, fence: int) -> None:
        node = op.node
        monitor = self.fleet.monitors.get(node)
        if monitor is not None:
            await monitor.poll_once()  # judge on the latest state, not the last poll's
        snap = self.fleet.snapshots.get(node)
        reasons = ["no snapshot of the node"] if snap is None else preconditions(op.op, snap, self.clock())
        if not reasons and snap is not None:
            # planned again on the node's state now: a request queued before a move
            # would otherwise run its old command line against the other site
            verdict = replan(Queued(op.op, op.site, op.to_site, op.argv, op.recovery_hosts, op.on_recovery_hosts,
                                    op.confirmed), snap)
            if verdict.refusal is not None:
                reasons = [f"it no longer applies: {verdict.refusal}"]
        if not reasons and snap is not None and capacity_checked(op.op) and op.capacity_override is None:
            does_not_fit = await self._does_not_fit(op, snap)
            if does_not_fit is not None:
                await self.queue.finish(op.id, fence, OpState.FAILED, None, does_not_fit, "", self.actor)
                self._emit(op.id, DispatchKind.REFUSED, does_not_fit)
                return
        if reasons:
            text = "refused before sending: " + "; ".join(reasons)
            await self.queue.finish(op.id, fence, OpState.FAILED, None, text, "", self.actor)
            self._emit(op.id, DispatchKind.REFUSED, text)
            return
        if not await self.queue.mark_running(op.id, fence, self.actor):
            return  # the hold was lost (resolved by an operator): send nothing
        maybe_die("after_start")
        self._emit(op.id, DispatchKind.STARTED, " ".join(op.argv))
        tail: list[str] = []
        rc: int | None = None
        stderr = ""
        try:
            async with self.transports[node].stream(list(op.argv), timeout=None) as stream:
                first = True
                async for line in stream:
                    tail = (tail + [line])[-TAIL_LINES:]
                    milestone = bool(line) and not line[0].isspace()
                    await self.queue.add_progress(op.id, fence, line, self.actor, milestone=milestone)
                    self._emit(op.id, DispatchKind.PROGRESS, line)
                    if first:
                        maybe_die("after_send")
                        first = False
                rc = stream.returncode
                stderr = stream.stderr or ""
        except TransportError as exc:
            # The node may still be working on it: never resend, find out.
            state, why = await self._judge(op)
            if state is OpState.RUNNING:
                state, why = OpState.IN_DOUBT, f"connection lost mid-command ({exc}); {why}"
            await self.queue.finish(op.id, fence, state, None, why, "\n".join(tail), self.actor)
            self._emit(op.id, DispatchKind.FINISHED, f"{state}: {why}")
            if monitor is not None:
                monitor.refresh_now()
            return
        maybe_die("before_finish")
        state = OpState.SUCCEEDED if rc == 0 else OpState.FAILED
        outcome = f"exit {rc}" + (f": {stderr.strip().splitlines()[-1]}" if stderr.strip() else "")
        await self.queue.finish(op.id, fence, state, rc, outcome, "\n".join(tail), self.actor)
        maybe_die("after_finish")
        self._emit(op.id, DispatchKind.FINISHED, f"{state}: {outcome}")
        if monitor is not None:
            monitor.refresh_now()

    async def _does_not_fit(self, op: QueuedOp, snap: NodeSnapshot) -> str | None:
        """The capacity check again, just before sending (the hosts may have
        filled since it was queued: another tenant moved there straight on
        its node, or a request was queued over capacity): the outcome of a
        request that no longer fits, or None. The others counted are those
        that hold their hosts now; what still waits is checked in its turn."""
        holding = await self.queue.holding()
        snapshots = await capacity_gate.every_snapshot(self.queue, self.fleet)
        verdict = capacity_gate.check(op.op, snap, snapshots, holding, to_site=op.to_site, skip=op.id)
        if verdict is None or len(verdict.unchecked) == len(verdict.lines):
            return None  # no host it boots on reports its size: nothing to check, no node to read again
        await capacity_gate.refresh_sharers(self.fleet, op.node, snap, to_site=op.to_site, op=op.op)
        snapshots = {**snapshots, **capacity_gate.read_by(self.fleet)}  # the sharers as just read again
        verdict = capacity_gate.check(op.op, snap, snapshots, holding, to_site=op.to_site, skip=op.id)
        if verdict is None or verdict.fits:
            return None
        return f"not sent: {verdict.refusal()}"

    def _emit(self, op_id: int, kind: DispatchKind, text: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event(DispatchEvent(op_id, kind, text))
            except Exception:
                log.exception("dispatch listener failed")

    # --- reconciliation ---------------------------------------------------------------
    def _live_consoles(self, rows: Iterable[ConsoleSeen]) -> set[str]:
        return {d.console_id for d in live_dispatchers(rows)} | {self.console}

    async def _live_holders(self) -> set[str]:
        """Who may still act on what it holds: nobody when the others are
        fenced out (even a holder with this one's id: a former term of the
        same service; what this dispatcher admitted itself is its own),
        else the consoles seen alive."""
        if self.others_fenced:
            return set()
        return self._live_consoles(await self.queue.dispatchers(alive_within=self.orphan_after))

    async def reconcile(self) -> list[int]:
        """Operations held by consoles that are gone: requeue what was never
        sent, and judge what was sent from the node's real state. A move is
        never re-sent; what cannot be told becomes in_doubt for an operator."""
        live = await self._live_holders()
        done: list[int] = []
        for op in await self.queue.active():
            if op.holder in live or op.id in self.admitted_here:
                continue
            if op.node not in self.transports or op.fence is None:  # active rows always carry their fence
                continue
            if op.state is OpState.ADMITTED:
                if await self.queue.requeue(op.id, op.fence, f"console {op.holder} is gone; never sent",
                                            self.actor):
                    self._emit(op.id, DispatchKind.RECONCILED, "requeued: it was never sent")
                    done.append(op.id)
                continue
            state, why = await self._judge(op)
            if state is OpState.RUNNING:
                continue  # look again on the next step
            if await self.queue.finish(op.id, op.fence, state, None, f"after a crash: {why}", "", self.actor):
                self._emit(op.id, DispatchKind.RECONCILED, f"{state}: {why}")
                done.append(op.id)
        return done

    async def rejudge_doubts(self) -> list[int]:
        """Operations in doubt, judged again from their node's state and events
        as soon as it answers (every ``rejudge_every`` seconds at most): a
        verdict settles them (audited, hosts released); what stays ambiguous
        waits for an operator."""
        now = self.clock()
        settled: list[int] = []
        doubts = await self.queue.operations(states=(OpState.IN_DOUBT,))
        for gone in set(self._judged_at) - {op.id for op in doubts}:  # settled elsewhere (an operator, say)
            del self._judged_at[gone]
        for op in doubts:
            if op.node not in self.transports or op.fence is None or op.id in self.running:
                continue
            last = self._judged_at.get(op.id)
            if last is not None and (now - last).total_seconds() < self.rejudge_every:
                continue
            self._judged_at[op.id] = now
            state, why = await self._judge(op)
            if state not in (OpState.SUCCEEDED, OpState.FAILED):
                continue
            if await self.queue.settle_doubt(op.id, op.fence, state, f"re-judged when the node answered: {why}",
                                             self.actor):
                self._judged_at.pop(op.id, None)
                self._emit(op.id, DispatchKind.RECONCILED, f"{state}: {why}")
                settled.append(op.id)
        return settled

    async def _judge(self, op: QueuedOp) -> tuple[OpState, str]:
        """What became of a sent operation, from the node itself (RUNNING: it
        cannot be told yet)."""
        node = op.node
        busy = False
        try:
            res = await self.transports[node].run(["ksysmgr", "report", "system"], timeout=30, check=False)
            status = parse_report(res.stdout).status or ""
            busy = bool(status) and READY not in status
        except (TransportError, KsysmgrParseError) as exc:
            await self._silent(op, str(exc))
            return OpState.RUNNING, f"cannot ask the node ({exc})"
        self._silent_since.pop(op.id, None)
        self._alerted.discard(op.id)
        monitor = self.fleet.monitors.get(node)
        if monitor is not None:
            await monitor.poll_once()
        snap = self.fleet.snapshots.get(node)
        if snap is None:
            return OpState.RUNNING, "no snapshot of the node yet"
        started = op.started_at or op.admitted_at or op.submitted_at
        return judge_outcome(op.op, started, snap, busy)

    async def _silent(self, op: QueuedOp, error: str) -> None:
        """The node of an operation that holds its hosts does not answer: past
        ``unreachable_alert_after`` an alert says so, instead of others
        waiting silently."""
        now = self.clock()
        since = self._silent_since.setdefault(op.id, now)
        if op.id in self._alerted or (now - since).total_seconds() < self.unreachable_alert_after:
            return
        self._alerted.add(op.id)
        alert = unreachable_holder_alert(op.id, op.tenant, op.node, op.op, op.state, op.host_names, since, now, error)
        log.warning("%s", alert.description)
        if self.raise_alerts is not None:
            try:
                await self.raise_alerts([alert])
            except Exception:  # the alert is worth less than the dispatching
                log.exception("raising the alert failed")


def live_dispatchers(rows: Iterable[ConsoleSeen]) -> list[ConsoleSeen]:
    """Dispatchers that heartbeat recently and, on this machine, whose
    process still exists (a console killed with -9 is orphaned at once)."""
    here = socket.gethostname()
    return [d for d in rows if d.host != here or pid_alive(d.pid)]


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
