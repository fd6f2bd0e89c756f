"""One monitor per KSYS node: poll its ksysmgr queries on an interval, parse
them, and publish a new NodeSnapshot.

The queries of one node run one after the other, and one poll of a node
runs at a time however many callers ask (the loop, a refresh, the arbiter's
planning and its reads before and after an operation): a caller joins the
poll that will answer it instead of starting its own, so a KSYS never sees a
flood of parallel queries, and polls publish in the order they started.
Nodes are independent of each other, so a dead or slow node never delays the
rest. A query that fails keeps its last good data, which then ages into
"stale"; a node that cannot be reached is "unreachable" at once, with the
reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ksystui.core.ksysmgr.commands import build_query
from ksystui.core.ksysmgr.errors import KsysmgrParseError
from ksystui.core.ksysmgr.parse import PARSERS
from ksystui.core.model import Flavour, Host
from ksystui.core.snapshot import UNREACHABLE_KINDS, NodeHealth, NodeSnapshot, Section
from ksystui.fleet.service_reader import ServiceReader
from ksystui.transport.base import KsysTransport
from ksystui.transport.errors import CommandFailed, TransportError
from ksystui.transport.rest import RestTransport

log = logging.getLogger(__name__)

# What a monitor reads, per flavour, in this order (VM states first: they are
# what an operator looks at, so they are the freshest).
QUERIES: dict[Flavour, tuple[str, ...]] = {
    Flavour.ONPREM: ("vm", "site", "host", "disk_group", "disk_pair", "event", "system", "hmc", "storage_agent"),
    Flavour.POWERVS: ("vm", "site", "workgroup", "disk_group", "event", "system"),
}


# ``report system`` (counts of sites, hosts, VMs; KSYS status) changes only
# with the configuration: read it on the first poll and every REPORT_EVERY polls.
REPORT_EVERY = 30
REPORT_ARGV = ["ksysmgr", "report", "system"]

Publish = Callable[[NodeSnapshot], Awaitable[None] | None]


def _as_tuple(parsed: object) -> tuple[object, ...]:
    if isinstance(parsed, list | tuple):
        return tuple(parsed)
    return (parsed,)


@dataclass(eq=False)
class _Poll:
    """One poll of a node, shared by every caller that joins it."""

    with_service: bool
    task: asyncio.Task[NodeSnapshot] | None = None
    # set when the poll takes the node (its first query goes out right after):
    # from then on a caller that wants data read after its call needs the next one
    started: bool = False
    waiters: int = field(default=0)


class NodeMonitor:
    def __init__(
        self,
        node: str,
        tenant: str,
        flavour: Flavour,
        transport: KsysTransport,
        *,
        rest: RestTransport | None = None,  # PowerVS: the DR Automation service
        interval: float = 10.0,
        jitter: float = 0.1,
        command_timeout: float | None = None,
        publish: Publish | None = None,
        declared_hosts: tuple[Host, ...] = (),
    ):
        self.node = node
        self.tenant = tenant
        self.flavour = flavour
        self.transport = transport
        self.rest = rest
        self.interval = interval
        self.jitter = jitter
        self.command_timeout = command_timeout
        self.publish = publish
        # hosts the configuration gives where the node prints none (PowerVS dedicated hosts):
        # every poll carries them as its "host" section
        self.declared_hosts = declared_hosts
        self.snapshot = NodeSnapshot(node, tenant, flavour, interval)
        self._task: asyncio.Task[None] | None = None
        self._service_task: asyncio.Task[None] | None = None
        self._parsed: dict[str, tuple[str, tuple[object, ...]]] = {}
        self._poke = asyncio.Event()
        # single flight: polls take the node one at a time, in the order asked
        self._node_lock = asyncio.Lock()
        self._latest_poll: _Poll | None = None  # the poll most recently asked for
        self._polls_started = 0  # the sequence of the last poll that took the node
        self._one_shots: set[asyncio.Task[NodeSnapshot]] = set()  # refresh_now without the loop

    # --- one poll, shared ----------------------------------------------------
    async def poll_once(self, *, with_service: bool = True, fresh: bool = True) -> NodeSnapshot:
        """The node as read by one poll, shared with whoever else asks meanwhile.

        ``fresh=True`` (the default) promises data read after this call: the
        caller joins a poll that has not started reading yet, or else queues
        the next one behind the poll that is running (every caller arriving
        meanwhile joins that same next poll). What a caller needs before an
        operation (the dispatcher's preconditions, planning) is this.
        ``fresh=False`` accepts the poll already running, if any (the loop's
        cadence: any current read will do).

        The DR Automation service (REST) is read alongside, never in front:
        a slow or failing service must not age the node's ksysmgr data. The
        running loop reads it on its own schedule (``with_service=False``
        there); a joined poll reads it if any of its callers asked before it
        started.

        A caller cancelled while waiting leaves the poll to the others; the
        poll itself is cancelled only when nobody waits for it any more.
        """
        poll = self._poll_to_join(with_service=with_service, fresh=fresh)
        assert poll.task is not None
        poll.waiters += 1
        try:
            return await asyncio.shield(poll.task)
        except asyncio.CancelledError:
            if poll.waiters == 1 and not poll.task.done():
                poll.task.cancel()  # nobody else wants it
            raise
        finally:
            poll.waiters -= 1

    @property
    def rest(self) -> RestTransport | None:
        return self._rest

    @rest.setter
    def rest(self, rest: RestTransport | None) -> None:
        # a command line process attaches its lazily-tokened transport after
        # building the fleet (bootstrap's lazy secrets): the reader follows it
        self._rest = rest
        self._service = ServiceReader(rest) if rest is not None else None
    def _poll_to_join(self, *, with_service: bool, fresh: bool) -> _Poll:
        latest = self._latest_poll
        task = latest.task if latest is not None else None
        if latest is not None and task is not None and not task.done() and not task.cancelling():
            if not latest.started:
                latest.with_service = latest.with_service or with_service
                return latest
            if not fresh:
                return latest
        poll = _Poll(with_service)
        poll.task = asyncio.create_task(self._take_node_and_poll(poll), name=f"poll:{self.node}")
        self._latest_poll = poll
        return poll

    async def _take_node_and_poll(self, poll: _Poll) -> NodeSnapshot:
        async with self._node_lock:
            poll.started = True
            self._polls_started += 1
            return await self._poll(self._polls_started, with_service=poll.with_service)

    async def _poll(self, sequence: int, *, with_service: bool) -> NodeSnapshot:
        """Read every query of the node once (the node is ours meanwhile)."""
        started = datetime.now(UTC)
        t0 = time.monotonic()
        service = asyncio.create_task(self._poll_service()) if with_service and self.rest is not None else None
        sections = dict(self.snapshot.sections)
        health = self.snapshot.health
        fatal: TransportError | None = None
        any_ok = False
        last_error: tuple[str, str] | None = None
        kinds = QUERIES[self.flavour]
        if sequence % REPORT_EVERY == 1 or "report" not in sections:
            kinds = (*kinds, "report")  # rarely: it changes with the configuration only
        for kind in kinds:
            prev = sections.get(kind, Section(kind))
            argv = REPORT_ARGV if kind == "report" else build_query(kind)
            try:
                result = await self.transport.run(argv, timeout=self.command_timeout)
                items = self._parse(kind, result.stdout)
                sections[kind] = Section(kind, items, datetime.now(UTC), None)
                any_ok = True
            except KsysmgrParseError as exc:
                sections[kind] = replace(prev, error=f"cannot read ksysmgr query {kind}: {exc}")
                last_error = ("parse", sections[kind].error or "")
            except CommandFailed as exc:
                msg = (exc.stderr or exc.stdout or "").strip().splitlines()
                text = f"ksysmgr query {kind} exited {exc.rc}" + (f": {msg[0]}" if msg else "")
                sections[kind] = replace(prev, error=text)
                last_error = ("command_failed", text)
            except TransportError as exc:
                sections[kind] = replace(prev, error=str(exc))
                last_error = (exc.kind, str(exc))
                if exc.kind in UNREACHABLE_KINDS:  # the node is not there: the rest is pointless
                    fatal = exc
                    break
        if service is not None:
            await service
        if self._service is not None:
            sections.update(self._service.sections)
            if self._service.error and last_error is None:
                # "service_…": the REST side failed; the node itself answers over SSH
                last_error = (self._service.error_kind or "service_error", self._service.error)
        finished = datetime.now(UTC)
        if self.declared_hosts and "host" not in kinds:
            sections["host"] = Section("host", self.declared_hosts, finished)
        if fatal is not None:
            health = NodeHealth(
                last_attempt=started,
                last_success=health.last_success,
                last_error=str(fatal),
                error_kind=fatal.kind,
                consecutive_failures=health.consecutive_failures + 1,
                latency_ms=health.latency_ms,
                host_key=self._host_key_status(health.host_key),
                next_attempt=self._next_attempt(finished),
            )
        else:
            health = NodeHealth(
                last_attempt=started,
                last_success=finished if any_ok else health.last_success,
                last_error=last_error[1] if last_error else None,
                error_kind=last_error[0] if last_error else None,
                consecutive_failures=0 if any_ok else health.consecutive_failures + 1,
                latency_ms=round((time.monotonic() - t0) * 1000 / max(1, len(QUERIES[self.flavour])), 1),
                host_key=self._host_key_status("verified"),
                next_attempt=finished + timedelta(seconds=self.interval),
            )
        self.snapshot = NodeSnapshot(self.node, self.tenant, self.flavour, self.interval, sections, health, sequence)
        if self.publish is not None:
            res = self.publish(self.snapshot)
            if asyncio.iscoroutine(res):
                await res
        return self.snapshot

    def _host_key_status(self, default: str) -> str:
        return self.transport.host_key_status or default

    def _next_attempt(self, now: datetime) -> datetime:
        nxt = self.transport.next_attempt_at
        return nxt if nxt is not None and nxt > now else now + timedelta(seconds=self.interval)

    def _parse(self, kind: str, text: str) -> tuple:
        """Parse a query's output; identical output (the common case: most
        polls find nothing changed) reuses the previous parse."""
        hit = self._parsed.get(kind)
        if hit is not None and hit[0] == text:
            return hit[1]
        items = () if not text.strip() else _as_tuple(PARSERS[kind](text))
        self._parsed[kind] = (text, items)
        return items

    async def _poll_service(self) -> None:
        assert self._service is not None
        await self._service.read()

    # --- the loop --------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"monitor:{self.node}")
        if self.rest is not None and self._service_task is None:
            self._service_task = asyncio.create_task(self._service_loop(), name=f"service:{self.node}")

    async def _service_loop(self) -> None:
        while True:
            t0 = time.monotonic()
            try:
                await self._poll_service()
            except Exception:
                log.exception("monitor %s: service poll failed", self.node)
            wait = self.interval * (1 + random.uniform(-self.jitter, self.jitter)) - (time.monotonic() - t0)
            await asyncio.sleep(max(0.05, wait))

    def refresh_now(self) -> None:
        """Poll again without waiting for the interval (after an operation).
        A monitor that is not looping (a one-shot command) polls once."""
        if self._task is not None:
            self._poke.set()
        else:
            task = asyncio.create_task(self.poll_once(), name=f"refresh:{self.node}")
            self._one_shots.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._one_shots.discard)

    async def _run(self) -> None:
        poked = False
        while True:
            t0 = time.monotonic()
            self._poke.clear()  # a poke from now on asks for another poll after this one
            try:
                # on the clock, a poll someone else started will do; asked for, a new one
                await self.poll_once(with_service=False, fresh=poked)
            except Exception:  # one bad cycle must not end monitoring of the node
                log.exception("monitor %s: poll failed", self.node)
            spent = time.monotonic() - t0
            wait = self.interval * (1 + random.uniform(-self.jitter, self.jitter)) - spent
            try:
                async with asyncio.timeout(max(0.05, wait)):  # not wait_for: a cancellation must never be swallowed
                    await self._poke.wait()
                poked = True
            except TimeoutError:
                poked = False

    async def stop(self) -> None:
        for task in (self._task, self._service_task, *self._one_shots):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        # a poll only the loop waited for is being cancelled with it: let it end here
        poll = self._latest_poll.task if self._latest_poll is not None else None
        if poll is not None and poll.cancelling():
            await asyncio.wait([poll])
        self._task = self._service_task = None
