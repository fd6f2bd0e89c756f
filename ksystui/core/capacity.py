"""Capacity of the provider's recovery hosts (pure): how much memory and CPU
each physical recovery host has, what already runs on it for every tenant,
and whether a move or a DR test would fit.

The seed's premise is that tenants share a recovery host (snorlax) to save
cost; nothing in KSYS stops two tenants from moving onto it together when it
can hold only one of them (the later boots fail). So before every move and DR
test the arbiter asks :func:`check`, with every node's latest snapshot.

What the model reads:

* a host's size: ``memory_capacity`` (GB) and ``Processors`` (cores) in
  ``ksysmgr query host`` — INFERRED keys, no public sample prints a size;
* a VM's size: ``memory_capacity`` / ``Processors`` (sourced), scaled on its
  recovery host by ``Target_Flex_Mem`` / ``Target_Flex_Cpu`` (percent,
  sourced keys; INFERRED that the percentage applies to the size it boots
  with there);
* a PowerVS backup VM, shut off on the DR side, holds ``Inactive_VM_Mem`` /
  ``Inactive_VM_Cpu`` (sourced keys; INFERRED that the hold counts against
  the host while it is shut off);
* what runs there: VMs moved onto the host, and DR-test clones booted on it.

A host whose size no node reports is never refused: it is "not checked", and
the verdict says so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from ksystui.core.lifecycle import UNMANAGED, Op
from ksystui.core.model import Flavour, Host, Vm
from ksystui.core.snapshot import NodeSnapshot, recovery_hosts
from ksystui.core.touches import host_pairs

OTHER_TENANTS = "other tenants"
DOES_NOT_FIT = "DOES NOT FIT"  # the verdict on a host, in every view, line and plan that says it  # what a scoped view calls every other tenant's share, summed
CHECKED_OPS = frozenset({Op.MOVE_PLANNED, Op.MOVE_UNPLANNED, Op.DR_TEST})
# Dr Test States in which a VM's rehearsal clone runs on the recovery host
# (ACTIVE while the rehearsal boots it, ACTIVE_COMPLETED until its cleanup)
CLONE_UP = frozenset({"ACTIVE", "ACTIVE_COMPLETED"})


@functools.lru_cache(maxsize=4096)  # a fleet prints few distinct sizes, and a plan reads each VM's twice
def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").split()[0])
    except (ValueError, IndexError):
        return None
    return value if value >= 0 else None


def figure(x: float) -> str:
    """A size as a person writes it: 512, 17.5, 0.25 (no trailing zeros)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Size:
    """Memory in GB and CPU in cores (processing units)."""

    memory_gb: float = 0.0
    cpu: float = 0.0

    def __add__(self, other: Size) -> Size:
        return Size(self.memory_gb + other.memory_gb, self.cpu + other.cpu)

    def __sub__(self, other: Size) -> Size:
        return Size(self.memory_gb - other.memory_gb, self.cpu - other.cpu)

    def scaled(self, memory_pct: float, cpu_pct: float) -> Size:
        return Size(self.memory_gb * memory_pct / 100.0, self.cpu * cpu_pct / 100.0)

    def fits_in(self, room: Size) -> bool:
        # a hair of tolerance: sizes are printed with two decimals
        return self.memory_gb <= room.memory_gb + 1e-6 and self.cpu <= room.cpu + 1e-6

    def shortfall_against(self, free: Size) -> Size:
        """What is missing for this to fit in ``free`` (positive parts only)."""
        return Size(max(0.0, self.memory_gb - free.memory_gb), max(0.0, self.cpu - free.cpu))

    def text(self) -> str:
        return f"{figure(self.memory_gb)} GB, {figure(self.cpu)} CPU"

    def short_text(self) -> str:
        """Only the parts that are missing: ``180 GB`` / ``2.5 CPU`` / both."""
        parts = ([f"{figure(self.memory_gb)} GB"] if self.memory_gb > 1e-6 else []) + (
            [f"{figure(self.cpu)} CPU"] if self.cpu > 1e-6 else [])
        return ", ".join(parts) or "nothing"


ZERO = Size()


def total(sizes: Iterable[Size]) -> Size:
    out = ZERO
    for s in sizes:
        out = out + s
    return out


def vm_size(vm: Vm) -> Size | None:
    """A VM's size as its node prints it; None when its memory is not printed."""
    memory = _number(vm.memory_capacity)
    if memory is None:
        return None
    return Size(memory, _number(vm.processors) or 0.0)


