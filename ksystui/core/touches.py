"""What an operation touches at the recovery site (pure): the physical
resources it claims while it runs, derived from what the node itself
reports, for both flavours.

* On-prem (VMRM DR / GDR): recovery *hosts*, by CEC UUID — the same physical
  host seen by two tenants' KSYS nodes has the same UUID (seed: snorlax).
  A move works on both ends: it shuts the VMs down on the hosts it leaves and
  boots them on the hosts it goes to, so it claims both. A failback (the move
  home) thereby claims the recovery host it leaves, which other tenants share.
* PowerVS DR Automation: there are no hosts in ``ksysmgr`` output (§0 of the
  reference); what an operation works on at the recovery site is the
  *workspace* (``query site`` → ``Workspaces``, ``query workgroup`` →
  ``BackupWorkSpace`` / ``ActiveWorkspace``) and, where the node reports them,
  dedicated hosts. A workspace is claimed under its name, prefixed
  ``workspace:`` (INFERRED: workspace names are unique within the provider's
  account, so two tenants' nodes that name the same DR workspace mean the same
  one and must not work on it at the same time).
"""

from __future__ import annotations

from dataclasses import dataclass

from ksystui.core.lifecycle import UNMANAGED, Op
from ksystui.core.model import Flavour, Host
from ksystui.core.snapshot import NodeSnapshot

WORKSPACE = "workspace:"  # the claim name of a PowerVS workspace: workspace:<name>

MOVES = frozenset({Op.MOVE_PLANNED, Op.MOVE_UNPLANNED})
# operations that work where the VMs run now (after a move: the recovery side)
WHERE_THEY_RUN = frozenset({Op.CLEANUP, Op.RECOVER})


@dataclass(frozen=True)
class Resource:
    """One thing an operation claims: ``key`` is what the arbiter compares
    (a CEC UUID, or ``workspace:<name>``), ``name`` what an operator reads."""

    key: str
    name: str


def host_pairs(snap: NodeSnapshot) -> dict[str, str]:
    """Host pairing both ways (a KSYS may print the pair on one side only)."""
    out: dict[str, str] = {}
    for h in snap.hosts:
        if h.pair:
            out.setdefault(h.name, h.pair)
            out.setdefault(h.pair, h.name)
    return out


def _host(h: Host) -> Resource | None:
    return Resource(h.uuid, h.name) if h.uuid else None


def onprem_resources(op: Op, snap: NodeSnapshot, src: str) -> list[Resource]:
    """The hosts an on-prem operation from site ``src`` works on."""
    hosts = {h.name: h for h in snap.hosts}
    pairs = host_pairs(snap)
    chosen: set[str] = set()
    if op in WHERE_THEY_RUN:
        # after a move the VMs run on what used to be the recovery host
        chosen = {v.host for v in snap.vms if v.host}
    if not chosen:
        at_src = [h.name for h in snap.hosts if h.site == src and h.name in pairs]
        chosen = {pairs[n] for n in at_src}
        if op in MOVES or op in WHERE_THEY_RUN:
            chosen |= set(at_src)  # the hosts it leaves
            chosen |= {v.host for v in snap.vms if v.host and v.state != UNMANAGED}
    out = [r for n in sorted(chosen) if n in hosts and (r := _host(hosts[n])) is not None]
    return sorted(out, key=lambda r: r.name)


def _site_workspaces(snap: NodeSnapshot, site: str) -> list[str]:
    for s in snap.sites:
        if s.name == site and s.workspaces:
            return list(s.workspaces)
    # no Workspaces line: what the workgroups say about the site
    out = []
    for wg in snap.workgroups:
        if wg.active_site == site and wg.active_workspace:
            out.append(wg.active_workspace)
        elif wg.active_site != site:
            other = wg.backup_workspace if wg.active_workspace == wg.home_workspace else wg.home_workspace
            if other:
                out.append(other)
    return sorted(set(out))


def powervs_resources(op: Op, snap: NodeSnapshot, src: str, dst: str) -> list[Resource]:
    """The workspaces (and dedicated hosts, where reported) a PowerVS
    operation from ``src`` towards ``dst`` works on."""
    sites = [dst] if op not in MOVES and op not in WHERE_THEY_RUN else [src, dst]
    names: set[str] = set()
    for site in sites:
        names |= set(_site_workspaces(snap, site))
    out = [Resource(WORKSPACE + n, n) for n in names]
    out += [r for h in snap.hosts if h.site in sites and (r := _host(h)) is not None]
    return sorted(out, key=lambda r: r.name)


def resources(op: Op, snap: NodeSnapshot, src: str, dst: str) -> list[Resource]:
    """What ``op`` (from site ``src``, towards ``dst``) works on at the
    recovery site, for the node's flavour."""
    if snap.flavour is Flavour.POWERVS:
        return powervs_resources(op, snap, src, dst)
    return onprem_resources(op, snap, src)
