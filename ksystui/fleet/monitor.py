"""One monitor per KSYS node: poll its ksysmgr queries on an interval, parse
them, and publish a new NodeSnapshot.

The queries of one node run one after the other (never a flood of parallel
queries at a KSYS); nodes are independent of each other, so a dead or slow
node never delays the rest. A query that fails keeps its last good data,
which then ages into "stale"; a node that cannot be reached is "unreachable"
at once, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ksystui.core.ksysmgr.commands import build_query
from ksystui.core.ksysmgr.errors import KsysmgrParseError
from ksystui.core.ksysmgr.parse import PARSERS
from ksystui.core.model import Flavour
from ksystui.core.snapshot import UNREACHABLE_KINDS, NodeHealth, NodeSnapshot, Section
from ksystui.transport.errors import CommandFailed, TransportError

log = logging.getLogger(__name__)

# What a monitor reads, per flavour, in this order (VM states first: they are
# what an operator looks at, so they are the freshest).
QUERIES: dict[Flavour, tuple[str, ...]] = {
    Flavour.ONPREM: ("vm", "site", "host", "disk_group", "disk_pair", "event", "system", "hmc", "storage_agent"),
    Flavour.POWERVS: ("vm", "site", "workgroup", "disk_group", "event", "system"),
}


Publish = Callable[[NodeSnapshot], Awaitable[None] | None]


def _as_tuple(parsed: object) -> tuple:
    if isinstance(parsed, list | tuple):
        return tuple(parsed)
    return (parsed,)


# The DR Automation summary carries deployment details; keep only what the
# console shows, so nothing credential-like (proxy, MFA, keys) is ever stored.
_SERVICE_FIELDS = {
    "orchestrator_details": ("orchestrator_name", "orchestrator_status", "orchestrator_cluster_message",
                             "orchestrator_config_status", "orch_ext_connectivity_status", "location_id"),
    "service_details": ("deployment_name", "plan_name", "recovery_location", "status", "orchestrator_ha"),
}


def service_view(summary: dict) -> dict:
    out: dict = {"managed_vms": len(summary.get("managed_vm_list") or {})}
    for section, keys in _SERVICE_FIELDS.items():
        src = summary.get(section) or {}
        out[section] = {k: src[k] for k in keys if k in src and isinstance(src[k], str | int | float | bool)}
    return out


class NodeMonitor:
    def __init__(
        self,
        node: str,
        tenant: str,
        flavour: Flavour,
        transport,  # KsysTransport
        *,
        rest=None,  # RestTransport | None (PowerVS)
        interval: float = 10.0,
        jitter: float = 0.1,
        command_timeout: float | None = None,
        publish: Publish | None = None,
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
        self.snapshot = NodeSnapshot(node, tenant, flavour, interval)
        self._task: asyncio.Task | None = None
        self._service_task: asyncio.Task | None = None
        self._service: Section | None = None
        self._service_error_kind: str | None = None
        self._parsed: dict[str, tuple[str, tuple]] = {}
        self._poke = asyncio.Event()

    # --- one poll cycle ------------------------------------------------------
    async def poll_once(self, *, with_service: bool = True) -> NodeSnapshot:
        """Read every query of the node once. The DR Automation service (REST)
        is read alongside, never in front: a slow or failing service must not
        age the node's ksysmgr data. The running loop reads it on its own
        schedule instead (``with_service=False`` here)."""
        started = datetime.now(UTC)
        t0 = time.monotonic()
        service = asyncio.create_task(self._poll_service()) if with_service and self.rest is not None else None
        sections = dict(self.snapshot.sections)
        health = self.snapshot.health
        fatal: TransportError | None = None
        any_ok = False
        last_error: tuple[str, str] | None = None
        for kind in QUERIES[self.flavour]:
            prev = sections.get(kind, Section(kind))
            try:
                result = await self.transport.run(build_query(kind), timeout=self.command_timeout)
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
            sections["service"] = self._service
            if self._service.error and last_error is None:
                # "service_…": the REST side failed; the node itself answers over SSH
                last_error = (self._service_error_kind or "service_error", self._service.error)
        finished = datetime.now(UTC)
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
        self.snapshot = NodeSnapshot(self.node, self.tenant, self.flavour, self.interval, sections, health)
        if self.publish is not None:
            res = self.publish(self.snapshot)
            if asyncio.iscoroutine(res):
                await res
        return self.snapshot

    def _host_key_status(self, default: str) -> str:
        return getattr(self.transport, "host_key_status", None) or default

    def _next_attempt(self, now: datetime) -> datetime:
        nxt = getattr(self.transport, "next_attempt_at", None)
        return nxt if isinstance(nxt, datetime) and nxt > now else now + timedelta(seconds=self.interval)

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
        assert self.rest is not None
        try:
            summary = service_view(await self.rest.get_summary())
            self._service = Section("service", (summary,), datetime.now(UTC), None)
            self._service_error_kind = None
        except TransportError as exc:
            prev = self._service or Section("service")
            self._service = replace(prev, error=f"DR Automation service: {exc}")
            self._service_error_kind = "service_" + exc.kind

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
            self._oneshot = asyncio.ensure_future(self.poll_once())

    async def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            try:
                await self.poll_once(with_service=False)
            except Exception:  # one bad cycle must not end monitoring of the node
                log.exception("monitor %s: poll failed", self.node)
            spent = time.monotonic() - t0
            wait = self.interval * (1 + random.uniform(-self.jitter, self.jitter)) - spent
            self._poke.clear()
            try:
                await asyncio.wait_for(self._poke.wait(), timeout=max(0.05, wait))
            except TimeoutError:
                pass

    async def stop(self) -> None:
        for task in (self._task, self._service_task):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._task = self._service_task = None
