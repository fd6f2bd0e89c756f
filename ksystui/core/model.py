"""The domain model: what a KSYS node knows, as frozen values.

Every record type keeps the keys it did not recognise in ``extra`` (original
key, value) so a newer KSYS release that adds a field loses nothing on its way
through ksystui. Values are kept as the node printed them where converting
would lose information (sizes such as ``memory_capacity: 4`` carry no unit).

States marked INFERRED below are not shown verbatim by any public IBM source
(see shared/ksys-reference.md §3.3); they are our reconstruction of the on-prem
state machine and are kept in one place so they are easy to correct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

Extra = tuple[tuple[str, str], ...]


class Flavour(StrEnum):
    """Which KSYS product a node runs."""

    ONPREM = "onprem"  # VM Recovery Manager DR / GDR: sites, HMCs, hosts, storage agents
    POWERVS = "powervs"  # PowerVS DR Automation orchestrator: workspaces, workgroups


# --- VM states -------------------------------------------------------------
# Sourced (S1): INIT, DISCOVERED, READY_TO_MOVE. The rest are INFERRED.
VM_STATES: frozenset[str] = frozenset(
    {
        "UNMANAGED",  # INFERRED: shown under "Unmanaged VMs:" in on-prem query vm
        "INIT",
        "DISCOVERING",  # INFERRED: intermediate state while discovery runs
        "DISCOVERED",
        "DISCOVERY_FAILED",  # INFERRED
        "VERIFYING",  # INFERRED
        "READY_TO_MOVE",
        "VERIFY_FAILED",  # INFERRED
        "MOVING",  # INFERRED
        "MOVED",  # INFERRED
        "MOVE_FAILED",  # INFERRED
        "SHUTDOWN_FAILED",  # INFERRED
        "RESTART_FAILED",  # INFERRED
        "RECOVERING",  # INFERRED
        "CLEANING",  # INFERRED
        "CLEANED",  # INFERRED
        "CLEANUP_FAILED",  # INFERRED
        "DOWN",  # INFERRED: production host failed under the VM
    }
)

# Sourced (S1): INIT, ACTIVE, ACTIVE_COMPLETED, SHUTOFF, DRTESTCLEANUP_COMPLETED.
DR_TEST_STATES: frozenset[str] = frozenset(
    {
        "INIT",
        "ACTIVE",
        "ACTIVE_COMPLETED",
        "ACTIVE_FAILED",  # INFERRED
        "SHUTOFF",
        "DRTESTCLEANUP_COMPLETED",
        "DRTESTCLEANUP_FAILED",  # INFERRED
    }
)

# Replication (consistency group) states. consistent_copying is sourced (S1);
# the others are IBM Spectrum Virtualize relationship states (INFERRED here).
CG_STATES: frozenset[str] = frozenset(
    {
        "consistent_copying",
        "consistent_synchronized",
        "inconsistent_copying",
        "inconsistent_stopped",
        "consistent_stopped",
        "idling",
        "idling_disconnected",
        "consistent_disconnected",
        "inconsistent_disconnected",
    }
)

EVENT_TYPES: frozenset[str] = frozenset({"error", "warning", "info"})

# Metadata of a field added after capture bundles were written: ``to_jsonable``
# leaves it out while it holds its default, so a bundle captured before the
# field existed still reads exactly as captured (``ksystui parse --bundle``).
LATER_FIELD = {"omit_when_default": True}


@dataclass(frozen=True)
class Vm:
    name: str
    uuid: str | None = None
    state: str = "INIT"
    dr_test_state: str | None = None
    status: str | None = None  # power status: ACTIVE / SHUTOFF
    host: str | None = None  # on-prem: the host the VM runs on (INFERRED field)
    priority: str | None = None  # Low / Medium / High
    partner: str | None = None
    source_vm: str | None = None
    clone_vm: str | None = None
    active_vm: bool | None = None
    ip_addresses: tuple[str, ...] = ()
    memory_capacity: str | None = None
    processors: str | None = None
    processor_mode: str | None = None
    workspace: str | None = None
    networks: tuple[str, ...] = ()
    system_type: str | None = None
    # Flexible capacity (sourced keys, S1): the percentage of memory_capacity / Processors the VM
    # is started with on its recovery host ("1".."1000"), and the hold of its shut-off backup VM
    # (Inactive_VM_Mem in GB, Inactive_VM_Cpu in cores). How KSYS applies them is INFERRED.
    target_flex_mem: str | None = field(default=None, metadata=LATER_FIELD)
    target_flex_cpu: str | None = field(default=None, metadata=LATER_FIELD)
    inactive_vm_mem: str | None = field(default=None, metadata=LATER_FIELD)
    inactive_vm_cpu: str | None = field(default=None, metadata=LATER_FIELD)
    dedicated_host: str | None = field(default=None, metadata=LATER_FIELD)  # a PowerVS backup VM's host (S1)
    extra: Extra = ()


@dataclass(frozen=True)
class Site:
    name: str
    sitetype: str | None = None  # on-prem: ACTIVE / BACKUP (INFERRED rendering)
    region: str | None = None  # PowerVS
    workspaces: tuple[str, ...] = ()  # PowerVS
    active_workgroups: tuple[str, ...] = ()  # PowerVS
    active_host_groups: tuple[str, ...] = ()  # on-prem (INFERRED)
    extra: Extra = ()


@dataclass(frozen=True)
class Hmc:
    name: str
    site: str | None = None
    ip: str | None = None
    login: str | None = None
    managed_hosts: tuple[tuple[str, str], ...] = ()  # (host name, CEC UUID)
    extra: Extra = ()


@dataclass(frozen=True)
class Host:
    """A managed system (CEC). Identified by its UUID: the same physical
    recovery host seen by two tenants' KSYS nodes has the same UUID."""

    name: str
    uuid: str | None = None
    site: str | None = None
    pair: str | None = None
    state: str | None = None  # HMC state of the CEC, e.g. Operating (INFERRED field)
    fsp_id: str | None = None
    vios: tuple[str, ...] = ()
    hmcs: tuple[str, ...] = ()
    # INFERRED keys (no public sample of `query host` prints a size): the managed system's
    # memory in GB and processors in cores, as printed; what the capacity model sizes it by
    memory_capacity: str | None = field(default=None, metadata=LATER_FIELD)
    processors: str | None = field(default=None, metadata=LATER_FIELD)
    extra: Extra = ()


