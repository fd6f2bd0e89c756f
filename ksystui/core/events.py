"""The KSYS event catalogue: name → (type, description).

Sourced: the PowerVS orchestrator catalogue (ksys-reference §4.1) and the
on-prem critical events HMC_UNREACHABLE, STG_UNREACHABLE, HOST_FAILURE,
VM_CPU_THRESHOLD_EXCEEDED (§4.2). Names marked INFERRED follow the on-prem
event table as remembered in §4.2, or the obvious verify / DR-test
counterparts of sourced names; confirm them on a real node.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ksystui.core.model import KsysEvent


@dataclass(frozen=True)
class EventDef:
    name: str
    type: str  # error / warning / info
    description: str
    critical: bool = False  # worth waking someone for (drives alerts)


_DEFS = [
    # sourced (PowerVS catalogue, S1v1/S2)
    EventDef("DISCOVERY_STARTED", "info", "Discovery has started."),
    EventDef("DISCOVERY_SUCCESS", "info", "Discovery has succeeded."),
    EventDef("DISCOVERY_FAILED", "error", "Discovery has failed.", True),
    EventDef("AUTO_DISCOVERY_STARTED", "info", "Auto discovery process has started."),
    EventDef("AUTO_DISCOVERY_SUCCESS", "info", "Auto discovery process has completed."),
    EventDef("AUTO_DISCOVERY_FAILED", "error", "Auto discovery process has failed.", True),
    EventDef("MOVE_STARTED", "info", "Move has started."),
    EventDef("MOVE_SUCCESS", "info", "Move has succeeded."),
    EventDef("MOVE_FAILED", "error", "Move has failed.", True),
    EventDef("VM_SHUTDOWN_STARTED", "info", "VM shutdown has started."),
    EventDef("VM_SHUTDOWN_SUCCESS", "info", "VM shutdown has succeeded."),
    EventDef("VM_SHUTDOWN_FAILED", "error", "VM shutdown has failed.", True),
    EventDef("VM_BOOTUP_STARTED", "info", "VM bootup has started."),
    EventDef("VM_BOOTUP_SUCCESS", "info", "VM bootup has succeeded."),
    EventDef("VM_BOOTUP_FAILED", "error", "VM bootup has failed.", True),
    EventDef("VG_REVERSAL_STARTED", "info", "VG reversal has started."),
    EventDef("VG_REVERSAL_SUCCESS", "info", "VG reversal has succeeded."),
    EventDef("VG_REVERSAL_FAILED", "error", "VG reversal has failed.", True),
    EventDef("REPLICATION_MONITOR_FAILED", "error", "Replication monitor has failed.", True),
    EventDef("NETWORK_CONFIGURATION_FAILED", "warning", "Network configuration has failed."),
    EventDef("SCRIPT_FAILURE_EVENT", "error", "Script execution has failed."),
    # sourced on-prem critical events (DW-AUTO)
    EventDef("HOST_FAILURE", "error", "Host failure has been detected.", True),
    EventDef("HMC_UNREACHABLE", "error", "HMC is unreachable.", True),
    EventDef("STG_UNREACHABLE", "error", "Storage agent is unreachable.", True),
    EventDef("VM_CPU_THRESHOLD_EXCEEDED", "warning", "VM CPU threshold exceeded."),
    # INFERRED on-prem names
    EventDef("HMC_REACHABLE", "info", "HMC is reachable again."),  # INFERRED
    EventDef("STG_REACHABLE", "info", "Storage agent is reachable again."),  # INFERRED
    EventDef("HOST_RECOVERED", "info", "Host is operating again."),  # INFERRED
    EventDef("REPLICATION_FAILURE", "error", "Storage replication has failed.", True),  # INFERRED
    EventDef("REPLICATION_LAG", "warning", "Storage replication is behind its recovery point."),  # INFERRED
    EventDef("REPLICATION_RESUMED", "info", "Storage replication has resumed."),  # INFERRED
    EventDef("VERIFY_STARTED", "info", "Verification has started."),  # INFERRED
    EventDef("VERIFY_SUCCESS", "info", "Verification has succeeded."),  # INFERRED
    EventDef("VERIFY_FAILED", "error", "Verification has failed.", True),  # INFERRED
    EventDef("DAILY_VERIFY_COMPLETE", "info", "Daily verification has completed."),  # INFERRED
    EventDef("DAILY_VERIFY_FAILED", "error", "Daily verification has failed.", True),  # INFERRED
    EventDef("DRTEST_STARTED", "info", "DR test (failover rehearsal) has started."),  # INFERRED
    EventDef("DRTEST_SUCCESS", "info", "DR test (failover rehearsal) has succeeded."),  # INFERRED
    EventDef("DRTEST_FAILED", "error", "DR test (failover rehearsal) has failed.", True),  # INFERRED
    EventDef("CLEANUP_STARTED", "info", "Cleanup has started."),  # INFERRED
    EventDef("CLEANUP_SUCCESS", "info", "Cleanup has succeeded."),  # INFERRED
    EventDef("CLEANUP_FAILED", "error", "Cleanup has failed.", True),  # INFERRED
    EventDef("RECOVERY_STARTED", "info", "Recovery has started."),  # INFERRED
    EventDef("RECOVERY_SUCCESS", "info", "Recovery has succeeded."),  # INFERRED
    EventDef("RECOVERY_FAILED", "error", "Recovery has failed.", True),  # INFERRED
    EventDef("RESYNC_SUCCESS", "info", "Resync has completed."),  # INFERRED
    # INFERRED: the name and wording of the event a contended KSYS raises when a recovery host
    # has too little free memory or CPU to boot a VM (the simulator raises it; resource: the host)
    EventDef("INSUFFICIENT_HOST_CAPACITY", "error", "The host has too little free memory or CPU to start the VM.",
             True),
]

CATALOGUE: dict[str, EventDef] = {d.name: d for d in _DEFS}


def is_critical(ev: KsysEvent) -> bool:
    """Worth an alert: critical by the catalogue, or printed as an error."""
    return event_def(ev.name).critical or ev.type == "error"


def event_time(ev: KsysEvent) -> datetime | None:
    """When an event happened, if the node printed a time we can read
    (INFERRED format: ISO 8601, ``Z`` for UTC)."""
    if not ev.time:
        return None
    try:
        return datetime.fromisoformat(ev.time.replace("Z", "+00:00"))
    except ValueError:
        return None


def event_def(name: str) -> EventDef:
    """The definition of a known event; unknown names (a newer KSYS) are
    treated as warnings rather than dropped."""
    return CATALOGUE.get(name) or EventDef(name, "warning", name.replace("_", " ").capitalize() + ".")
