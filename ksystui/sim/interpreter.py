"""The ksysmgr interpreter of a simulated node: queries and configuration
changes answer at once; long operations go to ``operations``.

Error texts marked INFERRED are not public; exit statuses are (RC_* in the
grammar module).
"""

from __future__ import annotations

import re

from ksystui.core import lifecycle
from ksystui.core.ksysmgr import render
from ksystui.core.ksysmgr.grammar import (
    RC_ERROR,
    RC_INCORRECT_INPUT,
    RC_MISSING_INPUT,
    RC_NOT_FOUND,
    RC_SUCCESS,
    KsysmgrCommand,
    usage_text,
)
from ksystui.core.model import (
    Cluster,
    Flavour,
    KsysEvent,
    NotifyConfig,
    SystemAttributes,
    SystemReport,
    Version,
)
from ksystui.sim import operations
from ksystui.sim.cluster import stable_uuid
from ksystui.sim.ports import BUSY_MESSAGE, CommandIO, NodeView

ONPREM_ONLY = {"hmc", "host", "host_group", "storage_agent", "disk_pair"}
POWERVS_ONLY = {"workgroup", "workspace", "disk", "network"}


async def execute(node: NodeView, cmd: KsysmgrCommand, io: CommandIO) -> int:
    klass = cmd.klass or ""
    if node.flavour is Flavour.ONPREM and klass in POWERVS_ONLY:
        return await _refuse(io, f"ERROR: class {klass} is not supported for cluster type DR", RC_INCORRECT_INPUT)
    if node.flavour is Flavour.POWERVS and klass in ONPREM_ONLY:
        return await _refuse(
            io, f"ERROR: class {klass} is not supported for cluster type IBM_PVS_DR", RC_INCORRECT_INPUT
        )
    if cmd.action == "query":
        return await _query(node, cmd, io)
    if cmd.action == "report":
        return await _emit(node, cmd, io, render.render_report(_report(node, cmd.verbose), cmd.verbose))
    if cmd.action == "modify" and klass == "system":
        return await _modify_system(node, cmd, io)
    if cmd.action in ("discover", "verify", "move", "cleanup", "recover", "resync"):
        return await operations.run(node, cmd, io)
    if cmd.action == "pair" and klass == "host":
        return await _pair_host(node, cmd, io)
    if cmd.action in ("manage", "unmanage") and klass == "vm":
        return await _manage_vm(node, cmd, io)
    # INFERRED wording: the simulator does not change configuration by other commands
    return await _refuse(
        io,
        f"ERROR: \"ksysmgr {cmd.action} {klass}\" is not simulated; change the scenario file instead",
        RC_ERROR,
    )


async def _refuse(io: CommandIO, message: str, rc: int, usage: str = "") -> int:
    await io.write_err(message + "\n")
    if usage:
        await io.write_err(usage)
    return rc


async def _emit(node: NodeView, cmd: KsysmgrCommand, io: CommandIO, text: str) -> int:
    if cmd.only:
        text = filter_attributes(text, cmd.only)
    if node.world.faults.malformed_output(node.name):
        text = garble(text)
    await io.write(text)
    return RC_SUCCESS


