"""Model objects -> ksysmgr output text, the inverse of parse.py.

The simulator prints through these functions, so what it prints is what the
parsers read (a property test checks ``parse(render(x)) == x``). Layouts are
the verbatim S1 ones where a sample exists and the INFERRED templates of
ksys-reference §2.5 for on-prem. One padding per command: values at column 22
for record listings, column 30 for ``query system``; single-space forms where
the only sample has them (``query notify``, ``query version``, event records).
Fields that are None are not printed. Every text ends with a newline; an
empty list renders as empty output (which the parsers refuse as EMPTY, like
any other output that says nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ksystui.core.ksysmgr import layouts
from ksystui.core.ksysmgr.render_progress import render_progress_line, render_summary
from ksystui.core.ksysmgr.schema import kv_lines
from ksystui.core.model import (
    Cluster,
    Disk,
    DiskGroup,
    DiskPair,
    Flavour,
    Hmc,
    Host,
    HostGroup,
    KsysEvent,
    NotifyConfig,
    Site,
    StorageAgent,
    SystemAttributes,
    SystemReport,
    Version,
    Vm,
    Workgroup,
)

__all__ = [
    "render_cluster",
    "render_disk_groups",
    "render_disk_pairs",
    "render_disks",
    "render_event_catalogue",
    "render_events",
    "render_hmcs",
    "render_host_groups",
    "render_hosts",
    "render_notify",
    "render_progress_line",
    "render_report",
    "render_sites",
    "render_storage_agents",
    "render_summary",
    "render_system",
    "render_version",
    "render_vms",
    "render_workgroups",
]

W = layouts.WIDTH


def _text(lines: Iterable[str]) -> str:
    lines = list(lines)
    return "\n".join(lines) + "\n" if lines else ""


def _blank_separated(blocks: Iterable[list[str]]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("")
        out.extend(block)
    return out


def render_vms(vms: Sequence[Vm], flavour: Flavour) -> str:
    """``query vm``. PowerVS: records separated by blank lines (S1). On-prem
    (INFERRED, §2.5): ``Unmanaged VMs:`` with the names of UNMANAGED VMs indented
    4 spaces, then ``All VMs:`` and every VM's record."""
    if flavour is Flavour.POWERVS:
        return _text(_blank_separated(layouts.VM.render(vm, W) for vm in vms))
    lines = ["Unmanaged VMs:"]
    lines += [f"    {vm.name}" for vm in vms if vm.state == "UNMANAGED"]
    lines.append("All VMs:")
    lines += _blank_separated(layouts.VM.render(vm, W, layouts.VM_ONPREM_ORDER) for vm in vms)
    return _text(lines)


def render_sites(sites: Sequence[Site], flavour: Flavour) -> str:
    """``query site``; PowerVS ends with IBM's note on what "Active" means (S1)."""
    if flavour is Flavour.POWERVS:
        lines = _blank_separated(layouts.SITE.render(s, W) for s in sites)
        return _text([*lines, layouts.SITE_NOTE] if lines else [])
    # INFERRED: (ksys-reference §2.5) on-prem sites print their type and active host groups.
    return _text(
        _blank_separated(layouts.SITE.render(s, W, layouts.SITE_ONPREM_ORDER) for s in sites)
    )


def render_hosts(hosts: Sequence[Host]) -> str:
    # INFERRED: layout from the ksys-reference §2.5 template.
    return _text(_blank_separated(layouts.HOST.render(h, W) for h in hosts))


def _host_table(hmc: Hmc) -> list[str]:
    # INFERRED: (ksys-reference §2.5) a column-aligned sub-table under "Managed Host List:".
    width = layouts.HMC_TABLE_WIDTH
    name, uuid = layouts.HMC_TABLE_HEADER

    def row(a: str, b: str) -> str:
        return f"{a:<{width}}{b}" if len(a) < width - 1 else f"{a}  {b}"

    return [
        f"{layouts.HMC_TABLE_KEY}:",
        row(name, uuid),
        row("=" * len(name), "=" * len(uuid)),
        *(row(host, cec) for host, cec in hmc.managed_hosts),
    ]


def render_hmcs(hmcs: Sequence[Hmc]) -> str:
    # INFERRED: layout from the ksys-reference §2.5 template.
    return _text(_blank_separated(layouts.HMC.render(h, W) + _host_table(h) for h in hmcs))


def render_host_groups(host_groups: Sequence[HostGroup]) -> str:
    # INFERRED: layout from the ksys-reference §2.5 template.
    return _text(_blank_separated(layouts.HOST_GROUP.render(g, W) for g in host_groups))


def render_storage_agents(agents: Sequence[StorageAgent]) -> str:
    # INFERRED: layout from the ksys-reference §2.5 template.
    return _text(_blank_separated(layouts.STORAGE_AGENT.render(a, W) for a in agents))


