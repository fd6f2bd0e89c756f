"""The notifier: in the leader's term, what tells the outside world.

It follows the change feed from the stored cursor (``store.deliveries``):

1. **resolution** — a poll of a node with unresolved alerts, or an operation
   that ended, may resolve some (``core.alert_resolution``); the feed marks
   them with a ``resolve`` change, which this loop reads next time round;
2. **enqueueing** — each ``alert``, ``ack`` and ``resolve`` change, and each
   ``queue`` change of an operation that ended, becomes a ``Notice``
   (``core.notices``); one delivery per hook that wants it is stored in the
   same transaction that moves the cursor past those changes;
3. **sending** — due deliveries go out through ``notify.send``; each attempt
   is recorded; a failed one is tried again after ``retry_delay`` (with a
   little jitter) until the hook's ``max_attempts``.

Once an hour it forgets deliveries that ended longer ago than the history
retention (``[service] history_retention``).

Every write goes through the term's lease guard: a notifier that lost the
lease stops (``on_fenced``) and the new leader's picks up from the cursor.
Logs name the hook, the kind and the delivery key; never a URL or a key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ksystui.config_oncall import NotifyConfig
from ksystui.core.alert_resolution import Resolution, resolved_by_operation, resolved_by_snapshot
from ksystui.core.alerts import AlertRecord
from ksystui.core.notices import (
    Notice,
    alert_acknowledged,
    alert_raised,
    alert_resolved,
    operation_finished,
    retry_delay,
    wanted,
)
from ksystui.notify.send import SendOutcome, send
from ksystui.service.logs import fields
from ksystui.store.deliveries import AsyncDeliveries, Delivery, NewDelivery, StaleCursor
from ksystui.store.feed import AsyncFeed, Change
from ksystui.store.lease import Fenced
from ksystui.store.queue_async import AsyncQueue
from ksystui.store.queue_types import QueuedOp

log = logging.getLogger(__name__)

EVERY = 0.5  # seconds between two looks at the feed and the due deliveries
BATCH = 500  # changes handled per transaction
SENDING_AT_ONCE = 8  # deliveries in flight at once (each hook's one after the other)
JITTER = 0.1  # ± this share of a retry delay: many deliveries failing at once do not retry at once
PRUNE_EVERY = 3600.0  # seconds between two prunings of the delivery log
KEPT = timedelta(days=14)  # deliveries that ended are kept this long (the service's history retention)

Sender = Callable[[NotifyConfig, Notice], Awaitable[SendOutcome]]


def notice_json(notice: Notice) -> str:
    """A notice as the delivery log keeps it (no URL, no key: a notice has none)."""
    return json.dumps({"kind": notice.kind, "tenant": notice.tenant, "node": notice.node,
                       "severity": notice.severity, "summary": notice.summary, "at": notice.at.isoformat(),
                       "incident": notice.incident, "ref": notice.ref, "details": dict(notice.details)},
                      sort_keys=True)


def notice_from_json(text: str) -> Notice:
    d: dict[str, Any] = json.loads(text)
    return Notice(kind=d["kind"], tenant=d["tenant"], node=d["node"], severity=d["severity"],
                  summary=d["summary"], at=datetime.fromisoformat(d["at"]), incident=d["incident"],
                  ref=d["ref"], details=dict(d["details"]))


def deliveries_for(hooks: Iterable[NotifyConfig], notices: Iterable[Notice]) -> list[NewDelivery]:
    """One delivery per (hook, notice) the hook wants, each notice once."""
    out: dict[tuple[str, str], NewDelivery] = {}
    for notice in notices:
        body = notice_json(notice)
        for hook in hooks:
            if wanted(hook, notice):
                out.setdefault((hook.name, notice.delivery_key), NewDelivery(
                    hook.name, notice.delivery_key, notice.incident, notice.kind, notice.tenant, notice.node,
                    notice.ref, notice.severity, notice.summary, body))
    return list(out.values())


class Notifier:
    """``await notifier.run()`` in the leader's term (cancel it to stop).
    ``feed``, ``queue`` and ``deliveries`` are the term's, fenced by its
    lease. ``sender`` replaces ``notify.send`` (tests); ``base_dir`` is where
    a hook's relative ``url_file``/``command`` are found."""

    def __init__(self, hooks: Sequence[NotifyConfig], feed: AsyncFeed, queue: AsyncQueue,
                 deliveries: AsyncDeliveries, *, on_fenced: Callable[[], None], base_dir: Path | None = None,
                 sender: Sender | None = None, every: float | None = None, kept: timedelta = KEPT):
        self.hooks: Mapping[str, NotifyConfig] = {h.name: h for h in hooks}
        self.feed = feed
        self.queue = queue
        self.deliveries = deliveries
        self.on_fenced = on_fenced
        self.base_dir = base_dir
        self.sender: Sender = sender or self._send
        self.every = EVERY if every is None else every
        self.kept = kept
        self._pruned_at: float | None = None
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(SENDING_AT_ONCE)
        self._cursor: int | None = None

    async def _send(self, hook: NotifyConfig, notice: Notice) -> SendOutcome:
        return await send(hook, notice, base_dir=self.base_dir)

    def wake(self) -> None:
        """Look now rather than at the next tick (a change was seen)."""
        self._wake.set()

    async def start_cursor(self, seq: int) -> int | None:
        """Where this term starts: the stored cursor, or ``seq`` (the feed's
        last, read before the term publishes anything) for a first notifier.
        None when the lease is no longer ours (``on_fenced`` was called)."""
        try:
            self._cursor = await self.deliveries.start_cursor(seq)
        except Fenced:
            self._lost_lease()
        return self._cursor

    def _lost_lease(self) -> None:
        log.warning("notifier: the lease is no longer ours")
        self.on_fenced()

    async def run(self) -> None:
        cursor = self._cursor
        try:
            while True:
                try:
                    if cursor is None:
                        cursor = await self.deliveries.start_cursor(await self.feed.last_seq())
                    cursor = await self.handle_changes(cursor)
                    await self.send_due()
                    await self._prune()
                except StaleCursor:
                    cursor = None  # another notifier moved it: read it again
                except Fenced:
                    raise
                except Exception:
                    log.exception("notifying failed; trying again")
                self._wake.clear()
                try:
                    async with asyncio.timeout(self.every):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        except Fenced:
            self._lost_lease()

    async def _prune(self) -> None:
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        forgotten = await self.deliveries.prune(datetime.now(UTC) - self.kept)
        if forgotten:
            log.info("delivery log pruned", extra=fields(deliveries=forgotten))

    # --- 1 and 2: resolution and enqueueing ---------------------------------------------
    async def handle_changes(self, cursor: int) -> int:
        """Handle the changes after ``cursor`` (at most BATCH); the new cursor."""
        changes = await self.feed.changes_since(cursor, limit=BATCH)
        if not changes:
            return cursor
        ended = await self._ended_operations(changes)
        await self._resolve(changes, ended)
        notices = await self._notices(changes, ended)
        last = changes[-1].seq
        stored = await self.deliveries.enqueue(cursor, last, deliveries_for(self.hooks.values(), notices))
        if stored:
            log.info("notifications queued", extra=fields(count=stored, seq=last))
        return last

    async def _ended_operations(self, changes: Sequence[Change]) -> list[QueuedOp]:
        ids = sorted({c.ref for c in changes if c.kind == "queue" and c.ref is not None})
        ops = [await self.queue.get(i) for i in ids]
        return [op for op in ops if op is not None and op.state.terminal]

    async def _resolve(self, changes: Sequence[Change], ended: Sequence[QueuedOp]) -> None:
        polled = {c.node for c in changes if c.kind == "snapshot" and c.node is not None}
        if not polled and not ended:
            return
        unresolved = await self.feed.alerts(unresolved=True, limit=1000)
        nodes = {a.node for a in unresolved}
        resolutions: list[Resolution] = []
        if polled & nodes:
            for snap in (await self.feed.snapshots(nodes=sorted(polled & nodes))).values():
                resolutions += resolved_by_snapshot(unresolved, snap)
        for op in ended:
            if op.node in nodes:
                resolutions += resolved_by_operation(unresolved, op_id=op.id, node=op.node, op=op.op,
                                                     state=op.state, finished_at=op.finished_at)
        once = list({r.alert_id: r for r in resolutions}.values())
        for alert in await self.feed.resolve_alerts(once):
            log.info("alert resolved", extra=fields(alert=alert.id, tenant=alert.tenant, node=alert.node,
                                                    event=alert.event, why=alert.resolved_why))

    async def _notices(self, changes: Sequence[Change], ended: Sequence[QueuedOp]) -> list[Notice]:
        notices: list[Notice] = []
        alerts: dict[int, AlertRecord | None] = {}
        for c in changes:
            if c.kind not in ("alert", "ack", "resolve") or c.ref is None:
                continue
            if c.ref not in alerts:
                alerts[c.ref] = await self.feed.alert(c.ref)
            a = alerts[c.ref]
            if a is None:
                continue
            if c.kind == "alert":
                notices.append(alert_raised(a))
            elif c.kind == "ack" and a.acked_at is not None:
                notices.append(alert_acknowledged(a))
            elif c.kind == "resolve" and a.resolved_at is not None:
                notices.append(alert_resolved(a))
        notices += [operation_finished(op) for op in ended]
        return notices

    # --- 3: sending -----------------------------------------------------------------
    async def send_due(self) -> None:
        due = await self.deliveries.due()
        by_hook: dict[str, list[Delivery]] = {}
        for d in due:
            by_hook.setdefault(d.hook, []).append(d)
        results = await asyncio.gather(*(self._send_in_order(ds) for ds in by_hook.values()),
                                       return_exceptions=True)
        for r in results:
            if isinstance(r, Fenced):
                raise r
            if isinstance(r, BaseException):
                log.error("a delivery failed unexpectedly", exc_info=r)

    async def _send_in_order(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            async with self._limit:
                await self._attempt(d)

    async def _attempt(self, d: Delivery) -> None:
        hook = self.hooks.get(d.hook)
        if hook is None:
            outcome = SendOutcome(False, "no such hook", f"hook {d.hook} is no longer configured")
            retry: timedelta | None = None
        else:
            outcome = await self.sender(hook, notice_from_json(d.notice_json))
            tries = d.attempts + 1
            retry = None if outcome.ok or tries >= hook.max_attempts else _jittered(retry_delay(tries))
        await self.deliveries.record_attempt(d.id, d.attempts, ok=outcome.ok, status=outcome.status,
                                             error=outcome.error, retry_in=retry)
        where = fields(hook=d.hook, kind=d.kind, key=d.delivery_key, attempt=d.attempts + 1, status=outcome.status)
        if outcome.ok:
            log.info("notification delivered", extra=where)
        elif retry is not None:
            log.warning("notification not delivered, trying again in %s s: %s", round(retry.total_seconds()),
                        outcome.error, extra=where)
        else:
            log.error("notification given up: %s", outcome.error, extra=where)


def _jittered(delay: timedelta) -> timedelta:
    return delay * random.uniform(1 - JITTER, 1 + JITTER)
