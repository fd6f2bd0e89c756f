"""The known keys of every ksysmgr record kind, shared by parse.py and render.py.

Key spellings and orders follow the verbatim S1 samples (ksys-reference §2.2,
§2.3) where they exist; the on-prem kinds follow the INFERRED templates of
§2.5 and are flagged below. ``aliases`` list other spellings seen in real
output; matching ignores case, spaces and underscores anyway.
"""

from __future__ import annotations

from ksystui.core.ksysmgr.records import norm_key
from ksystui.core.ksysmgr.schema import RecordSchema, Shape, Spec
from ksystui.core.model import (
    CG_STATES,
    DR_TEST_STATES,
    EVENT_TYPES,
    VM_STATES,
    Cluster,
    Disk,
    DiskGroup,
    DiskPair,
    Hmc,
    Host,
    HostGroup,
    KsysEvent,
    Site,
    StorageAgent,
    Version,
    Vm,
    Workgroup,
)

N, L = Shape.NAMES, Shape.LINES

# Value column 22 (key and colon padded to 21), as `query vm`/`query workgroup`/
# `query disk_group` print it (S1); `query system` puts values at column 30.
WIDTH = 21
SYSTEM_WIDTH = 29

VM = RecordSchema(
    Vm,
    [
        Spec("Name", "name", required=True),
        Spec("UUID", "uuid"),
        Spec("Host", "host"),  # INFERRED: on-prem template only (ksys-reference §2.5)
        Spec("State", "state", states=VM_STATES, required=True),
        Spec("Dr Test State", "dr_test_state", states=DR_TEST_STATES),
        Spec("Status", "status"),
        Spec("Priority", "priority"),  # INFERRED: on-prem template only (ksys-reference §2.5)
        Spec("Partner", "partner"),
        Spec("SourceVM", "source_vm"),
        Spec("CloneVM", "clone_vm"),
        Spec("ActiveVM", "active_vm", Shape.YESNO),
        Spec("IPAddresses", "ip_addresses", N),
        Spec("memory_capacity", "memory_capacity"),
        Spec("Processors", "processors"),
        Spec("ProcessorMode", "processor_mode"),
        Spec("WorkSpace", "workspace"),
        Spec("Networks", "networks", N),
        Spec("SystemType", "system_type"),
        Spec("Dedicated_Host", "dedicated_host"),
        Spec("Target_Flex_Mem", "target_flex_mem"),
        Spec("Target_Flex_Cpu", "target_flex_cpu"),
        Spec("Inactive_VM_Cpu", "inactive_vm_cpu"),
        Spec("Inactive_VM_Mem", "inactive_vm_mem"),
    ],
)
# INFERRED: (ksys-reference §2.5) the on-prem `query vm` leads with Host and Priority.
VM_ONPREM_ORDER = (
    "Name", "UUID", "Host", "State", "Priority", "Dr Test State", "Status", "Partner",
    "SourceVM", "CloneVM", "ActiveVM", "IPAddresses", "memory_capacity", "Processors",
    "ProcessorMode", "WorkSpace", "Networks", "SystemType", "Dedicated_Host",
    "Target_Flex_Mem", "Target_Flex_Cpu", "Inactive_VM_Cpu", "Inactive_VM_Mem",
)  # fmt: skip
VM_SECTIONS = frozenset({norm_key("Unmanaged VMs"), norm_key("All VMs")})

SITE = RecordSchema(
    Site,
    [
        Spec("Name", "name", required=True),
        Spec("Region", "region"),
        Spec("Workspaces", "workspaces", N),
        Spec("ActiveWorkgroups", "active_workgroups", N),
        Spec("Sitetype", "sitetype"),  # INFERRED: §2.5 template
        Spec("Active Host_groups", "active_host_groups", N),  # INFERRED: §2.5 template
    ],
)
SITE_ONPREM_ORDER = (
    "Name",
    "Sitetype",
    "Active Host_groups",
    "Region",
    "Workspaces",
    "ActiveWorkgroups",
)
# Printed after the PowerVS `query site` list (S1, verbatim).
SITE_NOTE = (
    "Note: Active indicates the site where a WorkGroup's VMs are running. The same WorkGroup"
    " cannot be active on both sites, but others can be."
)

# INFERRED: (ksys-reference §2.5) the whole on-prem `query host` layout.
HOST = RecordSchema(
    Host,
    [
        Spec("Name", "name", required=True),
        Spec("UUID", "uuid"),
        Spec("FspID", "fsp_id"),
        Spec("Pair", "pair"),
        Spec("Site", "site"),
        Spec("State", "state"),
        Spec("VIOS", "vios", N),
        Spec("HMCs", "hmcs", N),
        Spec("memory_capacity", "memory_capacity"),  # INFERRED key: GB, as a VM's
        Spec("Processors", "processors"),  # INFERRED key: cores, as a VM's
    ],
)

# INFERRED: (ksys-reference §2.5) the whole on-prem `query hmc` layout, sub-table included.
HMC = RecordSchema(
    Hmc,
    [
        Spec("Name", "name", required=True),
        Spec("Site", "site"),
        Spec("Ip", "ip"),
        Spec("Login", "login"),
    ],
)
HMC_TABLE_KEY = "Managed Host List"
HMC_TABLE_HEADER = ("Host Name", "Uuid")
HMC_TABLE_WIDTH = 34

# INFERRED: (ksys-reference §2.5) the whole on-prem `query host_group` layout.
HOST_GROUP = RecordSchema(
    HostGroup,
    [
        Spec("Name", "name", required=True),
        Spec("Active Site Hosts", "active_hosts", N),
        Spec("Backup Site Hosts", "backup_hosts", N),
        Spec("Site", "site"),
        Spec("memory_capacity", "memory_capacity"),
        Spec("cpu_capacity", "cpu_capacity"),
        Spec("skip_power_on", "skip_power_on"),
    ],
)

