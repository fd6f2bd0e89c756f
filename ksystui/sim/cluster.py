"""The mutable in-memory state of one simulated KSYS cluster, and its
conversion to the frozen model objects that ksysmgr output is rendered from."""

from __future__ import annotations

import itertools
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ksystui.core import lifecycle, model
from ksystui.core.events import event_def
from ksystui.sim.scenario import NodeSpec

_NS = uuidlib.UUID("6f1c0c2e-4b7a-4d0e-9a51-7e3c2b1d0f99")


def stamp(when: datetime | None) -> str | None:
    """A time as the simulated KSYS prints it: ISO 8601 UTC, whole seconds
    (INFERRED: the format of its event times)."""
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _printed(value: float | None) -> str | None:
    """A number as ksysmgr prints a size or a percentage: ``512``, ``17.5``."""
    return None if value is None else f"{value:g}"


def _dedicated_host(host: SimHost | None) -> str | None:
    return host.name if host is not None else None


def stable_uuid(*parts: str) -> str:
    """Deterministic UUIDs so a scenario looks the same on every run."""
    return str(uuidlib.uuid5(_NS, "/".join(parts)))


@dataclass
class SimSite:
    name: str
    sitetype: str  # active / backup
    region: str | None = None
    workspaces: list[str] = field(default_factory=list)

    @property
    def workspace(self) -> str | None:
        """The site's (first) PowerVS workspace, as ``query vm`` names it."""
        return self.workspaces[0] if self.workspaces else None


@dataclass
class SimHmc:
    name: str
    site: str
    ip: str
    login: str


@dataclass
class SimHost:
    name: str
    site: str
    uuid: str
    hmc: str | None
    pair: str | None
    vios: list[str]
    state: str = "Operating"
    # the managed system's size (None: not given, unlimited); the world fills a shared host's
    # size from whichever node of the scenario gives it
    memory_gb: float | None = None
    processors: float | None = None


@dataclass
class SimStorageAgent:
    name: str
    site: str
    storagetype: str
    serialnumber: str
    ip: str
    login: str


@dataclass
class SimVm:
    name: str
    uuid: str
    host: str | None  # on-prem: where it runs now
    site: str  # where it runs now
    state: str
    priority: str
    memory_gb: float
    processors: float
    ip: str | None
    disks: int
    networks: list[str] = field(default_factory=list)
    workspace: str | None = None
    system_type: str | None = None
    status: str = "ACTIVE"
    dr_test_state: str = lifecycle.DR_TEST_INITIAL
    cleanup_pending: bool = False  # after an unplanned move, until `cleanup site`
    # flexible capacity: percentages of its size it boots with on the recovery side (None: 100)
    target_flex_mem: int | None = None
    target_flex_cpu: int | None = None
    # PowerVS: the hold of its shut-off backup VM on the DR side (GB, cores)
    inactive_vm_mem: float | None = None
    inactive_vm_cpu: float | None = None
    clone_on: str | None = None  # the host its DR-test clone runs on (booted, not yet cleaned up)

    def set_state(self, state: str) -> None:
        self.state = state


@dataclass
class SimDiskPair:
    source: str
    target: str
    vm: str


@dataclass
class SimDiskGroup:
    name: str
    cg_name: str
    site: str  # the site replicating FROM (the active site)
    pairs: list[SimDiskPair]
    cg_state: str = "consistent_synchronized"
    progress: float = 100.0
    # the last consistent image on the target while the copy is behind or stopped
    # (None: in sync); printed as LastConsistentTime (INFERRED key)
    consistent_at: datetime | None = None

    def set_copy(self, cg_state: str, progress: float, consistent_at: datetime | None = None) -> None:
        """A new copy state; a copy back in sync (or started afresh) has no old consistent point."""
        self.cg_state, self.progress, self.consistent_at = cg_state, progress, consistent_at

    def consistent_point(self) -> datetime | None:
        """The consistent point the node prints: none while in sync."""
        return None if self.cg_state == "consistent_synchronized" else self.consistent_at


@dataclass
class SimEvent:
    id: str
    name: str
    type: str
    description: str
    time: datetime
    resource: str | None

    def to_model(self) -> model.KsysEvent:
        return model.KsysEvent(
            name=self.name,
            type=self.type,
            description=self.description,
            time=self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            resource=self.resource,
            event_id=self.id,
        )