def filter_attributes(text: str, only: tuple[str, ...]) -> str:
    """``-a name,sitetype``: keep only the listed keys of each record
    (continuation lines follow their key; blank separators stay)."""
    wanted = {o.lower().replace(" ", "").replace("_", "") for o in only}
    out: list[str] = []
    keep = False
    for line in text.splitlines():
        if not line.strip():
            out.append(line)
            keep = False
            continue
        if line[0].isspace():
            if keep:
                out.append(line)
            continue
        key = line.split(":", 1)[0].lower().replace(" ", "").replace("_", "")
        keep = ":" in line and key in wanted
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def garble(text: str) -> str:
    """The malformed_output fault: a record cut in half and binary noise, as a
    broken pipe or a corrupted terminal capture would give."""
    cut = max(1, len(text) // 2)
    return text[:cut] + "\x00\x1b[?\ufffd\x07garbled\n"


async def _query(node: NodeView, cmd: KsysmgrCommand, io: CommandIO) -> int:
    s = node.state
    k = cmd.klass
    if k == "vm":
        vms = s.vm_models()
        want = cmd.attr("state")
        if want not in (None, "manage", "unmanage"):
            return await _refuse(io, f"ERROR: invalid value \"{want}\" for state", RC_INCORRECT_INPUT,
                                 usage_text("query", "vm"))
        if want == "manage":
            vms = [v for v in vms if v.state != lifecycle.UNMANAGED]
        elif want == "unmanage":
            vms = [v for v in vms if v.state == lifecycle.UNMANAGED]
        if cmd.names:
            by = {v.name: v for v in vms} | {v.uuid: v for v in vms if v.uuid}
            missing = [n for n in cmd.names if n not in by]
            if missing:
                return await _refuse(io, f"ERROR: VM {missing[0]} does not exist", RC_NOT_FOUND)
            vms = [by[n] for n in cmd.names]
        return await _emit(node, cmd, io, _cached(node, ("vm", cmd.names, want), vms,
                                                  lambda xs: render.render_vms(xs, node.flavour)))
    if k == "site":
        return await _named(node, cmd, io, s.site_models(), lambda xs: render.render_sites(xs, node.flavour), "Site")
    if k == "host":
        return await _named(node, cmd, io, s.host_models(), render.render_hosts, "Host")
    if k == "hmc":
        return await _named(node, cmd, io, s.hmc_models(), render.render_hmcs, "HMC")
    if k == "host_group":
        # The seed scenario has no host groups (the article never creates one).
        return await _named(node, cmd, io, [], render.render_host_groups, "Host_group")
    if k == "storage_agent":
        return await _named(node, cmd, io, s.storage_agent_models(), render.render_storage_agents, "Storage agent")
    if k == "disk_group":
        dgs = s.disk_group_models()
        wg = cmd.attr("wg") or cmd.attr("workgroup")
        if wg:
            dgs = [d for d in dgs if d.workgroup == wg]
        return await _emit(node, cmd, io, _cached(node, ("disk_group", wg), dgs,
                                                  lambda xs: render.render_disk_groups(xs, node.flavour)))
    if k == "disk_pair":
        return await _emit(node, cmd, io, _cached(node, ("disk_pair",), s.disk_pair_models(),
                                                  render.render_disk_pairs))
    if k == "disk":
        vm = cmd.attr("vm")
        if not vm:
            return await _refuse(io, "ERROR: vm=<vmname> is required", RC_MISSING_INPUT, usage_text("query", "disk"))
        if vm not in s.vms:
            return await _refuse(io, f"ERROR: VM {vm} does not exist", RC_NOT_FOUND)
        return await _emit(node, cmd, io, render.render_disks(s.disk_models(vm)))
    if k == "workgroup":
        wgs = s.workgroup_models()
        return await _named(node, cmd, io, wgs, render.render_workgroups, "Workgroup")
    if k == "event":
        etype = cmd.attr("type")
        if etype not in (None, "error", "warning", "info"):
            return await _refuse(io, f"ERROR: invalid event type \"{etype}\"", RC_INCORRECT_INPUT,
                                 usage_text("query", "event"))
        events: list[KsysEvent] = [e.to_model() for e in s.events if etype is None or e.type == etype]
        return await _emit(node, cmd, io, render.render_events(events))
    if k == "notify":
        cfg = NotifyConfig(contacts=tuple(s.notify_contacts), scripts=tuple(s.notify_scripts))
        return await _emit(node, cmd, io, render.render_notify(cfg))
    if k == "system":
        return await _emit(node, cmd, io, render.render_system(_system_attributes(node)))
    if k == "ksyscluster":
        state = "Online"
        ctype = "DR" if node.flavour is Flavour.ONPREM else "IBM_PVS_DR"
        c = Cluster(
            name=node.cluster_name,
            state=state,
            type=ctype,
            ksysnodes=(f"{node.name}:1:Online",),
            ksys_state=(f"{node.name}:1:Online",),
        )
        return await _emit(node, cmd, io, render.render_cluster([c]))
    if k == "version":
        v = node.spec.version
        return await _emit(node, cmd, io, render.render_version(Version(ksysmgr_version=v, ksys_version=v)))
    return await _refuse(io, f"ERROR: query {k} is not simulated", RC_ERROR)


def _cached(node: NodeView, key: tuple, models: list, renderer) -> str:
    """Render again only when the models changed. The simulator stands in for
    many machines at once; without this, rendering unchanged output for a
    hundred nodes would make the simulator, not ksystui, the bottleneck."""
    hit = node.render_cache.get(key)
    if hit is not None and hit[0] == models:
        return hit[1]
    text = renderer(models)
    node.render_cache[key] = (models, text)
    return text


async def _named(node, cmd, io, items, renderer, label: str) -> int:
    if cmd.names:
        by = {x.name: x for x in items}
        missing = [n for n in cmd.names if n not in by]
        if missing:
            return await _refuse(io, f"ERROR: {label} {missing[0]} does not exist", RC_NOT_FOUND)
        items = [by[n] for n in cmd.names]
    return await _emit(node, cmd, io, renderer(items))


def _system_attributes(node: NodeView) -> SystemAttributes:
    sysattrs = node.state.system
    rows: list[tuple[str, tuple[str, ...]]] = []
    if node.flavour is Flavour.POWERVS:
        rows.append(("BaseUrl", ("cloud.ibm.com",)))
        a, b = node.state.active_site(), node.state.backup_site()
        rows.append(("Region", (f"{a.region} - {b.region}",)))
        # real PowerVS output prints the API key masked (#####, then hex): key
        # material all the same, which ksystui must blank (issue 15)
        key = sysattrs.get("api_key") or "#####" + stable_uuid(node.name, "api_key").replace("-", "").upper()
        rows.append(("api_key", (key,)))
    else:
        rows.append(("lose_vios_redundancy", (sysattrs["lose_vios_redundancy"],)))
        rows.append(("auto_reverse_mirror", (sysattrs["auto_reverse_mirror"],)))
        rows.append(("replication_type", (sysattrs["replication_type"],)))
    rows += [
        ("staticipenable", (sysattrs["staticipenable"],)),
        ("quick_discovery_interval", (f"{sysattrs['quick_discovery_interval']} minutes",)),
        ("quick_discovery", (sysattrs["quick_discovery"],)),
        ("deep_discovery", (sysattrs["deep_discovery"],)),
        ("cleanup_files_interval", (f"{sysattrs['cleanup_files_interval']} days",)),
        ("auto_discovery_time", (f"{sysattrs['auto_discovery_time']} hours",)),
        ("custom_script_timeout", (sysattrs["custom_script_timeout"],)),
        ("notification_level", (sysattrs["notification_level"],)),
        ("dup_event_processing", (sysattrs["dup_event_processing"],)),
    ]
    return SystemAttributes(attributes=tuple(rows))


def _report(node: NodeView, verbose: bool) -> SystemReport:
    s = node.state
    managed = s.managed_vms()
    counts = (
        ("Number of sites", str(len(s.sites))),
        ("Number of storage agents", str(len(s.storage_agents))),
        ("Number of HMCs", str(len(s.hmcs))),
        ("Number of hosts", str(len(s.hosts))),
        ("Number of host_groups", "0"),
        ("Number of VIOS", str(sum(len(h.vios) for h in s.hosts.values()))),
        ("Number of VMs", str(len(managed))),
        ("Total managed processors", f"{sum(v.processors for v in managed):.2f}"),
        ("Total managed memory", f"{sum(v.memory_gb for v in managed) * 1024:.2f} MB"),
    )
    busy = node.current_operation
    env: tuple[str, ...] = ()
    if verbose:
        lines = []
        for site in s.sites.values():
            label = "Home Site" if site.sitetype == lifecycle.ACTIVE_SITE else "Backup Site"
            lines.append(f"{label}: {site.name}")
            for h in s.hosts.values():
                if h.site == site.name:
                    lines.append(f"    HOST: {h.name}")
                    for v in managed:
                        if v.host == h.name:
                            lines.append(f"         VM: {v.name}")
        env = tuple(lines)
    return SystemReport(
        messages=("This is the latest KSYS configurations, please run discover to capture any changes",),
        ksysmgr_version=node.spec.version,
        ksys_version=node.spec.version,
        status=(f"KSYS is running {busy}" if busy else "KSYS is ready to be issued a command"),
        counts=counts,
        environment=env,
    )


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d)?$")