# INFERRED: (ksys-reference §2.5) the whole on-prem `query storage_agent` layout.
STORAGE_AGENT = RecordSchema(
    StorageAgent,
    [
        Spec("Name", "name", required=True),
        Spec("Serialnumber", "serialnumber"),
        Spec("Storagetype", "storagetype"),
        Spec("Site", "site"),
        Spec("Login", "login", aliases=("User",)),
        Spec("IP", "ip"),
    ],
)

# INFERRED: no source prints a consistent point of the copy; the aliases are the storage's
# own names for it (Spectrum Virtualize Global Mirror with Change Volumes: ``freeze_time``)
# (matching ignores case, spaces and underscores: "Freeze Time" is "FreezeTime")
CONSISTENT_ALIASES = ("LastConsistentPoint", "FreezeTime")

DISK_GROUP = RecordSchema(
    DiskGroup,
    [
        Spec("WGName", "workgroup"),
        Spec("Name", "name"),
        Spec("CGName", "cg_name"),
        Spec("CGState", "cg_state", states=CG_STATES),
        Spec("Progress", "progress", Shape.NUMBER),
        Spec("HomeWorkSpace", "home_workspace"),
        Spec("BackupWorkSpace", "backup_workspace"),
        Spec("ActiveWorkspace", "active_workspace"),
        Spec("Active Site", "active_site"),
        Spec("VolumeDiskGroup", "volume_disk_group"),
        Spec("Site", "site"),  # INFERRED: (ksys-reference §2.5) on-prem disk groups
        Spec("Host_Group", "host_group"),  # INFERRED: §2.5 template
        Spec("Disk Pairs", "disk_pairs", L),  # INFERRED: §2.5 template
        Spec("LastConsistentTime", "consistent_at", aliases=CONSISTENT_ALIASES),
    ],
)
# INFERRED: (ksys-reference §2.5) on-prem disk groups: name, site, host group, pairs.
DISK_GROUP_ONPREM_ORDER = (
    "Name", "WGName", "Site", "Host_Group", "Active Site", "CGName", "CGState", "Progress",
    "LastConsistentTime", "Disk Pairs", "HomeWorkSpace", "BackupWorkSpace", "ActiveWorkspace", "VolumeDiskGroup",
)  # fmt: skip

# INFERRED: (ksys-reference §2.5) the docs only say "<source> <-> <target>, grouped per storage
# agent pair"; we print one record per pair.
DISK_PAIR = RecordSchema(
    DiskPair,
    [
        Spec("Source Disk", "source", required=True),
        Spec("Target Disk", "target"),
        Spec("State", "state", states=CG_STATES),
        Spec("Disk Group", "disk_group"),
        Spec("Source Agent", "source_agent"),
        Spec("Target Agent", "target_agent"),
    ],
)

# `VM:` holds "<vm> <-> <partner>"; parse.py splits it into vm / partner_vm.
DISK = RecordSchema(
    Disk,
    [
        Spec("VM", "vm", required=True),
        Spec("CGName", "cg_name"),
        Spec("CGState", "cg_state", states=CG_STATES),
        Spec("Progress", "progress", Shape.NUMBER),
        Spec("LastConsistentTime", "consistent_at", aliases=CONSISTENT_ALIASES),  # INFERRED, as in DISK_GROUP
        Spec("DiskIDs", "disk_ids", L),
    ],
)

WORKGROUP = RecordSchema(
    Workgroup,
    [
        Spec("Name", "name", required=True),
        Spec("ID", "id"),
        Spec("VMs", "vms", N),
        Spec("PartnerVM", "partner_vm"),
        Spec("State", "state", states=VM_STATES),
        Spec("Dr Test State", "dr_test_state", states=DR_TEST_STATES),
        Spec("Priority", "priority"),
        Spec("SkipAutoResync", "skip_auto_resync"),
        Spec("HomeWorkSpace", "home_workspace"),
        Spec("BackupWorkSpace", "backup_workspace"),
        Spec("ActiveWorkspace", "active_workspace"),
        Spec("Home Site", "home_site"),
        Spec("Active Site", "active_site"),
        Spec("Networks", "networks", L),
        Spec("RehearsalNetworks", "rehearsal_networks", L),
        Spec("CGName", "cg_name"),
    ],
)

# Record form (S1 "Event query example"); Time/Resource/Event ID are INFERRED
# occurrence fields (no source shows an event occurrence on the CLI).
EVENT = RecordSchema(
    KsysEvent,
    [
        Spec("Event Name", "name", required=True),
        Spec("Event Type", "type", states=EVENT_TYPES),
        Spec("Description", "description"),
        Spec("Time", "time"),  # INFERRED: occurrence field, no source shows one
        Spec("Resource", "resource"),  # INFERRED: occurrence field, no source shows one
        Spec("Event ID", "event_id"),  # INFERRED: occurrence field, no source shows one
    ],
)

CLUSTER = RecordSchema(
    Cluster,
    [
        Spec("Name", "name", required=True),
        Spec("State", "state"),
        Spec("Type", "type"),
        Spec("Ksysnodes", "ksysnodes", N),
        Spec("KsysState", "ksys_state", N),
    ],
)

VERSION = RecordSchema(
    Version,
    [
        Spec("Ksysmgr version", "ksysmgr_version", required=True),
        Spec("Ksys version", "ksys_version"),
    ],
)