class ClusterState:
    """Everything one KSYS node knows about its cluster."""

    def __init__(self, spec: NodeSpec):
        self.spec = spec
        self.flavour = model.Flavour(spec.flavour)
        self.sites = {s.name: SimSite(s.name, s.sitetype, s.region, list(s.workspaces)) for s in spec.sites}
        self.hmcs = {h.name: SimHmc(h.name, h.site, h.ip, h.login) for h in spec.hmcs}
        self.hosts = {
            h.name: SimHost(h.name, h.site, h.uuid, h.hmc, h.pair, list(h.vios),
                            memory_gb=h.memory_gb, processors=h.processors)
            for h in spec.hosts
        }
        # pairing is symmetric: pbrazos <-> snorlax
        for h in list(self.hosts.values()):
            if h.pair:
                self.hosts[h.pair].pair = h.name
        self.storage_agents = {
            a.name: SimStorageAgent(a.name, a.site, a.storagetype, a.serialnumber, a.ip, a.login)
            for a in spec.storage_agents
        }
        active = self.active_site().name
        self.home_site = active  # where the VMs run at load: flexible capacity applies away from it
        self.vms: dict[str, SimVm] = {}
        for v in spec.vms:
            self.vms[v.name] = SimVm(
                name=v.name,
                uuid=stable_uuid(spec.name, "vm", v.name),
                host=v.host,
                site=active,
                state=v.state,
                priority=v.priority,
                memory_gb=v.memory_gb,
                processors=v.processors,
                ip=v.ip,
                disks=v.disks,
                networks=list(v.networks),
                workspace=v.workspace,
                system_type=v.system_type,
                target_flex_mem=v.target_flex_mem,
                target_flex_cpu=v.target_flex_cpu,
                inactive_vm_mem=v.inactive_vm_mem,
                inactive_vm_cpu=v.inactive_vm_cpu,
            )
        self.disk_groups: dict[str, SimDiskGroup] = {}
        if any(vm.state not in (lifecycle.MANAGED, lifecycle.UNMANAGED) for vm in self.vms.values()):
            self.build_disk_groups()
        self.events: list[SimEvent] = []
        self._event_ids = itertools.count(1)
        self.system: dict[str, str] = {
            "auto_discovery_time": spec.auto_discovery_time,
            "notification_level": "low",
            "dup_event_processing": "yes",
            "lose_vios_redundancy": "no",
            "auto_reverse_mirror": "yes",
            "replication_type": "async",
            "quick_discovery_interval": "60",
            "quick_discovery": "enable",
            "deep_discovery": "enable",
            "cleanup_files_interval": "7",
            "custom_script_timeout": "none",
            "staticipenable": "default",
        }
        self.notify_contacts: list[tuple[str, str]] = [("root", f"dr-oncall@{spec.tenant.lower()}.example")]
        self.notify_scripts: list[tuple[str, str]] = []
        self.last_operation: dict | None = None

    # --- topology ----------------------------------------------------------
    def active_site(self) -> SimSite:
        return next(s for s in self.sites.values() if s.sitetype == lifecycle.ACTIVE_SITE)

    def backup_site(self) -> SimSite:
        return next(s for s in self.sites.values() if s.sitetype == lifecycle.BACKUP_SITE)

    def managed_vms(self, site: str | None = None) -> list[SimVm]:
        return [
            v for v in self.vms.values()
            if v.state != lifecycle.UNMANAGED and (site is None or v.site == site)
        ]

    def running_host(self, vm: SimVm) -> SimHost | None:
        """The host a VM runs on now: on-prem its host; PowerVS the dedicated
        host of the site it is active on, if that workspace has one."""
        if self.flavour is model.Flavour.POWERVS:
            return next((h for h in self.hosts.values() if h.site == vm.site), None)
        return self.hosts.get(vm.host) if vm.host else None

    def target_host(self, vm: SimVm) -> SimHost | None:
        """The host a VM restarts on at the other site (its host's pair)."""
        if vm.host is None or self.flavour is model.Flavour.POWERVS:
            # PowerVS: the other workspace's dedicated host, if one is configured
            backup = [h for h in self.hosts.values() if h.site != vm.site]
            return backup[0] if backup else None
        host = self.hosts.get(vm.host)
        if host is None or host.pair is None:
            return None
        return self.hosts.get(host.pair)

    def build_disk_groups(self) -> None:
        """One disk group per site pair, one disk pair per VM disk (what
        discovery creates on the storage agents)."""
        active = self.active_site().name
        local = next((a for a in self.storage_agents.values() if a.site == active), None)
        remote = next((a for a in self.storage_agents.values() if a.site != active), None)
        cluster = self.spec.cluster
        if self.flavour is model.Flavour.POWERVS:
            self.disk_groups = {}
            for vm in self.vms.values():
                if vm.state == lifecycle.UNMANAGED:
                    continue
                wg = f"{vm.name}_WG"
                pairs = [
                    SimDiskPair(
                        f"volume-{vm.name}-{i}-{stable_uuid(vm.uuid, str(i))[:8]}",
                        stable_uuid(vm.uuid, "target", str(i)),
                        vm.name,
                    )
                    for i in range(vm.disks)
                ]
                self.disk_groups[wg] = SimDiskGroup(wg, "rccg-" + stable_uuid(wg)[:13], active, pairs)
            return
        name = f"VMRDG_{cluster}_{active}"
        pairs = []
        dev = 0x0A10
        for vm in self.vms.values():
            if vm.state == lifecycle.UNMANAGED:
                continue
            for _ in range(vm.disks):
                src = f"{local.serialnumber if local else 'LOCAL'}:{dev:05X}"
                tgt = f"{remote.serialnumber if remote else 'REMOTE'}:{dev + 0x1000:05X}"
                pairs.append(SimDiskPair(src, tgt, vm.name))
                dev += 1
        self.disk_groups = {name: SimDiskGroup(name, f"{cluster}_{active}_CG", active, pairs)}

    # --- events ------------------------------------------------------------
    def add_event(self, name: str, resource: str | None = None, description: str | None = None) -> SimEvent:
        d = event_def(name)
        ev = SimEvent(
            id=f"{self.spec.name}-{next(self._event_ids):06d}",
            name=name,
            type=d.type,
            description=description or d.description,
            time=datetime.now(UTC),
            resource=resource,
        )
        self.events.append(ev)
        # a KSYS keeps a bounded event history; so does the simulator
        if len(self.events) > 5000:
            del self.events[: len(self.events) - 5000]
        return ev

    # --- model views -------------------------------------------------------
    def vm_models(self) -> list[model.Vm]:
        out = []
        for v in self.vms.values():
            if v.state == lifecycle.UNMANAGED:
                out.append(model.Vm(name=v.name, state=lifecycle.UNMANAGED))
                continue
            powervs = self.flavour is model.Flavour.POWERVS
            out.append(
                model.Vm(
                    name=v.name,
                    uuid=v.uuid,
                    state=v.state,
                    dr_test_state=v.dr_test_state,
                    status=v.status,
                    host=None if powervs else v.host,
                    priority=v.priority,
                    partner=f"{v.name}_BackUp" if powervs else None,
                    active_vm=True if powervs else None,
                    ip_addresses=(v.ip,) if v.ip else (),
                    memory_capacity=f"{v.memory_gb:g}",
                    processors=f"{v.processors:g}",
                    processor_mode="shared" if powervs else None,
                    workspace=v.workspace if powervs else None,
                    networks=tuple(v.networks),
                    system_type=v.system_type,
                    target_flex_mem=_printed(v.target_flex_mem),
                    target_flex_cpu=_printed(v.target_flex_cpu),
                    inactive_vm_mem=_printed(v.inactive_vm_mem) if powervs else None,
                    inactive_vm_cpu=_printed(v.inactive_vm_cpu) if powervs else None,
                    # printed on a backup VM (S1): the record of a VM failed over onto the DR
                    # workspace's dedicated host names it (INFERRED: which record carries it)
                    dedicated_host=_dedicated_host(self.running_host(v)) if powervs else None,
                )
            )
        return out

    def site_models(self) -> list[model.Site]:
        out = []
        for s in self.sites.values():
            if self.flavour is model.Flavour.POWERVS:
                wgs = tuple(f"{v.name}_WG" for v in self.managed_vms(s.name))
                out.append(
                    model.Site(name=s.name, region=s.region, workspaces=tuple(s.workspaces), active_workgroups=wgs)
                )
            else:
                out.append(model.Site(name=s.name, sitetype=s.sitetype.upper()))
        return out

    def host_models(self) -> list[model.Host]:
        return [
            model.Host(
                name=h.name,
                uuid=h.uuid,
                site=h.site,
                pair=h.pair,
                state=h.state,
                vios=tuple(h.vios),
                hmcs=(h.hmc,) if h.hmc else (),
                memory_capacity=_printed(h.memory_gb),
                processors=_printed(h.processors),
            )
            for h in self.hosts.values()
        ]

    def hmc_models(self) -> list[model.Hmc]:
        return [
            model.Hmc(
                name=m.name,
                site=m.site,
                ip=m.ip,
                login=m.login,
                managed_hosts=tuple((h.name, h.uuid) for h in self.hosts.values() if h.hmc == m.name),
            )
            for m in self.hmcs.values()
        ]

    def storage_agent_models(self) -> list[model.StorageAgent]:
        return [
            model.StorageAgent(
                name=a.name, serialnumber=a.serialnumber, storagetype=a.storagetype, site=a.site, login=a.login, ip=a.ip
            )
            for a in self.storage_agents.values()
        ]

    def disk_group_models(self) -> list[model.DiskGroup]:
        out = []
        for dg in self.disk_groups.values():
            if self.flavour is model.Flavour.POWERVS:
                active = self.sites[dg.site]
                out.append(
                    model.DiskGroup(
                        workgroup=dg.name,
                        cg_name=dg.cg_name,
                        cg_state=dg.cg_state,
                        progress=round(dg.progress, 2),
                        home_workspace=self.active_site().workspace,
                        backup_workspace=self.backup_site().workspace,
                        active_workspace=active.workspace,
                        active_site=dg.site,
                        volume_disk_group=f"{dg.name}_VG <-> {dg.cg_name}",
                        consistent_at=stamp(dg.consistent_point()),
                    )
                )
            else:
                out.append(
                    model.DiskGroup(
                        name=dg.name,
                        cg_name=dg.cg_name,
                        cg_state=dg.cg_state,
                        progress=round(dg.progress, 2),
                        site=dg.site,
                        active_site=dg.site,
                        disk_pairs=tuple(f"{p.source} <-> {p.target}" for p in dg.pairs),
                        consistent_at=stamp(dg.consistent_point()),
                    )
                )
        return out

    def disk_pair_models(self) -> list[model.DiskPair]:
        return [
            model.DiskPair(source=p.source, target=p.target, state=dg.cg_state, disk_group=dg.name)
            for dg in self.disk_groups.values()
            for p in dg.pairs
        ]

    def workgroup_models(self) -> list[model.Workgroup]:
        out = []
        home = self.spec.sites[0].name if self.spec.sites[0].sitetype == lifecycle.ACTIVE_SITE else self.spec.sites[1].name
        for i, v in enumerate(self.managed_vms(), start=1):
            wg = f"{v.name}_WG"
            dg = self.disk_groups.get(wg)
            site = self.sites[v.site]
            other = next(s for s in self.sites.values() if s.name != v.site)
            out.append(
                model.Workgroup(
                    name=wg,
                    id=str(i),
                    vms=(v.name,),
                    partner_vm=f"{v.name}_BackUp",
                    state=v.state,
                    dr_test_state=v.dr_test_state,
                    priority=v.priority,
                    skip_auto_resync="OFF",
                    home_workspace=self.sites[home].workspace,
                    backup_workspace=other.workspace if v.site == home else (
                        site.workspace
                    ),
                    active_workspace=site.workspace,
                    home_site=home,
                    active_site=v.site,
                    networks=tuple(f"{n} <-> {n}" for n in v.networks),
                    cg_name=dg.cg_name if dg else None,
                )
            )
        return out

    def disk_models(self, vm_name: str) -> list[model.Disk]:
        dg = self.disk_groups.get(f"{vm_name}_WG")
        if dg is None:
            return []
        return [
            model.Disk(
                vm=vm_name,
                partner_vm=f"{vm_name}_BackUp",
                cg_name=dg.cg_name,
                cg_state=dg.cg_state,
                progress=round(dg.progress, 2),
                consistent_at=stamp(dg.consistent_point()),
                disk_ids=tuple(f"{p.source} -> {p.target}" for p in dg.pairs),
            )
        ]