@dataclass(frozen=True)
class HostGroup:
    name: str
    site: str | None = None
    active_hosts: tuple[str, ...] = ()
    backup_hosts: tuple[str, ...] = ()
    memory_capacity: str | None = None
    cpu_capacity: str | None = None
    skip_power_on: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class StorageAgent:
    name: str
    serialnumber: str | None = None
    storagetype: str | None = None
    site: str | None = None
    login: str | None = None
    ip: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class DiskGroup:
    name: str | None = None  # on-prem disk group name
    workgroup: str | None = None  # PowerVS: WGName
    cg_name: str | None = None
    cg_state: str | None = None
    progress: float | None = None  # percent, as printed
    site: str | None = None
    active_site: str | None = None
    host_group: str | None = None
    disk_pairs: tuple[str, ...] = ()
    home_workspace: str | None = None
    backup_workspace: str | None = None
    active_workspace: str | None = None
    volume_disk_group: str | None = None
    # INFERRED key (no source prints one): the time of the last consistent image
    # on the target (the storage's "freeze time"), as printed; what RPO is measured from
    consistent_at: str | None = field(default=None, metadata=LATER_FIELD)
    extra: Extra = ()


@dataclass(frozen=True)
class DiskPair:
    source: str
    target: str | None = None
    state: str | None = None
    disk_group: str | None = None
    source_agent: str | None = None
    target_agent: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class Disk:
    """PowerVS ``query disk vm=<vm>``: the disks of one VM and their replication."""

    vm: str
    partner_vm: str | None = None
    cg_name: str | None = None
    cg_state: str | None = None
    progress: float | None = None
    disk_ids: tuple[str, ...] = ()  # "source -> target" or "id -> Unmanaged"
    # ``Volume Details:`` table rows (volume pair, replication state, progress
    # percent as printed), after a disk was unmanaged [S1]
    volumes: tuple[tuple[str, str, str], ...] = ()
    consistent_at: str | None = field(default=None, metadata=LATER_FIELD)  # INFERRED, as DiskGroup.consistent_at
    extra: Extra = ()


@dataclass(frozen=True)
class Workgroup:
    name: str
    id: str | None = None
    vms: tuple[str, ...] = ()
    partner_vm: str | None = None
    state: str | None = None
    dr_test_state: str | None = None
    priority: str | None = None
    skip_auto_resync: str | None = None
    home_workspace: str | None = None
    backup_workspace: str | None = None
    active_workspace: str | None = None
    home_site: str | None = None
    active_site: str | None = None
    networks: tuple[str, ...] = ()
    rehearsal_networks: tuple[str, ...] = ()
    cg_name: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class KsysEvent:
    """One KSYS event. From the tabular catalogue only name/type/description are
    known; occurrences (record form) also carry time, resource and id (INFERRED)."""

    name: str
    type: str | None = None  # error / warning / info
    description: str | None = None
    time: str | None = None
    resource: str | None = None
    event_id: str | None = None
    # where the event was read: None = ksysmgr ``query event`` over SSH,
    # REST_SOURCE = the DR Automation service's event list
    source: str | None = None
    extra: Extra = ()


REST_SOURCE = "DR Automation service"
SSH_SOURCE = "ksysmgr over SSH"


@dataclass(frozen=True)
class ManagedVm:
    """One VM as the DR Automation service lists it (``dr_managed_vms``, §6.1)."""

    vm_id: str
    vm_name: str
    core: str | None = None  # processor cores, as sent
    memory: str | None = None  # GB, as sent
    dr_average_time: str | None = None  # average DR (move) time, as sent (INFERRED unit: seconds)
    region: str | None = None
    dr_region: str | None = None
    workgroup: str | None = None
    workspace: str | None = None
    # INFERRED (not in the public API): the last consistent point of the VM's
    # replicated volumes, as sent (ISO 8601), where the service gives one
    last_consistent_time: str | None = field(default=None, metadata=LATER_FIELD)


