"""Room on the provider's physical hosts, as the machines themselves see it:
what runs on each host across EVERY simulated KSYS node, and whether one
more VM fits.

No single KSYS knows this: each sees only its own cluster's VMs on the shared
recovery host (snorlax). The hardware does, and refuses a boot that does not
fit — which is how two tenants that both fail over onto one host find out,
too late, that it can hold only one of them. The simulator plays that part.

What takes room on a host (INFERRED, the same reading as ``core.capacity``):

* a VM running there (not shut off), at its size — scaled by its
  ``Target_Flex_Mem`` / ``Target_Flex_Cpu`` percentages when it runs away
  from its home site (INFERRED: the flexible capacity applies on the
  recovery side only; at home a VM boots with its full size);
* a DR-test clone booted there, until its cleanup, at the same scaled size;
* PowerVS: a shut-off backup VM's hold (``Inactive_VM_Mem`` / ``_Cpu``) on
  the dedicated host of the other site, while its VM runs at home. When the
  backup VM itself boots, its hold becomes its full (scaled) size.

A host without a size in the scenario is unlimited: old scenarios behave as
before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ksystui.core import lifecycle
from ksystui.core.capacity import ZERO, Size
from ksystui.core.model import Flavour
from ksystui.sim.cluster import ClusterState, SimHost, SimVm


def host_size(host: SimHost) -> Size | None:
    if host.memory_gb is None or host.processors is None:
        return None
    return Size(host.memory_gb, host.processors)


def size_on(state: ClusterState, vm: SimVm, host: SimHost) -> Size:
    """What ``vm`` (or its DR-test clone) takes when it runs on ``host``."""
    full = Size(vm.memory_gb, vm.processors)
    if host.site == state.home_site:
        return full
    return full.scaled(vm.target_flex_mem or 100, vm.target_flex_cpu or 100)


def backup_hold(vm: SimVm) -> Size:
    return Size(vm.inactive_vm_mem or 0.0, vm.inactive_vm_cpu or 0.0)


def _running(vm: SimVm) -> bool:
    return vm.status != "SHUTOFF"


def used(uuid: str, states: Iterable[ClusterState], *, besides: tuple[str, str] | None = None) -> Size:
    """Everything that takes room on the host ``uuid`` now, of every node;
    ``besides`` = (node, VM): leave that VM out (the one about to boot)."""
    out = ZERO
    for state in states:
        powervs = state.flavour is Flavour.POWERVS
        for vm in state.vms.values():
            if vm.state == lifecycle.UNMANAGED or (state.spec.name, vm.name) == besides:
                continue
            here = state.running_host(vm) if _running(vm) else None
            if here is not None and here.uuid == uuid:
                out += size_on(state, vm, here)
            clone = state.hosts.get(vm.clone_on) if vm.clone_on else None
            if clone is not None and clone.uuid == uuid:
                out += size_on(state, vm, clone)
            if powervs and _running(vm) and vm.site == state.home_site:
                backup = state.target_host(vm)
                if backup is not None and backup.uuid == uuid:
                    out += backup_hold(vm)
    return out


@dataclass(frozen=True)
class BootShortfall:
    """A boot that does not fit: what the VM needs, and what the host has free."""

    host: str
    uuid: str
    needed: Size
    free: Size

    def reason(self) -> str:
        # INFERRED wording: no public sample of a KSYS boot failing for capacity exists
        free = Size(max(0.0, self.free.memory_gb), max(0.0, self.free.cpu))
        return f"insufficient capacity on host {self.host}: needs {self.needed.text()}; {free.text()} free"


def boot_shortfall(states: Iterable[ClusterState], state: ClusterState, vm: SimVm, host: SimHost, *,
                   clone: bool = False) -> BootShortfall | None:
    """Whether ``vm`` of ``state``'s node (``clone``: its DR-test clone) can
    boot on ``host`` (None: it fits, or the host is unlimited), given what
    every node runs there now. The VM's own old place there is left out; a
    clone boots beside its backup VM, whose hold stays."""
    size = host_size(host)
    if size is None:
        return None
    needed = size_on(state, vm, host)
    taken = used(host.uuid, states, besides=(state.spec.name, vm.name))
    if clone and state.flavour is Flavour.POWERVS and _running(vm) and vm.site == state.home_site:
        taken += backup_hold(vm)
    free = size - taken
    return None if needed.fits_in(free) else BootShortfall(host.name, host.uuid, needed, free)
