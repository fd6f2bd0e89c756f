"""What the PowerVS DR Automation service (REST, reference §6.1) answers,
as model values. Pure: the fleet's service reader fetches, these read.

Every reader keeps only named fields (never the whole body): the service's
deployment data carries credentials (``orchestrator_password``,
``client_secret``, ``api_key``, proxy settings) that must never be stored.
Free text (event messages) is passed through the secrets policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ksystui.core.model import REST_SOURCE, KsysEvent, ManagedVm, ServiceStatus
from ksystui.core.secrets import redact, redact_output

# broker event level -> ksysmgr event type (the views know error/warning/info)
_LEVELS = {"error": "error", "warning": "warning", "info": "info", "notice": "info"}


class ServiceAnswerError(ValueError):
    """An answer of the service that is not what the API documents."""


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip()
    return text or None


def managed_vms(body: Mapping[str, Any]) -> tuple[ManagedVm, ...]:
    """``GET dr_managed_vms``: ``{"managed_vm_list": {<vm_id>: {core, dr_average_time,
    dr_region, memory, region, vm_name, workgroup_name, workspace_name}}}`` (and,
    INFERRED, ``last_consistent_time`` where the service gives one)."""
    listing = body.get("managed_vm_list")
    if listing is None:
        return ()
    if not isinstance(listing, Mapping):
        raise ServiceAnswerError("managed_vm_list is not an object")
    out: list[ManagedVm] = []
    for vm_id, vm in listing.items():
        if not isinstance(vm, Mapping):
            raise ServiceAnswerError(f"managed VM {vm_id!r} is not an object")
        name = _text(vm.get("vm_name")) or str(vm_id)
        out.append(ManagedVm(
            vm_id=str(vm_id), vm_name=name, core=_text(vm.get("core")), memory=_text(vm.get("memory")),
            dr_average_time=_text(vm.get("dr_average_time")), region=_text(vm.get("region")),
            dr_region=_text(vm.get("dr_region")), workgroup=_text(vm.get("workgroup_name")),
            workspace=_text(vm.get("workspace_name")),
            # INFERRED field: the public API documents none for replication
            last_consistent_time=_text(vm.get("last_consistent_time")),
        ))
    return tuple(sorted(out, key=lambda m: m.vm_name))


def service_status(summary: Mapping[str, Any], last_operation: Mapping[str, Any]) -> ServiceStatus:
    """The service instance's state: ``last_operation`` (ServiceInstanceStatus)
    first, the summary's ``orchestrator_details``/``service_details`` for what
    it lacks."""
    orch = summary.get("orchestrator_details") or {}
    svc = summary.get("service_details") or {}
    orch = orch if isinstance(orch, Mapping) else {}
    svc = svc if isinstance(svc, Mapping) else {}

    def pick(*candidates: tuple[Mapping[str, Any], str]) -> str | None:
        for source, key in candidates:
            value = _text(source.get(key))
            if value is not None:
                return value
        return None

    lo = last_operation
    ha = lo.get("orchestrator_ha", svc.get("orchestrator_ha"))
    return ServiceStatus(
        status=pick((lo, "status"), (svc, "status")),
        primary_status=pick((lo, "primary_orchestrator_status"), (orch, "orchestrator_status")),
        standby_status=pick((lo, "standby_status"), (svc, "standby_status"), (orch, "standby_orchestrator_status")),
        orchestrator_ha=ha if isinstance(ha, bool) else None,
        config_status=pick((lo, "orchestrator_config_status"), (orch, "orchestrator_config_status")),
        cluster_message=pick((lo, "orchestrator_cluster_message"), (orch, "orchestrator_cluster_message")),
        connectivity=pick((lo, "orch_ext_connectivity_status"), (orch, "orch_ext_connectivity_status")),
        deployment_name=pick((lo, "deployment_name"), (svc, "deployment_name")),
        plan_name=pick((lo, "plan_name"), (svc, "plan_name")),
        recovery_location=pick((lo, "recovery_location"), (svc, "recovery_location")),
        primary_description=pick((lo, "primary_description"), (svc, "description")),
        standby_description=pick((lo, "standby_description"), (svc, "standby_description")),
    )


def event_time(raw: Mapping[str, Any]) -> datetime | None:
    """An event's time: ``time`` (RFC 3339) or else ``timestamp`` (epoch seconds)."""
    text = _text(raw.get("time"))
    if text:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return when if when.tzinfo else when.replace(tzinfo=UTC)
        except ValueError:
            pass
    stamp = _text(raw.get("timestamp"))
    if stamp:
        try:
            return datetime.fromtimestamp(float(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            return None
    return None


def event(raw: Mapping[str, Any]) -> KsysEvent:
    """One broker event (§4.4: action, event_id, level, message, message_data,
    resource, time, timestamp) as a KSYS event read from the service."""
    data = raw.get("message_data")
    data = data if isinstance(data, Mapping) else {}
    resource = _text(raw.get("resource"))
    action = _text(raw.get("action"))
    # INFERRED: the broker has no event *name*; the orchestrator's own events
    # carry it in message_data, the broker's are named by resource and action
    name = _text(data.get("event_name")) or "_".join(
        w.upper() for w in (resource, action) if w) or "SERVICE_EVENT"
    level = (_text(raw.get("level")) or "").lower()
    when = event_time(raw)
    message = _text(raw.get("message"))
    return KsysEvent(
        name=name.replace(" ", "_"),
        type=_LEVELS.get(level),
        description=redact_output(redact(message)) if message else None,
        time=when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None,
        resource=_text(data.get("resource")) or resource,
        event_id=_text(raw.get("event_id")),
        source=REST_SOURCE,
    )


def events(raws: Iterable[Mapping[str, Any]]) -> tuple[KsysEvent, ...]:
    return tuple(event(r) for r in raws)