# modify system: attribute -> validator returning the stored value or None
_SYSTEM_ATTRS = {
    "auto_discovery_time": lambda v: v[:5] if _HHMM.match(v) else None,
    "notification_level": lambda v: v if v in ("low", "medium", "high", "disable") else None,
    "dup_event_processing": lambda v: v if v in ("yes", "no") else None,
    "lose_vios_redundancy": lambda v: v if v in ("yes", "no") else None,
    "auto_reverse_mirror": lambda v: v if v in ("yes", "no") else None,
    "replication_type": lambda v: v if v in ("async", "sync") else None,
    "quick_discovery_interval": lambda v: v if v.isdigit() and 5 <= int(v) <= 480 else None,
    "quick_discovery": lambda v: v if v in ("enable", "disable") else None,
    "deep_discovery": lambda v: v if v in ("enable", "disable") else None,
    "cleanup_files_interval": lambda v: v if v == "disable" or (v.isdigit() and 1 <= int(v) <= 30) else None,
    "custom_script_timeout": lambda v: v if v.isdigit() else None,
    "staticipenable": lambda v: v if v in ("yes", "no", "default") else None,
    "sites": lambda v: v,  # goes with replication_type
}


async def _modify_system(node: NodeView, cmd: KsysmgrCommand, io: CommandIO) -> int:
    if not cmd.attrs:
        return await _refuse(io, "ERROR: no attribute given", RC_MISSING_INPUT, usage_text("modify", "system"))
    changed: list[str] = []
    unchanged: list[str] = []
    staged: dict[str, str] = {}
    for key, value in cmd.attrs:
        check = _SYSTEM_ATTRS.get(key)
        if check is None:
            return await _refuse(io, f"ERROR: unknown attribute \"{key}\"", RC_INCORRECT_INPUT,
                                 usage_text("modify", "system"))
        stored = check(value)
        if stored is None:
            return await _refuse(io, f"ERROR: invalid value \"{value}\" for {key}", RC_INCORRECT_INPUT,
                                 usage_text("modify", "system"))
        staged[key] = stored
    for key, stored in staged.items():
        if key == "sites":
            continue
        if node.state.system.get(key) == stored:
            unchanged.append(key)
        else:
            node.state.system[key] = stored
            changed.append(key)
    for key in unchanged:
        await io.write(f"INFO: Attribute {key} is already set to the specified value\n")
    if changed:
        # ksysmgr lists the changed attributes in reverse order of the command line
        await io.write(f"KSYS {','.join(reversed(changed))} has been updated\n")
        if "auto_discovery_time" in changed:
            node.world.reschedule(node)
    return RC_SUCCESS


