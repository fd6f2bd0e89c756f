"""The arbiter's durable queue: what was asked, who holds what, what happened.

Every method is one short transaction (SQLite writes under ``BEGIN
IMMEDIATE``, reads through ``read_connection``); ``AsyncQueue`` runs the
same methods in a worker thread. Every transition writes its audit record in
its own transaction (``AuditLog.append``), and every writer that audits first
locks the audit head, so writers are serialised in one order on both
backends (no gaps in ``arrival`` or the audit's seq, no deadlocks).

How exclusivity works: ``admit`` takes the next fence, inserts the
operation's claims as *held*, and marks it admitted, in one transaction. The
partial unique index over held claims makes the database refuse a second
holder of any resource; ``admit`` then rolls everything back and returns
None. Which operation *should* be admitted next is not decided here: that is
``core.arbitration.decide``, run by the dispatcher over ``waiting()`` (in
the core's order, ``arbitration.ordered_by``) and ``holding()``. Nor is what
an operation claims: the planner decides whether it works on the recovery
hosts (``NewOp.on_recovery_hosts``, stored with it) and the core's claims
rule (``arbitration.claims_of``) names the resources the index guards.

Fencing: every call a holder makes after ``admit`` names the fence it was
given and changes rows only ``WHERE id = :id AND fence = :fence AND state IN
(…)``. A console that lost its hold (requeued, resolved by an operator,
re-admitted by another console under a newer fence) gets False and changes
nothing. Nothing is ever released because time passed: ``orphans`` reports
holds whose console stopped heartbeating, and only a decision (``requeue``,
``finish`` with the fence, an operator's ``resolve``) releases them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import URL, Connection, Engine
from sqlalchemy.exc import IntegrityError

from ksystui.core.actor import Actor
from ksystui.core.arbitration import CLASS_OF, CLASS_RANK, ordered_by, works_on_recovery_hosts
from ksystui.core.audit import AuditEntry, AuditRecord, ChainProblem
from ksystui.core.lifecycle import Op
from ksystui.core.opstate import ACTIVE, HOLDING, OpState
from ksystui.core.secrets import check_no_secret, redact
from ksystui.killpoints import maybe_die
from ksystui.store.audit_log import AuditLog, transaction_time
from ksystui.store.changes import append_change
from ksystui.store.engine import migrate, open_engine, read_connection
from ksystui.store.lease import Fenced, Guard, audit_fenced
from ksystui.store.queue_tables import claims as _claims
from ksystui.store.queue_tables import dispatchers as _dispatchers
from ksystui.store.queue_tables import fence_counter as _fence
from ksystui.store.queue_tables import operations as _ops
from ksystui.store.queue_tables import progress as _progress
from ksystui.store.queue_types import (  # the queue's public types, re-exported
    Dispatcher,
    DuplicateRequest,
    NewOp,
    QueuedOp,
)
from ksystui.store.repository import insert

__all__ = ["Actor", "Dispatcher", "DuplicateRequest", "NewOp", "OpState", "Queue", "QueuedOp"]

_CLAIM_INDEX = "uq_claims_held_resource"
JsonDict = dict[str, Any]  # an audit detail or a row's new values


def _sql(states: Iterable[OpState]) -> list[str]:
    """States as SQL parameters: plain strings (drivers need not know our enum)."""
    return sorted(s.value for s in states)


_ACTIVE = _sql(ACTIVE)
_HOLDING = _sql(HOLDING)
_PENDING = _sql({OpState.QUEUED, *HOLDING})  # what a second identical request would duplicate


def _to_op(row: Any) -> QueuedOp:
    m = row._mapping
    return QueuedOp(
        id=m["id"], tenant=m["tenant"], node=m["node"], op=Op(m["op"]), argv=tuple(json.loads(m["argv"])),
        site=m["site"], to_site=m["to_site"], recovery_hosts=tuple(json.loads(m["recovery_hosts"])),
        host_names=tuple(json.loads(m["host_names"])), on_recovery_hosts=bool(m["on_recovery_hosts"]),
        priority=m["priority"], class_rank=m["class_rank"],
        arrival=m["arrival"], raised=m["raised"], raise_reason=m["raise_reason"], state=OpState(m["state"]),
        fence=m["fence"], holder=m["holder"], confirmed=bool(m["confirmed"]), pair_id=m["pair_id"],
        submitted_by=m["submitted_by"], submitted_at=m["submitted_at"], admitted_at=m["admitted_at"],
        started_at=m["started_at"], finished_at=m["finished_at"], rc=m["rc"], outcome=m["outcome"],
        output_tail=m["output_tail"], capacity_override=m["capacity_override"],
    )


def _strings(values: Iterable[str], what: str) -> tuple[str, ...]:
    out = tuple(values)
    if not all(isinstance(v, str) and v for v in out):
        raise ValueError(f"{what} must be non-empty strings, not {out!r}")
    return out


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValueError(f"{what} needs a written reason (it is audited)")
    return text


def _claim_conflict(exc: IntegrityError) -> bool:
    """Did the partial unique index over held claims refuse this?"""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None) == _CLAIM_INDEX:
        return True
    text = str(exc.orig)
    return _CLAIM_INDEX in text or "UNIQUE constraint failed: claims.resource" in text


class _Refused(Exception):
    """Roll the transaction back: the guarded change did not apply."""


class Queue:
    """The queue on one (migrated) engine. ``clock`` replaces the time source
    (tests); by default PostgreSQL's clock, or this machine's on SQLite.

    ``guard`` (see :meth:`fenced`): the lease check of a leader's
    dispatcher, run first in each of its writes (admit, mark_running,
    add_progress, finish, requeue, heartbeat). When it refuses, nothing
    changes, the refusal is audited (action ``fenced``) and the call returns
    what any refusal returns."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None,
                 guard: Guard | None = None):
        self.engine = engine
        self.clock = clock
        self.guard = guard
        self.audit = AuditLog(engine, clock=clock)

    def fenced(self, guard: Guard) -> Queue:
        """The same queue (same engine), the dispatcher's writes guarded."""
        return Queue(self.engine, clock=self.clock, guard=guard)

    @classmethod
    def open(cls, url: str | URL | None = None, *, clock: Callable[[], datetime] | None = None) -> Queue:
        engine = open_engine(url)
        migrate(engine)
        return cls(engine, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self, *, audited: bool = True, guarded: bool = False) -> Iterator[tuple[Connection, datetime]]:
        """A write transaction: a guarded one first runs the guard (which may
        raise ``Fenced``); an audited one then locks the audit head (the one
        lock every auditing writer takes first). Raising ``_Refused`` or
        ``Fenced`` inside rolls it back."""
        with self.engine.begin() as conn:
            if guarded and self.guard is not None:
                self.guard(conn)
            if audited:
                self.audit.lock(conn)
            yield conn, transaction_time(conn, self.clock)

    def _fenced(self, exc: Fenced, action: str, actor: Actor, op_id: int | None = None,
                **detail: object) -> None:
        """Audit a write the guard refused, in its own transaction."""
        audit_fenced(self.audit, actor, exc, action, operation=op_id, detail=detail)

    @staticmethod
    def _changed(conn: Connection, now: datetime, op_id: int, tenant: str, node: str) -> None:
        """An operation changed: a ``queue`` change for the consoles following the feed."""
        append_change(conn, "queue", now, tenant=tenant, node=node, ref=op_id)

    # --- submitting and reading -------------------------------------------------------------
    def submit(self, new: NewOp, actor: Actor) -> QueuedOp:
        """Queue ``new``; it is committed (with its audit record) when this returns."""
        try:
            op = Op(new.op)
            rank = CLASS_RANK[CLASS_OF[op]]
        except (ValueError, KeyError):
            raise ValueError(f"{new.op!r} is not an operation the arbiter queues") from None
        tenant, node = _strings((new.tenant, new.node), "tenant and node")
        argv = _strings(new.argv, "argv")
        if not argv:
            raise ValueError("argv is empty: an operation runs an exact ksysmgr command line")
        hosts = tuple(dict.fromkeys(_strings(new.recovery_hosts, "recovery_hosts")))
        names = _strings(new.host_names, "host_names")
        # the planner decided it (the store keeps the decision; the core turns it into claims)
        on_hosts = works_on_recovery_hosts(op) if new.on_recovery_hosts is None else bool(new.on_recovery_hosts)
        if on_hosts and not hosts:
            raise ValueError(f"{op.value} on {node} works on recovery hosts: name them (CEC UUIDs), or it "
                             "could run on a shared host at the same time as another tenant's operation")
        check_no_secret(list(argv), "argv")
        forced = (new.duplicate_reason or "").strip() or None
        over = (new.capacity_override or "").strip() or None
        if over is not None:
            check_no_secret(over, "capacity_override")
        try:
            with self._write() as (conn, now):
                same = self._same_intent(conn, tenant, node, op, new.site, new.to_site) if new.unique_intent \
                    else None
                if same is not None and forced is None:
                    raise DuplicateRequest(same)
                arrival = conn.execute(sa.select(sa.func.coalesce(sa.func.max(_ops.c.arrival), 0))).scalar_one() + 1
                if new.pair_id is not None and conn.execute(
                        sa.select(_ops.c.id).where(_ops.c.id == new.pair_id)).first() is None:
                    raise _Refused(f"pair_id {new.pair_id}: no such operation")
                op_id = conn.execute(sa.insert(_ops).values(
                    tenant=tenant, node=node, op=op.value, site=new.site, to_site=new.to_site,
                    argv=json.dumps(argv), recovery_hosts=json.dumps(hosts), host_names=json.dumps(names),
                    on_recovery_hosts=on_hosts,
                    priority=int(new.priority), class_rank=rank, arrival=arrival, raised=0, state=OpState.QUEUED.value,
                    confirmed=bool(new.confirmed), pair_id=new.pair_id, submitted_by=str(actor), submitted_at=now,
                    capacity_override=over,
                ).returning(_ops.c.id)).scalar_one()
                if new.pair_id is not None:  # the pair points both ways: the test knows its cleanup
                    conn.execute(sa.update(_ops).where(_ops.c.id == new.pair_id).values(pair_id=op_id))
                self.audit.append(conn, actor=actor, action="submit", operation=op_id, tenant=tenant, node=node,
                                  at=now, detail={
                                      "op": op.value, "argv": argv, "site": new.site, "to_site": new.to_site,
                                      "recovery_hosts": hosts, "on_recovery_hosts": on_hosts,
                                      "priority": int(new.priority),
                                      "confirmed": bool(new.confirmed), "pair_id": new.pair_id, "arrival": arrival,
                                      **({"duplicate_of": same.id, "duplicate_reason": forced}
                                         if same is not None and forced else {}),
                                      **({"capacity": list(new.capacity_lines)} if new.capacity_lines else {}),
                                      **({"capacity_override": over} if over is not None else {})})
                row = conn.execute(sa.select(_ops).where(_ops.c.id == op_id)).one()
                self._changed(conn, now, op_id, tenant, node)
                maybe_die("submit_before_commit")
        except _Refused as exc:
            raise ValueError(str(exc)) from None
        return _to_op(row)

    @staticmethod
    def _same_intent(conn: Connection, tenant: str, node: str, op: Op, site: str | None,
                     to_site: str | None) -> QueuedOp | None:
        """The oldest request with the same intent still queued, running or in doubt."""
        row = conn.execute(sa.select(_ops).where(
            _ops.c.tenant == tenant, _ops.c.node == node, _ops.c.op == op.value, _ops.c.state.in_(_PENDING),
            _ops.c.site.is_not_distinct_from(site), _ops.c.to_site.is_not_distinct_from(to_site),
        ).order_by(_ops.c.id).limit(1)).first()
        return None if row is None else _to_op(row)

    def _select(self, query: sa.Select[Any]) -> list[QueuedOp]:
        with read_connection(self.engine) as conn:
            return [_to_op(r) for r in conn.execute(query).all()]

    def get(self, op_id: int) -> QueuedOp | None:
        found = self._select(sa.select(_ops).where(_ops.c.id == op_id))
        return found[0] if found else None

    def waiting(self) -> list[QueuedOp]:
        """Queued operations in arbitration order: the core's
        (``arbitration.ordered``), not a copy of it in SQL."""
        rows = self._select(sa.select(_ops).where(_ops.c.state == OpState.QUEUED.value))
        return ordered_by(rows, QueuedOp.to_request)

    def active(self) -> list[QueuedOp]:
        """Admitted and running operations, in admission (fence) order."""
        return self._select(sa.select(_ops).where(_ops.c.state.in_(_ACTIVE)).order_by(_ops.c.fence, _ops.c.id))

    def holding(self) -> list[QueuedOp]:
        """Every operation that holds claims: the active ones and those in doubt
        (what arbitration must treat as running)."""
        return self._select(sa.select(_ops).where(_ops.c.state.in_(_HOLDING)).order_by(_ops.c.fence, _ops.c.id))

    def operations(self, states: Iterable[OpState | str] | None = None, tenant: str | None = None,
                   limit: int | None = None, *, kinds: Iterable[Op | str] | None = None,
                   finished_since: datetime | None = None) -> list[QueuedOp]:
        """Operations oldest first (with ``limit``: the newest ``limit`` of
        them); only of ``kinds`` / finished at or after ``finished_since``
        when given. A console polls these every second or so: the history
        grows without end, and reading it whole costs about 55 µs a row
        (16,001 rows: 922 ms, ``bench/queue_reads.py``), so readers ask for
        what they show."""
        query = sa.select(_ops).order_by(_ops.c.id.desc())
        if states is not None:
            query = query.where(_ops.c.state.in_(_sql(map(OpState, states))))
        if tenant is not None:
            query = query.where(_ops.c.tenant == tenant)
        if kinds is not None:
            query = query.where(_ops.c.op.in_([Op(k).value for k in kinds]))
        if finished_since is not None:
            query = query.where(_ops.c.finished_at >= finished_since)
        if limit is not None:
            query = query.limit(limit)
        return self._select(query)[::-1]

    def operation_ids(self, tenant: str | None = None) -> list[int]:
        """Every operation's id (of ``tenant``), ascending: what a scoped
        console's own numbering needs, without reading the rows."""
        query = sa.select(_ops.c.id).order_by(_ops.c.id)
        if tenant is not None:
            query = query.where(_ops.c.tenant == tenant)
        with read_connection(self.engine) as conn:
            return list(conn.execute(query).scalars())

    # --- admission and the holder's calls ----------------------------------------------------
    def admit(self, op_id: int, console: str, actor: Actor) -> int | None:
        """Hold the operation's claims under a new fence and mark it admitted;
        return the fence. None when it is not queued, or when any of its
        claims is held already (the database refuses; nothing changes)."""
        try:
            with self._write(guarded=True) as (conn, now):
                row = conn.execute(sa.select(_ops).where(_ops.c.id == op_id).with_for_update()).first()
                if row is None or row.state != OpState.QUEUED:
                    raise _Refused
                op = _to_op(row)
                fence: int = conn.execute(sa.update(_fence).where(_fence.c.id == 1)
                                          .values(value=_fence.c.value + 1).returning(_fence.c.value)).scalar_one()
                resources = op.claims()
                maybe_die("admit_before_claims")
                # one multi-row INSERT (not executemany): all claims or, on a conflict, none
                conn.execute(sa.insert(_claims).values(
                    [{"operation_id": op_id, "resource": r, "fence": fence, "held": True} for r in resources]))
                maybe_die("admit_after_claims")
                conn.execute(sa.update(_ops).where(_ops.c.id == op_id).values(
                    state=OpState.ADMITTED.value, holder=console, fence=fence, admitted_at=now))
                self.audit.append(conn, actor=actor, action="admit", operation=op_id, tenant=op.tenant,
                                  node=op.node, at=now,
                                  detail={"fence": fence, "console": console, "claims": list(resources)})
                self._changed(conn, now, op_id, op.tenant, op.node)
        except _Refused:
            return None
        except Fenced as exc:
            self._fenced(exc, "admit", actor, op_id, console=console)
            return None
        except IntegrityError as exc:
            if _claim_conflict(exc):
                return None
            raise
        return fence

    def _guarded(self, op_id: int, fence: int, states: Iterable[OpState], values: JsonDict, *, action: str,
                 actor: Actor, detail: JsonDict, release: bool = False) -> bool:
        """UPDATE … WHERE id AND fence AND state IN states; optionally release
        the claims held under that fence; audit. False (nothing changed) when
        the hold is not (or no longer) this fence's."""
        try:
            with self._write(guarded=True) as (conn, now):
                row = conn.execute(
                    sa.update(_ops)
                    .where(_ops.c.id == op_id, _ops.c.fence == fence, _ops.c.state.in_(_sql(states)))
                    .values(**{k: (now if v is _NOW else v) for k, v in values.items()})
                    .returning(_ops.c.tenant, _ops.c.node)
                ).first()
                if row is None:
                    raise _Refused
                maybe_die("transition_before_release")
                if release:
                    detail["released"] = self._release(conn, op_id, fence)
                    maybe_die("transition_after_release")
                self.audit.append(conn, actor=actor, action=action, operation=op_id, tenant=row.tenant,
                                  node=row.node, at=now, detail={"fence": fence, **detail})
                self._changed(conn, now, op_id, row.tenant, row.node)
        except _Refused:
            self._audit_refusal(op_id, fence, action, actor)
            return False
        except Fenced as exc:
            self._fenced(exc, action, actor, op_id, fence=fence)
            return False
        return True

    def _audit_refusal(self, op_id: int, fence: int, action: str, actor: Actor) -> None:
        """Nothing changed, but a console acting under a hold it no longer has
        (paused, partitioned, or racing a reconciler) is worth a line: who
        tried what, under which fence, and whose the operation is now."""
        with self._write() as (conn, now):
            row = conn.execute(sa.select(_ops.c.tenant, _ops.c.node, _ops.c.state, _ops.c.fence, _ops.c.holder)
                               .where(_ops.c.id == op_id)).first()
            now_held = {} if row is None else {"state": row.state, "current_fence": row.fence, "holder": row.holder}
            self.audit.append(conn, actor=actor, action="refused", operation=op_id,
                              tenant=row.tenant if row else None, node=row.node if row else None, at=now,
                              detail={"attempted": action, "fence": fence, **now_held})

    @staticmethod
    def _release(conn: Connection, op_id: int, fence: int | None = None) -> list[str]:
        query = sa.update(_claims).where(_claims.c.operation_id == op_id, _claims.c.held.is_(True))
        if fence is not None:
            query = query.where(_claims.c.fence == fence)
        return sorted(conn.execute(query.values(held=False).returning(_claims.c.resource)).scalars().all())

    def mark_running(self, op_id: int, fence: int, actor: Actor) -> bool:
        """Write-ahead: record that the command is about to be sent. Call it
        *before* sending; False means the hold is lost: send nothing."""
        return self._guarded(op_id, fence, (OpState.ADMITTED,), {"state": OpState.RUNNING.value, "started_at": _NOW},
                             action="start", actor=actor, detail={})

    def add_progress(self, op_id: int, fence: int, line: str, actor: Actor, milestone: bool = False) -> bool:
        """Append an output line of a running operation (a milestone is also
        audited). False when the hold is not this fence's."""
        line = redact(line)
        try:
            with self._write(audited=milestone, guarded=True) as (conn, now):
                row = conn.execute(sa.select(_ops.c.tenant, _ops.c.node).where(
                    _ops.c.id == op_id, _ops.c.fence == fence, _ops.c.state == OpState.RUNNING.value).with_for_update()
                ).first()
                if row is None:
                    raise _Refused
                seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(_progress.c.seq), 0))
                                   .where(_progress.c.operation_id == op_id)).scalar_one() + 1
                conn.execute(sa.insert(_progress).values(operation_id=op_id, seq=seq, at=now, line=line))
                if milestone:
                    self.audit.append(conn, actor=actor, action="progress", operation=op_id, tenant=row.tenant,
                                      node=row.node, at=now, detail={"fence": fence, "line": line})
                maybe_die("progress_before_commit")
        except _Refused:
            return False
        except Fenced as exc:
            self._fenced(exc, "progress", actor, op_id, fence=fence)
            return False
        return True

    def finish(self, op_id: int, fence: int, state: OpState | str, rc: int | None, outcome: str, output_tail: str,
               actor: Actor) -> bool:
        """Record the end: succeeded / failed release the claims; in_doubt
        keeps them until an operator resolves it."""
        end = OpState(state)
        if end not in (OpState.SUCCEEDED, OpState.FAILED, OpState.IN_DOUBT):
            raise ValueError(f"finish to {state!r}: an operation finishes succeeded, failed or in_doubt")
        return self._guarded(op_id, fence, ACTIVE, {"state": end.value, "rc": rc, "outcome": outcome,
                                                    "output_tail": output_tail, "finished_at": _NOW},
                             action="finish", actor=actor, release=end is not OpState.IN_DOUBT,
                             detail={"state": end.value, "rc": rc, "outcome": outcome})

    def settle_doubt(self, op_id: int, fence: int, state: OpState | str, why: str, actor: Actor) -> bool:
        """An operation in doubt re-judged from its node (the dispatcher, once
        the node answers again): succeeded or failed, its claims released,
        the verdict audited (action ``rejudge``). False when it is no longer in
        doubt under this fence (an operator resolved it first, say)."""
        end = OpState(state)
        if end not in (OpState.SUCCEEDED, OpState.FAILED):
            raise ValueError(f"settle {state!r}: a re-judged operation ends succeeded or failed")
        with read_connection(self.engine) as conn:
            row = conn.execute(sa.select(_ops.c.outcome).where(
                _ops.c.id == op_id, _ops.c.fence == fence, _ops.c.state == OpState.IN_DOUBT.value)).first()
        outcome = f"{row.outcome}; {why}" if row is not None and row.outcome else why
        return self._guarded(op_id, fence, (OpState.IN_DOUBT,), {"state": end.value, "outcome": outcome},
                             action="rejudge", actor=actor, release=True,
                             detail={"from": OpState.IN_DOUBT.value, "to": end.value, "verdict": end.value, "why": why})

    def requeue(self, op_id: int, fence: int, reason: str, actor: Actor) -> bool:
        """An admitted operation that was never started goes back to the queue
        at its old place (its arrival is kept); its claims are released."""
        return self._guarded(op_id, fence, (OpState.ADMITTED,), {"state": OpState.QUEUED.value, "holder": None,
                                                                  "fence": None, "admitted_at": None},
                             action="requeue", actor=actor, release=True, detail={"reason": reason})

    # --- operator decisions ------------------------------------------------------------------
    def resolve(self, op_id: int, state: OpState | str, actor: Actor, reason: str) -> bool:
        """An operator settles an operation in doubt (or orphaned: admitted or
        running under a console that is gone) as succeeded, failed or
        cancelled, and releases its claims. The reason is required and audited."""
        end = OpState(state)
        if not end.finished:
            raise ValueError(f"resolve to {state!r}: an operator settles as succeeded, failed or cancelled")
        text = _reason(reason, "resolving an operation")
        try:
            with self._write() as (conn, now):
                row = conn.execute(sa.select(_ops).where(_ops.c.id == op_id).with_for_update()).first()
                if row is None or not OpState(row.state).holds_claims:
                    raise _Refused
                outcome = f"resolved {end.value} by {actor}: {text}"
                conn.execute(sa.update(_ops).where(_ops.c.id == op_id).values(
                    state=end.value, outcome=f"{row.outcome}; {outcome}" if row.outcome else outcome,
                    finished_at=row.finished_at or now))
                released = self._release(conn, op_id)
                maybe_die("resolve_before_commit")
                self.audit.append(conn, actor=actor, action="resolve", operation=op_id, tenant=row.tenant,
                                  node=row.node, at=now, detail={"from": row.state, "to": end.value, "reason": text,
                                                                 "fence": row.fence, "released": released})
                self._changed(conn, now, op_id, row.tenant, row.node)
        except _Refused:
            return False
        return True

    def cancel(self, op_id: int, actor: Actor, reason: str = "") -> bool:
        """Cancel a queued operation (only queued: an admitted one may be
        under way; an operator resolves those)."""
        return self._update_queued(op_id, actor, "cancel", {"state": OpState.CANCELLED.value, "finished_at": _NOW,
                                                            "outcome": f"cancelled by {actor}" +
                                                            (f": {reason}" if reason else "")},
                                   {"reason": reason})

    def raise_priority(self, op_id: int, actor: Actor, reason: str) -> bool:
        """Put a queued operation ahead of every other (raised = max + 1). A
        written reason is required (ValueError) and audited."""
        text = _reason(reason, "raising an operation over others")
        return self._update_queued(op_id, actor, "raise", {"raised": _TOP, "raise_reason": text}, {"reason": text})

    def _update_queued(self, op_id: int, actor: Actor, action: str, values: JsonDict, detail: JsonDict) -> bool:
        try:
            with self._write() as (conn, now):
                if values.get("raised") is _TOP:
                    values = {**values, "raised": conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(_ops.c.raised), 0))).scalar_one() + 1}
                    detail = {**detail, "raised": values["raised"]}
                row = conn.execute(
                    sa.update(_ops).where(_ops.c.id == op_id, _ops.c.state == OpState.QUEUED.value)
                    .values(**{k: (now if v is _NOW else v) for k, v in values.items()})
                    .returning(_ops.c.tenant, _ops.c.node)
                ).first()
                if row is None:
                    raise _Refused
                self.audit.append(conn, actor=actor, action=action, operation=op_id, tenant=row.tenant,
                                  node=row.node, at=now, detail=detail)
                self._changed(conn, now, op_id, row.tenant, row.node)
                maybe_die("queued_update_before_commit")
        except _Refused:
            return False
        return True

    # --- consoles ----------------------------------------------------------------------------
    def heartbeat(self, console_id: str, actor: Actor) -> None:
        """This console is alive (and dispatching). A guarded queue whose guard
        refuses records nothing but the refusal."""
        try:
            self._heartbeat(console_id, actor)
        except Fenced as exc:
            self._fenced(exc, "heartbeat", actor, console=console_id)

    def _heartbeat(self, console_id: str, actor: Actor) -> None:
        with self._write(audited=False, guarded=True) as (conn, now):
            ins = insert(conn, _dispatchers).values(console_id=console_id, user=actor.user, host=actor.host,
                                                     pid=os.getpid(), started_at=now, last_seen=now)
            conn.execute(ins.on_conflict_do_update(index_elements=["console_id"], set_={
                "user": ins.excluded.user, "host": ins.excluded.host, "pid": ins.excluded.pid, "last_seen": now}))

    def _alive_since(self, conn: Connection, alive_within: float) -> datetime:
        return transaction_time(conn, self.clock) - timedelta(seconds=alive_within)

    def dispatchers(self, alive_within: float) -> list[Dispatcher]:
        """Consoles seen within the last ``alive_within`` seconds."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(sa.select(_dispatchers).where(
                _dispatchers.c.last_seen >= self._alive_since(conn, alive_within)
            ).order_by(_dispatchers.c.console_id)).all()
        return [Dispatcher(r.console_id, r.user, r.host, r.pid, r.started_at, r.last_seen) for r in rows]

    def orphans(self, alive_within: float) -> list[QueuedOp]:
        """Admitted or running operations whose console has not been seen
        within ``alive_within`` seconds — for reconciliation. Nothing is changed:
        a hold is never released because time passed."""
        with read_connection(self.engine) as conn:
            alive = sa.select(_dispatchers.c.console_id).where(
                _dispatchers.c.last_seen >= self._alive_since(conn, alive_within))
            rows = conn.execute(sa.select(_ops).where(
                _ops.c.state.in_(_ACTIVE), sa.or_(_ops.c.holder.is_(None), _ops.c.holder.not_in(alive))
            ).order_by(_ops.c.fence, _ops.c.id)).all()
        return [_to_op(r) for r in rows]

    # --- history -----------------------------------------------------------------------------
    def progress(self, op_id: int) -> list[str]:
        with read_connection(self.engine) as conn:
            return list(conn.execute(sa.select(_progress.c.line).where(_progress.c.operation_id == op_id)
                                     .order_by(_progress.c.seq)).scalars())

    def durations(self, op: str, node: str, limit: int = 10) -> list[float]:
        """Seconds taken by the last ``limit`` successful runs of ``op`` on
        ``node``, newest last (for ETAs)."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(sa.select(_ops.c.started_at, _ops.c.finished_at).where(
                _ops.c.op == Op(op).value, _ops.c.node == node, _ops.c.state == OpState.SUCCEEDED.value,
                _ops.c.started_at.is_not(None), _ops.c.finished_at.is_not(None),
            ).order_by(_ops.c.finished_at.desc(), _ops.c.id.desc()).limit(limit)).all()
        return [(f - s).total_seconds() for s, f in reversed(rows)]

    # --- the audit trail ---------------------------------------------------------------------
    def verify_audit(self) -> list[ChainProblem]:
        return self.audit.verify()

    def export_audit(self, tenant: str | None = None) -> list[AuditEntry]:
        return list(self.audit.export(tenant))

    def recent_audit(self, limit: int, tenant: str | None = None) -> list[AuditEntry]:
        return self.audit.latest(limit, tenant)

    def record(self, actor: Actor, action: str, *, operation: int | None = None, tenant: str | None = None,
               node: str | None = None, detail: Mapping[str, object] | None = None) -> AuditRecord:
        """Audit an action that is not a queue transition (same chain)."""
        return self.audit.record(actor=actor, action=action, operation=operation, tenant=tenant, node=node,
                                 detail=detail)


_NOW = object()  # placeholder in update values: the transaction's time
_TOP = object()  # placeholder: max(raised) + 1