def render_disk_groups(groups: Sequence[DiskGroup], flavour: Flavour) -> str:
    """PowerVS: the S1 ``WGName:`` layout. On-prem: ``Name:`` first (INFERRED, §2.5)."""
    order = None if flavour is Flavour.POWERVS else layouts.DISK_GROUP_ONPREM_ORDER
    return _text(_blank_separated(layouts.DISK_GROUP.render(g, W, order) for g in groups))


def render_disk_pairs(pairs: Sequence[DiskPair]) -> str:
    # INFERRED: (ksys-reference §2.5) one record per pair.
    return _text(_blank_separated(layouts.DISK_PAIR.render(p, W) for p in pairs))


def _disk_vm(disk: Disk) -> list[str]:
    return [f"{disk.vm} <-> {disk.partner_vm}" if disk.partner_vm else disk.vm]


def render_disks(disks: Sequence[Disk]) -> str:
    """``query disk vm=<vm>``: ``VM: <vm> <-> <backup>``, then one disk id per line (S1)."""
    return _text(
        _blank_separated(layouts.DISK.render(d, W, custom={"VM": _disk_vm}) for d in disks)
    )


def render_workgroups(workgroups: Sequence[Workgroup]) -> str:
    return _text(_blank_separated(layouts.WORKGROUP.render(w, W) for w in workgroups))


def render_events(events: Sequence[KsysEvent]) -> str:
    """Record form, ``Event Name: X`` with one space as in the S1 sample; a blank
    line between events."""
    return _text(_blank_separated(layouts.EVENT.render(e, 0) for e in events))


# INFERRED: real output is column-aligned but the doc collapsed the spacing;
# these widths are ours.
_EVENT_NAME_WIDTH = 40
_EVENT_TYPE_WIDTH = 12


def _event_row(name: str, type_: str, description: str | None) -> str:
    cells = (
        f"{name:<{_EVENT_NAME_WIDTH - 2}}  {type_:<{_EVENT_TYPE_WIDTH - 2}}  {description or ''}"
    )
    return cells.rstrip()


def render_event_catalogue(events: Sequence[KsysEvent], notification_level: str = "Low") -> str:
    """The tabular ``query event [type=...]`` (S1v1). Only name, type and
    description are columns of the catalogue; an event without a type cannot be
    a row, so it is refused with ValueError."""
    lines = [
        f"Current Notification Level: {notification_level}",
        _event_row("Event Name", "Event Type", "Description"),
        "-" * 80,
    ]
    for event in events:
        if event.type is None:
            raise ValueError(f"event {event.name} has no type; the catalogue needs one")
        lines.append(_event_row(event.name, event.type, event.description))
    return _text(lines)


def render_notify(config: NotifyConfig) -> str:
    """``query notify`` as in S1: single-space ``Key: value`` under two headers."""
    lines = ["Contact details:"]
    for user, contact in config.contacts:
        lines += [f"User: {user}", f"Contact: {contact}"]
    lines.append("Script details:")
    for script, event in config.scripts:
        lines += [f"Script: {script}", f"Event: {event}"]
    for key, value in config.extra:
        lines += kv_lines(key, value.split("\n") if value else [], 0)
    return _text(lines)


_USER_SCRIPTS = "User Scripts for "


def render_system(attrs: SystemAttributes) -> str:
    """``query system``: values at column 30, continuation lines (``Region``)
    indented to it; ``User Scripts for ...: None`` lines use one space and are
    each followed by a blank line, as in the S1 sample."""
    lines = [attrs.header] if attrs.header is not None else [""]
    for key, values in attrs.attributes:
        if key.startswith(_USER_SCRIPTS):
            lines += [*kv_lines(key, list(values), 0), ""]
        else:
            lines += kv_lines(key, list(values), layouts.SYSTEM_WIDTH)
    return _text(lines)


def render_cluster(clusters: Sequence[Cluster]) -> str:
    return _text(_blank_separated(layouts.CLUSTER.render(c, W) for c in clusters))


def render_version(version: Version) -> str:
    """``query version`` (S7): ``Ksysmgr version: X`` / ``Ksys version: Y``."""
    return _text(layouts.VERSION.render(version, 0))


def render_report(report: SystemReport, verbose: bool) -> str:
    """``report system`` (IBM-R, on-prem). Without ``-v`` the environment tree is
    not printed and the first message is followed by a blank line, as in the sample."""
    lines: list[str] = []
    for i, message in enumerate(report.messages):
        lines.append(message)
        if i == 0 and not verbose and len(report.messages) > 1:
            lines.append("")
    if report.ksysmgr_version is not None:
        lines.append(f"Ksysmgr version: {report.ksysmgr_version}")
    if report.ksys_version is not None:
        lines.append(f"Ksys version:    {report.ksys_version}")
    lines.append(f"Status: {report.status}" if report.status else "Status:")
    lines += ["Current environment:", "=" * 20]
    if verbose:
        lines += report.environment
    for key, value in report.counts:
        # "Number of sites:2" has no space after the colon; "Total managed memory: 40960.00 MB" has one.
        sep = "" if key.startswith("Number of") else " "
        lines.append(f"{key}:{sep}{value}")
    return _text(lines)