async def _pair_host(node: NodeView, cmd: KsysmgrCommand, io: CommandIO) -> int:
    s = node.state
    name, partner = cmd.name, cmd.attr("pair")
    if not name or partner is None:
        return await _refuse(io, "ERROR: host name and pair= are required", RC_MISSING_INPUT, usage_text("pair", "host"))
    if name not in s.hosts:
        return await _refuse(io, f"ERROR: Host {name} does not exist", RC_NOT_FOUND)
    host = s.hosts[name]
    if partner == "none":
        if host.pair:
            s.hosts[host.pair].pair = None
        host.pair = None
        await io.write(f"Host {name} was unpaired\n")
        return RC_SUCCESS
    if partner not in s.hosts:
        return await _refuse(io, f"ERROR: Host {partner} does not exist", RC_NOT_FOUND)
    other = s.hosts[partner]
    if other.site == host.site:
        return await _refuse(io, f"ERROR: Host {partner} is on the same site as {name}", RC_INCORRECT_INPUT)
    host.pair, other.pair = partner, name
    await io.write(f"Host {name} was paired with {partner}\n")
    return RC_SUCCESS


async def _manage_vm(node: NodeView, cmd: KsysmgrCommand, io: CommandIO) -> int:
    s = node.state
    names = list(cmd.names)
    for key in ("name", "vmname"):
        if cmd.attr(key):
            names.append(cmd.attr(key) or "")
    if cmd.name == "ALL" and cmd.attr("host"):
        names = [v.name for v in s.vms.values() if v.host == cmd.attr("host")]
    if not names:
        return await _refuse(io, "ERROR: a VM name is required", RC_MISSING_INPUT, usage_text(cmd.action, "vm"))
    for n in names:
        for one in n.split(","):
            vm = s.vms.get(one)
            if vm is None:
                return await _refuse(io, f"ERROR: VM {one} does not exist", RC_NOT_FOUND)
            if node.current_operation:
                return await _refuse(io, BUSY_MESSAGE, RC_ERROR)
            if cmd.action == "unmanage":
                vm.set_state(lifecycle.UNMANAGED)
                await io.write(f"VM {one} was successfully unmanaged\n")
            else:
                if vm.state == lifecycle.UNMANAGED:
                    vm.set_state(lifecycle.MANAGED)
                await io.write(f"VM {one} was successfully managed.\n")
    await io.write("Please run discovery to apply changes.\n")
    return RC_SUCCESS
