"""Read a PowerVS node's DR Automation service (REST): its summary, managed
VMs, service-instance status and events, the events incrementally.

One read fetches the four answers in turn; the first failure ends the read
(the next calls would meet the same outage, each with its retries) and every
REST section keeps its last good items with the error, so the console shows
what the service said last and why it is not newer. Events are asked for
with ``from_time`` = the newest event time already seen (the server's bound
is inclusive: the overlap is de-duplicated by event id) and ``to_time`` =
now; the first read looks back FIRST_LOOKBACK. At most MAX_EVENTS are kept,
newest last (the IBM console shows up to 100 [REL]).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ksystui.core import service_api
from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import Section
from ksystui.transport.errors import TransportError

FIRST_LOOKBACK = timedelta(days=1)
MAX_EVENTS = 200
REST_KINDS = ("service", "rest_vm", "rest_status", "rest_event")

# The DR Automation summary carries deployment details; keep only what the
# console shows, so nothing credential-like (proxy, MFA, keys) is ever stored.
_SERVICE_FIELDS = {
    "orchestrator_details": ("orchestrator_name", "orchestrator_status", "orchestrator_cluster_message",
                             "orchestrator_config_status", "orch_ext_connectivity_status", "location_id"),
    "service_details": ("deployment_name", "plan_name", "recovery_location", "status", "orchestrator_ha"),
}


def service_view(summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"managed_vms": len(summary.get("managed_vm_list") or {})}
    for section, keys in _SERVICE_FIELDS.items():
        src = summary.get(section) or {}
        out[section] = {k: src[k] for k in keys if k in src and isinstance(src[k], str | int | float | bool)}
    return out


class ServiceApi(Protocol):
    """What the reader needs of :class:`ksystui.transport.rest.RestTransport`."""

    async def get_summary(self) -> dict[str, Any]: ...

    async def get_managed_vms(self) -> dict[str, Any]: ...

    async def get_last_operation(self) -> dict[str, Any]: ...

    async def get_events(
        self, from_time: datetime | None = None, to_time: datetime | None = None
    ) -> list[dict[str, Any]]: ...


class ServiceReader:
    def __init__(self, api: ServiceApi) -> None:
        self.api = api
        self.sections: dict[str, Section] = {}
        self.error_kind: str | None = None  # "service_<transport kind>" after a failed read
        self.watermark: datetime | None = None  # newest event time seen
        self._events: dict[str, KsysEvent] = {}  # by event id (or identity), oldest first

    @property
    def error(self) -> str | None:
        svc = self.sections.get("service")
        return svc.error if svc is not None else None

    async def read(self) -> None:
        now = datetime.now(UTC)
        since = self.watermark if self.watermark is not None else now - FIRST_LOOKBACK
        try:
            summary = await self.api.get_summary()
            vms = await self.api.get_managed_vms()
            last_op = await self.api.get_last_operation()
            raw_events = await self.api.get_events(from_time=since, to_time=now)
            status = service_api.service_status(summary, last_op)
            managed = service_api.managed_vms(vms)
            events = service_api.events(raw_events)
        except TransportError as exc:
            self._failed(f"DR Automation service: {exc}", "service_" + exc.kind)
            return
        except service_api.ServiceAnswerError as exc:
            self._failed(f"DR Automation service: unexpected answer: {exc}", "service_parse")
            return
        for e, raw in zip(events, raw_events, strict=True):
            key = e.event_id or f"{e.time}|{e.name}|{e.description}"
            self._events[key] = e
            when = service_api.event_time(raw)
            if when is not None and (self.watermark is None or when > self.watermark):
                self.watermark = when
        if len(self._events) > MAX_EVENTS:
            newest = sorted(self._events.items(), key=lambda kv: kv[1].time or "")[-MAX_EVENTS:]
            self._events = dict(newest)
        read_at = datetime.now(UTC)
        self.sections = {
            "service": Section("service", (service_view(summary),), read_at),
            "rest_vm": Section("rest_vm", managed, read_at),
            "rest_status": Section("rest_status", (status,), read_at),
            "rest_event": Section("rest_event", tuple(self._events.values()), read_at),
        }
        self.error_kind = None

    def _failed(self, message: str, kind: str) -> None:
        self.sections = {k: replace(self.sections.get(k, Section(k)), error=message) for k in REST_KINDS}
        self.error_kind = kind
