"""The hosts view's capacity cells (pure): how full each recovery host is,
and who uses how much of it.

A row of the hosts view is one tenant's relation to one recovery host. Its
capacity cells say how much memory and CPU the host has and how much of it
is in use ("used/total"), what is free, and this row's tenant's own share.
SHARED WITH names every other tenant with its share, unscoped; a scoped
console sees only its own share and one anonymous total for everyone else
(``HostLoad.for_tenant``): never a name. A host whose size no node reports
reads "not reported" rather than looking empty or full.

A PowerVS tenant's dedicated host in the DR workspace is a recovery host too
(its backup VMs hold their inactive size there; after a failover its VMs run
there), although no on-prem pair names it: :func:`dedicated_hosts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ksystui.core.capacity import (
    OTHER_TENANTS,
    ZERO,
    HostLoad,
    Share,
    ShareKind,
    Size,
    figure,
    total,
)
from ksystui.core.model import Flavour
from ksystui.core.snapshot import NodeSnapshot, SharedHost

NOT_REPORTED = "not reported"
NOTHING = "-"


@dataclass(frozen=True)
class CapacityCells:
    memory: str  # "280/512 GB": in use of the host's memory
    cpu: str  # "17.5/32": in use of its processors
    free: str  # "232 GB, 14.5 CPU"; "OVER 20 GB" when more is booted than it has
    share: str  # this row's tenant's use of it ("-": nothing)


def used_of(used: float, size: float | None, unit: str = "") -> str:
    if size is None:
        return NOT_REPORTED
    return f"{figure(used)}/{figure(size)}" + (f" {unit}" if unit else "")


def free_text(free: Size | None) -> str:
    """What is left; a part that went below zero (a host booted past its size,
    or holding more than it has) says OVER and by how much."""
    if free is None:
        return NOT_REPORTED
    memory = f"{figure(free.memory_gb)} GB" if free.memory_gb >= -1e-6 else f"OVER {figure(-free.memory_gb)} GB"
    cpu = f"{figure(free.cpu)} CPU" if free.cpu >= -1e-6 else f"OVER {figure(-free.cpu)} CPU"
    return f"{memory}, {cpu}"


def share_text(shares: Iterable[Share]) -> str:
    """A tenant's use of a host: its size, and what it is when it is not
    VMs running there (DR-test clones, inactive backups held, queued)."""
    shares = list(shares)
    if not shares:
        return NOTHING
    size = total(s.size for s in shares)
    kinds = sorted({s.kind.value for s in shares if s.kind is not ShareKind.RUNNING})
    return size.text() + (f" ({', '.join(kinds)})" if kinds else "")


def capacity_cells(load: HostLoad | None, tenant: str, *, runs_vms: bool = False) -> CapacityCells:
    """The cells of ``tenant``'s row of a host. ``runs_vms``: the tenant's VMs
    run there (its share is then never "-": "not reported" when its VMs
    print no size)."""
    if load is None:
        return CapacityCells(NOT_REPORTED, NOT_REPORTED, NOT_REPORTED, NOT_REPORTED if runs_vms else NOTHING)
    size, used = load.total, load.used
    share = share_text(s for s in load.shares if s.tenant == tenant)
    if share == NOTHING and runs_vms:
        share = NOT_REPORTED
    return CapacityCells(
        used_of(used.memory_gb, size.memory_gb if size else None, "GB"),
        used_of(used.cpu, size.cpu if size else None),
        free_text(load.free),
        share,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n != 1 else "")


def shared_with(load: HostLoad | None, tenant: str, roles: Mapping[str, str], *, scoped: bool) -> str:
    """The other tenants on a host, from ``tenant``'s row. ``roles``: every
    other tenant that counts on it or runs on it, with its role there
    ("recovery", "runs VMs"). Unscoped: each named, with its share. Scoped
    (``load`` as ``HostLoad.for_tenant`` tells it, or whole): how many, and
    their use summed, never a name."""
    shares = load.shares if load is not None else ()
    sizes: dict[str, list[Share]] = {}
    for s in shares:
        if s.tenant != tenant:
            sizes.setdefault(s.tenant, []).append(s)
    if scoped:
        theirs = total(s.size for s in shares if s.tenant != tenant)
        named = set(roles) | (set(sizes) - {OTHER_TENANTS})
        n = max(len(named), 1 if theirs != ZERO else 0)
        if not n:
            return NOTHING
        count = _plural(n, "other tenant")
        return count if theirs == ZERO else f"{count}: {theirs.text()}"
    others = sorted(set(roles) | set(sizes))
    if not others:
        return NOTHING
    parts = []
    for t in others:
        mine = sizes.get(t, [])
        if t in roles:
            used = share_text(mine)
            parts.append(f"{t} ({roles[t]}" + (f": {used})" if used != NOTHING else ")"))
        else:  # on it only by what it holds there (inactive backups, clones)
            kinds = ", ".join(sorted({s.kind.value for s in mine}))
            parts.append(f"{t} ({kinds}: {total(s.size for s in mine).text()})")
    return ", ".join(parts)


def dedicated_hosts(snapshots: Iterable[NodeSnapshot], paired: Mapping[str, SharedHost],
                     loads: Mapping[str, HostLoad]) -> dict[str, SharedHost]:
    """The hosts PowerVS nodes report (a dedicated host in the DR workspace)
    that no on-prem pair makes a recovery host: the PowerVS tenant counts on
    it, or runs on it after a failover (its RUNNING share there)."""
    acc: dict[str, SharedHost] = {}
    for snap in snapshots:
        if snap.flavour is not Flavour.POWERVS:
            continue
        for h in snap.hosts:
            if not h.uuid or h.uuid in paired:
                continue
            load = loads.get(h.uuid)
            n = sum(s.vms for s in (load.shares if load else ()) if s.node == snap.node
                    and s.kind is ShareKind.RUNNING)
            was = acc.get(h.uuid, SharedHost(h.uuid, (), (), ()))
            acc[h.uuid] = replace(
                was, names=tuple(sorted({*was.names, h.name})),
                tenants=tuple(sorted({*was.tenants, snap.tenant})),
                pairs=was.pairs + (() if n else ((snap.tenant, snap.node, "-"),)),
                running=was.running + (((snap.tenant, snap.node, n),) if n else ()))
    return acc