@dataclass(frozen=True)
class ServiceStatus:
    """The service instance's state (``last_operation`` = ServiceInstanceStatus,
    and the summary's ``orchestrator_details`` / ``service_details``, §6.1)."""

    status: str | None = None  # service instance: active, provision-in-progress, failed, ...
    primary_status: str | None = None  # primary orchestrator: ACTIVE, ...
    standby_status: str | None = None  # standby orchestrator (HA): Active / Failed
    orchestrator_ha: bool | None = None
    config_status: str | None = None  # KSYS-DISCOVERY-SUCCESS
    cluster_message: str | None = None  # "ksys is running fine"
    connectivity: str | None = None  # orch_ext_connectivity_status: Active / Inactive
    deployment_name: str | None = None
    plan_name: str | None = None
    recovery_location: str | None = None
    primary_description: str | None = None
    standby_description: str | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    """``ksysmgr query snapshot filepath=…``: the contents header of a
    configuration snapshot and its sections (``Cluster:`` ...)."""

    file: str | None = None
    vmrm_version: str | None = None
    date: str | None = None  # YYYY-MM-DD; None where the node prints 0000-00-00
    time: str | None = None
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (title, (key, value) pairs)

    def section(self, title: str) -> dict[str, str]:
        for name, pairs in self.sections:
            if name == title:
                return dict(pairs)
        return {}


@dataclass(frozen=True)
class NotifyConfig:
    contacts: tuple[tuple[str, str], ...] = ()  # (user, contact)
    scripts: tuple[tuple[str, str], ...] = ()  # (script path, event)
    extra: Extra = ()  # keys of `query notify` records we do not know


@dataclass(frozen=True)
class SystemAttributes:
    """``query system``: attribute name → value lines (multi-valued fields such
    as ``Region`` keep one entry per printed line)."""

    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    header: str | None = None  # e.g. "System-Wide Persistent Attributes"

    def get(self, key: str) -> str | None:
        for name, values in self.attributes:
            if name == key:
                return "\n".join(values)
        return None

    def values(self, *keys: str) -> tuple[str, ...]:
        """The value lines of the first of ``keys`` present, matched without
        case, spaces or ``_`` (``Region``/``Regions``); () when none is."""
        wanted = [_norm(k) for k in keys]
        for want in wanted:
            for name, values in self.attributes:
                if _norm(name) == want:
                    return values
        return ()

    def value(self, *keys: str) -> str | None:
        vals = self.values(*keys)
        return " ".join(v for v in vals if v).strip() or None if vals else None

    @property
    def regions(self) -> tuple[str, ...]:
        """PowerVS region pairs or regions: ``Region:`` pairs (``dal10 - wdc07``)
        or a ``Regions:`` list, one per line (docs disagree across versions)."""
        return tuple(v for v in self.values("Region", "Regions") if v)

    @property
    def satellite_locations(self) -> tuple[str, ...]:
        """Private cloud (IBM_PVS_PRIVATE_DR): ``SatelliteLocations:`` list."""
        return tuple(v for v in self.values("SatelliteLocations", "SatelliteLocation") if v)


def _norm(key: str) -> str:
    return key.lower().replace(" ", "").replace("_", "")


@dataclass(frozen=True)
class Cluster:
    name: str
    state: str | None = None
    type: str | None = None
    ksysnodes: tuple[str, ...] = ()  # "<node>:<number>:<state>"
    ksys_state: tuple[str, ...] = ()
    extra: Extra = ()


@dataclass(frozen=True)
class Version:
    ksysmgr_version: str
    ksys_version: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class SystemReport:
    """``ksysmgr [-v] report system``."""

    messages: tuple[str, ...] = ()  # leading status lines ("KSYS is ready ...")
    ksysmgr_version: str | None = None
    ksys_version: str | None = None
    status: str | None = None
    counts: tuple[tuple[str, str], ...] = ()  # ("Number of sites", "2"), ("Total managed memory", "40960.00 MB")
    environment: tuple[str, ...] = ()  # -v tree, lines as printed (stripped of trailing space)


@dataclass(frozen=True)
class ProgressLine:
    """One line of discover / verify / move / cleanup / resync output."""

    message: str
    time: str | None = None  # HH:MM:SS when the node printed one
    depth: int = 0  # 0 = operation level, 1 = nested step (indented)
    # Classification of the message (filled by the parser; None when unknown):
    step: str | None = None  # e.g. "Discovery", "Backup VM creation", "Boot up"
    phase: str | None = None  # started / completed / failed / in_progress / finished
    entity_kind: str | None = None  # VM / Workgroup / Site / Host_Group / Host
    entity: str | None = None
    detail: str | None = None  # text after the entity, e.g. "Verification has failed for VM x: <reason>"
    extra: Extra = field(default=())


@dataclass(frozen=True)
class ProgressSummary:
    """``N out of M managed VMs have been successfully <verb>``."""

    succeeded: int
    total: int
    verb: str  # discovered / verified / moved / ...