def booted_size(vm: Vm) -> Size | None:
    """What the VM takes when it boots on its recovery host: its size scaled
    by its target flex percentages (100 % when none is set)."""
    size = vm_size(vm)
    if size is None:
        return None
    return size.scaled(_number(vm.target_flex_mem) or 100.0, _number(vm.target_flex_cpu) or 100.0)


def inactive_size(vm: Vm) -> Size:
    """What a shut-off backup VM holds on the DR side (``Inactive_VM_*``)."""
    return Size(_number(vm.inactive_vm_mem) or 0.0, _number(vm.inactive_vm_cpu) or 0.0)


def host_size(host: Host) -> Size | None:
    memory = _number(host.memory_capacity)
    cpu = _number(host.processors)
    if memory is None or cpu is None:
        return None
    return Size(memory, cpu)


class ShareKind(StrEnum):
    RUNNING = "running"
    REHEARSAL = "DR test"
    RESERVED = "inactive backups"


@dataclass(frozen=True)
class Share:
    """One tenant's use of one recovery host, of one kind."""

    tenant: str
    node: str
    kind: ShareKind
    size: Size
    vms: int


@dataclass(frozen=True)
class HostLoad:
    """A recovery host as the capacity model sees it now."""

    uuid: str
    name: str
    total: Size | None  # None: no node reports its size
    shares: tuple[Share, ...] = ()

    @property
    def used(self) -> Size:
        return total(s.size for s in self.shares)

    @property
    def free(self) -> Size | None:
        return None if self.total is None else self.total - self.used

    def by_tenant(self) -> dict[str, Size]:
        out: dict[str, Size] = {}
        for s in self.shares:
            out[s.tenant] = out.get(s.tenant, ZERO) + s.size
        return dict(sorted(out.items()))

    def for_tenant(self, tenant: str) -> HostLoad:
        """The host as ``tenant`` may see it: its own shares, and every other
        tenant's summed into one anonymous share (no name, no node)."""
        own = tuple(s for s in self.shares if s.tenant == tenant)
        others = [s for s in self.shares if s.tenant != tenant]
        if others:
            own += (Share(OTHER_TENANTS, "", ShareKind.RUNNING, total(s.size for s in others),
                          sum(s.vms for s in others)),)
        return replace(self, shares=own)


def _running(vm: Vm) -> bool:
    # a VM shut off (before a move, or a host failure) takes nothing; an on-prem
    # template prints no Status at all: count it (the safe side)
    return vm.state != UNMANAGED and (vm.status or "ACTIVE").upper() != "SHUTOFF" and vm.active_vm is not False


def _powervs_site_of(snap: NodeSnapshot, vm: Vm) -> str | None:
    """The site a PowerVS VM is active on: where its workgroup is active,
    else the site holding its workspace."""
    wg = f"{vm.name}_WG"
    for s in snap.sites:
        if wg in s.active_workgroups:
            return s.name
    for w in snap.workgroups:
        if w.name == wg and w.active_site:
            return w.active_site
    for s in snap.sites:
        if vm.workspace and vm.workspace in s.workspaces:
            return s.name
    return None


def _other_site(snap: NodeSnapshot, site: str | None) -> str | None:
    others = [s.name for s in snap.sites if s.name != site]
    return others[0] if len(others) == 1 else None


def _host_at(snap: NodeSnapshot, site: str | None, named: str | None = None) -> Host | None:
    at = sorted((h for h in snap.hosts if h.uuid and h.site == site), key=lambda h: h.name)
    if named:
        at = [h for h in at if h.name == named] or at
    return at[0] if at else None


@dataclass(frozen=True)
class _Placed:
    vm: Vm
    host: Host  # where the VM runs now (None: not on any reported host)
    target: Host | None  # where it would run after a move / where its clone boots


def _placements(snap: NodeSnapshot) -> list[_Placed]:
    """Every managed VM of the node with the host it runs on and its target
    (the other end of the pair on-prem; the dedicated host of the other site
    on PowerVS)."""
    by_name = {h.name: h for h in snap.hosts}
    out: list[_Placed] = []
    if snap.flavour is Flavour.POWERVS:
        for vm in snap.vms:
            if vm.state == UNMANAGED or vm.active_vm is False:
                continue
            site = _powervs_site_of(snap, vm)
            here = _host_at(snap, site)
            there = _host_at(snap, _other_site(snap, site))
            if here is not None or there is not None:
                out.append(_Placed(vm, here or Host(name="-"), there))
        return out
    pairs = host_pairs(snap)
    for vm in snap.vms:
        if vm.state == UNMANAGED or not vm.host or vm.host not in by_name:
            continue
        target = by_name.get(pairs.get(vm.host, ""))
        out.append(_Placed(vm, by_name[vm.host], target))
    return out


