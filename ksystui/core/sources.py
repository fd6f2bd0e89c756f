"""What ksystui knows of a VM and of a node's system, with where each value
came from (pure): ksysmgr over SSH, or the PowerVS DR Automation service
(REST). The VMs view adds the service's columns from here, the VM detail
names the source of every value, and the tenant view lists the node's
system attributes, its ``report system`` and the service instance's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ksystui.core.age import format_age
from ksystui.core.model import REST_SOURCE, KsysEvent, ManagedVm, Vm
from ksystui.core.snapshot import NodeSnapshot
from ksystui.core.views import ViewRow

SSH_LABEL = "SSH"  # ksysmgr over SSH
REST_LABEL = "REST"  # the DR Automation service

# the query system attributes an operator plans with (issue 15: auto-discovery
# time, notification level, quick and deep discovery), in this order
SYSTEM_KEYS = ("auto_discovery_time", "quick_discovery", "quick_discovery_interval", "deep_discovery",
               "notification_level", "dup_event_processing", "lose_vios_redundancy", "replication_type")


@dataclass(frozen=True)
class VmView:
    """One VM as both sources tell it: the node's ``query vm`` record and the
    service's managed-VM entry (PowerVS), and the events about it."""

    vm: Vm
    managed: ManagedVm | None = None
    events: tuple[KsysEvent, ...] = ()  # oldest first


def _label(e: KsysEvent) -> str:
    if e.source is None:
        return SSH_LABEL
    if e.source == REST_SOURCE:
        return REST_LABEL
    return f"{SSH_LABEL}+{REST_LABEL}"


def vm_events(snap: NodeSnapshot, vm: Vm) -> tuple[KsysEvent, ...]:
    """The node's events about ``vm`` (its name, its workgroup ``<vm>_WG`` or
    its backup ``<vm>_BackUp`` as the resource), oldest first."""
    names = {vm.name, f"{vm.name}_WG", f"{vm.name}_BackUp"}
    about = [e for e in snap.events if e.resource in names]
    return tuple(sorted(about, key=lambda e: e.time or ""))


def vm_view(snap: NodeSnapshot, vm: Vm) -> VmView:
    return VmView(vm, snap.managed_vm(vm.name), vm_events(snap, vm))


def dr_average_cell(managed: ManagedVm | None) -> str:
    """``dr_average_time`` as a duration (INFERRED unit: seconds; a value that
    is not a number is shown as sent)."""
    if managed is None or managed.dr_average_time is None:
        return "-"
    try:
        return format_age(float(managed.dr_average_time))
    except ValueError:
        return managed.dr_average_time


def last_event_cell(view: VmView) -> str:
    if not view.events:
        return "-"
    e = view.events[-1]
    return f"{e.name} ({_label(e)})"


def with_service_columns(rows: list[ViewRow], snap: NodeSnapshot) -> list[ViewRow]:
    """The VMs view's rows with the service's columns (DR AVG, LAST EVENT)
    after the others, and a :class:`VmView` as each row's data."""
    out: list[ViewRow] = []
    for row in rows:
        if not isinstance(row.data, Vm):
            out.append(row)
            continue
        view = vm_view(snap, row.data)
        cells = (*row.cells, dr_average_cell(view.managed), last_event_cell(view))
        out.append(ViewRow(row.key, cells, row.style, row.tenant, row.node, view))
    return out


def _plain(value: Any) -> str | None:
    if value is None or value == ():
        return None
    if isinstance(value, tuple):
        return ", ".join(" ".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def vm_detail_pairs(data: object) -> list[tuple[str, str]]:
    """Every value of a VM, each key prefixed with its source (``SSH ·
    state``, ``REST · dr_average_time``), then the events about it."""
    view = data if isinstance(data, VmView) else VmView(data) if isinstance(data, Vm) else None
    if view is None:
        return [("value", str(data))]
    out: list[tuple[str, str]] = []
    for f in fields(view.vm):
        value = getattr(view.vm, f.name)
        if f.name == "extra":
            out += [(f"{SSH_LABEL} · {k}", str(v)) for k, v in value]
        elif (text := _plain(value)) is not None:
            out.append((f"{SSH_LABEL} · {f.name}", text))
    if view.managed is not None:
        for f in fields(view.managed):
            text = _plain(getattr(view.managed, f.name))
            if text is not None:
                out.append((f"{REST_LABEL} · {f.name}", text))
    for e in view.events[-10:]:
        out.append((f"{_label(e)} · event {e.time or '?'}", f"{e.name}: {e.description or ''}".rstrip(": ")))
    return out


# --- the tenant view: system attributes, report system, service status --------------------
def system_rows(snapshots: Mapping[str, NodeSnapshot], tenant: str) -> list[ViewRow]:
    """Rows of the tenant view for each of the tenant's nodes: the ``query
    system`` attributes planning needs, the ``report system`` status and
    counts, and (PowerVS) the service instance's state."""
    rows: list[ViewRow] = []
    for snap in sorted((s for s in snapshots.values() if s.tenant == tenant), key=lambda s: s.node):
        n = snap.node
        system = snap.system
        if system is not None:
            for key in SYSTEM_KEYS:
                value = system.value(key)
                if value is not None:
                    rows.append(ViewRow(("t", n, "system", key), ("system", key, n, "-", value), None, tenant, n,
                                        system))
            for label, values in (("regions", system.regions), ("satellite locations", system.satellite_locations)):
                if values:
                    rows.append(ViewRow(("t", n, "system", label), ("system", label, n, "-", "; ".join(values)),
                                        None, tenant, n, system))
        report = snap.report
        if report is not None:
            status = report.status or next((m for m in report.messages if m.startswith("KSYS ")), None)
            version = report.ksys_version or report.ksysmgr_version
            rows.append(ViewRow(("t", n, "report", "status"), ("report", "status", n, "-",
                                                              f"{status or '-'}  (KSYS {version or '?'})"),
                                None, tenant, n, report))
            for key, value in report.counts:
                rows.append(ViewRow(("t", n, "report", key), ("report", key, n, "-", value), None, tenant, n,
                                    report))
        status_ = snap.service_status
        if status_ is not None:
            detail = (f"{status_.status or '-'}  primary {status_.primary_status or '-'}  "
                      f"standby {status_.standby_status or '-'}  HA {_plain(status_.orchestrator_ha) or '-'}")
            rows.append(ViewRow(("t", n, "service", "instance"), ("service", status_.deployment_name or n, n,
                                                                 status_.recovery_location or "-", detail),
                                None, tenant, n, status_))
    return rows