def _recovery_host_uuids(snaps: list[NodeSnapshot]) -> dict[str, str]:
    """uuid -> name of every host VMs may move onto: both ends of every pair
    (after a failover the production host is where the move home goes, and
    the recovery host stays one although its site is now the active one), and
    the hosts PowerVS nodes report (dedicated hosts in their workspaces)."""
    out = {uuid: h.names[0] for uuid, h in recovery_hosts(snaps).items() if h.names}
    for snap in snaps:
        paired = set(host_pairs(snap))
        for h in snap.hosts:
            if h.uuid and (h.name in paired or snap.flavour is Flavour.POWERVS):
                out.setdefault(h.uuid, h.name)
    return out


def host_loads(snapshots: Iterable[NodeSnapshot]) -> dict[str, HostLoad]:
    """Every recovery host (by CEC UUID) with its size and what runs on it
    now, for every tenant: VMs moved onto it, rehearsal clones booted on it,
    and PowerVS backup VMs holding their inactive size."""
    snaps = sorted(snapshots, key=lambda s: s.node)
    names = _recovery_host_uuids(snaps)
    sizes: dict[str, Size] = {}
    for snap in snaps:
        for h in snap.hosts:
            if h.uuid in names and (size := host_size(h)) is not None:
                # two nodes that disagree on a host's size: the smaller (the safe side)
                was = sizes.get(h.uuid, size)
                sizes[h.uuid] = Size(min(was.memory_gb, size.memory_gb), min(was.cpu, size.cpu))
    acc: dict[tuple[str, str, str, ShareKind], tuple[Size, int]] = {}

    def add(uuid: str | None, snap: NodeSnapshot, kind: ShareKind, size: Size | None) -> None:
        if uuid is None or uuid not in names or size is None:
            return
        key = (uuid, snap.tenant, snap.node, kind)
        was, count = acc.get(key, (ZERO, 0))
        acc[key] = (was + size, count + 1)

    for snap in snaps:
        for p in _placements(snap):
            if _running(p.vm):
                add(p.host.uuid, snap, ShareKind.RUNNING, booted_size(p.vm))
            if p.vm.dr_test_state in CLONE_UP and p.target is not None:
                add(p.target.uuid, snap, ShareKind.REHEARSAL, booted_size(p.vm))
            hold = inactive_size(p.vm)
            if snap.flavour is Flavour.POWERVS and _running(p.vm) and hold != ZERO and p.target is not None:
                add(p.target.uuid, snap, ShareKind.RESERVED, hold)
    shares: dict[str, list[Share]] = {}
    for (uuid, tenant, node, kind), (size, count) in sorted(acc.items()):
        shares.setdefault(uuid, []).append(Share(tenant, node, kind, size, count))
    return {uuid: HostLoad(uuid, name, sizes.get(uuid), tuple(shares.get(uuid, ())))
            for uuid, name in sorted(names.items(), key=lambda kv: kv[1])}


@dataclass(frozen=True)
class Demand:
    """What one operation would add to one recovery host."""

    uuid: str
    name: str
    tenant: str
    node: str
    size: Size
    vms: tuple[str, ...]


def applies(op: Op) -> bool:
    """Whether ``op`` boots VMs on a recovery host: the ones checked."""
    return op in CHECKED_OPS


def _active_site(snap: NodeSnapshot) -> str | None:
    return next((s.name for s in snap.sites if (s.sitetype or "").upper() in ("ACTIVE", "HOME")), None)


def demand(op: Op, snap: NodeSnapshot, *, to_site: str | None = None) -> list[Demand]:
    """What ``op`` would boot on each host it goes to: for a move, the managed
    VMs that run away from ``to_site`` (default: the active site's VMs, onto
    their pairs); for a DR test, a clone of each. Anything else: nothing."""
    if not applies(op):
        return []
    active = _active_site(snap)
    by_host: dict[str, tuple[Host, list[tuple[str, Size]]]] = {}
    for p in _placements(snap):
        if p.target is None or not p.target.uuid:
            continue
        if to_site is not None:
            if p.target.site != to_site:
                continue
        elif snap.flavour is Flavour.ONPREM and active is not None and p.host.site != active:
            continue
        if op is not Op.DR_TEST and p.host.uuid == p.target.uuid:
            continue
        size = booted_size(p.vm)
        if size is None:
            continue
        entry = by_host.setdefault(p.target.uuid, (p.target, []))
        entry[1].append((p.vm.name, size))
    out = []
    for uuid, (host, vms) in sorted(by_host.items(), key=lambda kv: kv[1][0].name):
        out.append(Demand(uuid, host.name, snap.tenant, snap.node, total(s for _, s in vms),
                          tuple(sorted(n for n, _ in vms))))
    return out


@dataclass(frozen=True)
class Shortfall:
    uuid: str
    name: str
    needed: Size
    free: Size
    total: Size

    @property
    def short(self) -> Size:
        return self.needed.shortfall_against(self.free)

    def text(self) -> str:
        free = Size(max(0.0, self.free.memory_gb), max(0.0, self.free.cpu))
        return (f"{self.name} needs {self.needed.text()}; {free.text()} free of {self.total.text()}: "
                f"short {self.short.short_text()}")


@dataclass(frozen=True)
class CapacityVerdict:
    fits: bool
    lines: tuple[str, ...]  # one per host, naming no tenant: what a confirmation shows
    shortfalls: tuple[Shortfall, ...] = ()
    unchecked: tuple[str, ...] = ()  # hosts whose size no node reports

    def refusal(self) -> str:
        return "does not fit: " + "; ".join(s.text() for s in self.shortfalls)


def check(op: Op, snap: NodeSnapshot, snapshots: Iterable[NodeSnapshot], *,
          pending: Iterable[Demand] = (), to_site: str | None = None) -> CapacityVerdict:
    """Whether ``op`` of ``snap``'s node fits on the hosts it boots VMs on,
    given what runs there now (every tenant's snapshot) and what other queued
    or running operations will add (``pending``; one of this same node is its
    own earlier copy and is ignored)."""
    mine = demand(op, snap, to_site=to_site)
    if not mine:
        return CapacityVerdict(True, ())
    loads = host_loads(snapshots)
    queued: dict[str, Size] = {}
    for d in pending:
        if d.node != snap.node:
            queued[d.uuid] = queued.get(d.uuid, ZERO) + d.size
    lines: list[str] = []
    shortfalls: list[Shortfall] = []
    unchecked: list[str] = []
    for d in mine:
        load = loads.get(d.uuid)
        if load is None or load.total is None:
            unchecked.append(d.name)
            lines.append(f"{d.name}: needs {d.size.text()}; its size is not reported: not checked")
            continue
        ahead = queued.get(d.uuid, ZERO)
        free = load.total - load.used - ahead
        busy = load.used + ahead
        line = f"{d.name}: needs {d.size.text()}; {Size(max(0.0, free.memory_gb), max(0.0, free.cpu)).text()} " \
               f"free of {load.total.text()} ({busy.text()} in use or queued)"
        if d.size.fits_in(free):
            lines.append(line + ": fits")
        else:
            short = Shortfall(d.uuid, d.name, d.size, free, load.total)
            shortfalls.append(short)
            lines.append(line + f": {DOES_NOT_FIT}, short {short.short.short_text()}")
    return CapacityVerdict(not shortfalls, tuple(lines), tuple(shortfalls), tuple(unchecked))


def abandon_rehearsals(loads: Mapping[str, HostLoad], nodes: Iterable[str],
                       ) -> tuple[dict[str, HostLoad], dict[str, list[tuple[str, Size]]]]:
    """The loads once ``nodes`` gave up their DR tests: a node that fails
    recovers for real, and its rehearsal clones on the recovery hosts are
    cleaned up first (INFERRED: KSYS's order in a disaster during a DR test
    is not published; a provider would not let test clones keep out the
    production they rehearse). Also, per node, what it freed: (host, size)."""
    gone = set(nodes)
    freed: dict[str, list[tuple[str, Size]]] = {}
    out: dict[str, HostLoad] = {}
    for uuid, load in loads.items():
        kept = []
        for share in load.shares:
            if share.kind is ShareKind.REHEARSAL and share.node in gone:
                freed.setdefault(share.node, []).append((load.name, share.size))
            else:
                kept.append(share)
        out[uuid] = load if len(kept) == len(load.shares) else replace(load, shares=tuple(kept))
    return out, freed


def loads_for(loads: Mapping[str, HostLoad], tenant: str | None) -> dict[str, HostLoad]:
    """The loads as a reader scoped to ``tenant`` may see them (None: all)."""
    return dict(loads) if tenant is None else {u: h.for_tenant(tenant) for u, h in loads.items()}
