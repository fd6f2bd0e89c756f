"""Operations as the arbiter sees them (pure): from an operator's intent and
the node's latest snapshot to the exact ksysmgr command, the recovery hosts
it touches, whether it may run now, and — after a crash — what became of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ksystui.core import lifecycle, touches
from ksystui.core.arbitration import Claim, claims_of, works_on_recovery_hosts
from ksystui.core.events import event_time
from ksystui.core.ksysmgr import commands
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.core.opstate import OpState
from ksystui.core.snapshot import Freshness, NodeSnapshot

# The words of the command line (`ksystui submit OP …`) and of the UI.
OP_WORDS: dict[str, Op] = {
    "discover": Op.DISCOVER,
    "verify": Op.VERIFY,
    "move": Op.MOVE_PLANNED,
    "move-unplanned": Op.MOVE_UNPLANNED,
    "dr-test": Op.DR_TEST,
    "cleanup": Op.CLEANUP,  # becomes DR_TEST_CLEANUP when a rehearsal is what needs cleaning
    "recover": Op.RECOVER,
    "resync": Op.RESYNC,
}

OP_LABEL: dict[Op, str] = {
    Op.DISCOVER: "discover",
    Op.VERIFY: "verify",
    Op.MOVE_PLANNED: "planned move",
    Op.MOVE_UNPLANNED: "unplanned move",
    Op.DR_TEST: "DR test",
    Op.DR_TEST_CLEANUP: "DR test cleanup",
    Op.CLEANUP: "cleanup",
    Op.RECOVER: "recover",
    Op.RESYNC: "resync",
    Op.CONFIGURE: "configure",
}


class PlanRefused(ValueError):
    """The operation cannot even be planned (unknown site, wrong flavour…)."""


@dataclass(frozen=True)
class PlannedOp:
    op: Op
    node: str
    tenant: str
    argv: tuple[str, ...]
    site: str | None  # None: a node-wide setting (modify system), no site
    to_site: str | None
    # what it claims at the recovery site (``core.touches``): CEC UUIDs on-prem,
    # ``workspace:<name>`` (and dedicated hosts' UUIDs) on PowerVS
    recovery_hosts: tuple[str, ...]
    host_names: tuple[str, ...]
    on_recovery_hosts: bool = False  # it works on (and claims) the recovery hosts too
    # why this step, when the operator asked for more than one operation can do
    # (a move home that needs a discover/verify first): said in the confirmation
    purpose: str | None = None
    then: Op | None = None  # a first step: the operation to plan again once it succeeded

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    @property
    def claims(self) -> frozenset[Claim]:
        """What it will hold while it runs (the claims rule, applied once here)."""
        return claims_of(self.node, self.recovery_hosts, on_recovery_hosts=self.on_recovery_hosts)


def _sites(snap: NodeSnapshot) -> tuple[str, str]:
    active = [s.name for s in snap.sites if (s.sitetype or "").upper() in ("ACTIVE", "HOME")]
    backup = [s.name for s in snap.sites if (s.sitetype or "").upper() == "BACKUP"]
    if snap.flavour is Flavour.POWERVS and not active:
        # PowerVS sites carry no type: the active one is where the workgroups run
        names = [s.name for s in snap.sites]
        running = [s.name for s in snap.sites if s.active_workgroups]
        active = running[:1] or names[:1]
        backup = [n for n in names if n not in active][:1]
    if not active or not backup:
        raise PlanRefused(f"{snap.node}: cannot tell the active and backup sites (read the node first)")
    return active[0], backup[0]


def _resync_target(snap: NodeSnapshot, workgroup: str | None) -> tuple[str, str]:
    """(class, name) a resync works on: a PowerVS workgroup, an on-prem disk
    group; by default the first whose replication is not in a consistent
    state (else the first)."""
    powervs = snap.flavour is Flavour.POWERVS
    groups = [(g.workgroup or g.name or "", g.cg_state or "") for g in snap.disk_groups]
    names = [n for n, _ in groups if n]
    if powervs and not names:
        names = [w.name for w in snap.workgroups]
    if workgroup is not None:
        if names and workgroup not in names:
            raise PlanRefused(f"{snap.node} has no {'workgroup' if powervs else 'disk group'} {workgroup}: "
                              f"it has {', '.join(names)}")
        return ("workgroup" if powervs else "disk_group"), workgroup
    unhealthy = [n for n, state in groups if n and not state.startswith("consistent")]
    candidates = unhealthy or names
    if not candidates:
        raise PlanRefused(f"{snap.node}: nothing to resync (no {'workgroup' if powervs else 'disk group'} "
                          "reported; read the node first)")
    return ("workgroup" if powervs else "disk_group"), candidates[0]


def plan(op: Op, snap: NodeSnapshot, *, force: bool, site: str | None = None, to_site: str | None = None,
         verify: bool = False, workgroup: str | None = None) -> PlannedOp:
    """The exact command for ``op`` on this node. ``force`` (-f, skip the
    node's own prompts) is given only after the operator confirmed.
    ``verify``: a discover that also verifies (``verify=yes``), and so works
    on the recovery hosts like a verify. ``workgroup``: what a resync works
    on (a PowerVS workgroup or an on-prem disk group; default: the first
    whose replication is not consistent)."""
    active, backup = _sites(snap)
    known = [x.name for x in snap.sites]
    for given in (site, to_site):
        if given is not None and given not in known:
            raise PlanRefused(f"{snap.node} has no site {given}: it has {', '.join(known)}")
    if site is not None and site == to_site:
        raise PlanRefused(f"a move goes from one site to another, not from {site} to {site}")
    if op is Op.CLEANUP and any((v.dr_test_state or "INIT") not in ("INIT", "DRTESTCLEANUP_COMPLETED") for v in snap.vms):
        op = Op.DR_TEST_CLEANUP
    src = site or active
    dst = to_site or (backup if src == active else active)
    if op is Op.VERIFY and snap.flavour is Flavour.POWERVS:
        raise PlanRefused("PowerVS DR Automation has no verify: discovery makes VMs ready")
    if verify and snap.flavour is Flavour.POWERVS:
        verify = False  # discovery alone makes PowerVS VMs ready (no verify=yes there)
    if op is Op.DISCOVER:
        argv = commands.build_discover_site(src, verify=verify)
    elif op is Op.VERIFY:
        argv = commands.build_verify_site(src)
    elif op in (Op.MOVE_PLANNED, Op.MOVE_UNPLANNED):
        argv = commands.build_move_site(src, dst, force=force,
                                        dr_type="unplanned" if op is Op.MOVE_UNPLANNED else "planned")
    elif op is Op.DR_TEST:
        argv = commands.build_move_site(src, dst, dr_test=True, force=force)
    elif op is Op.DR_TEST_CLEANUP:
        argv = commands.build_cleanup_site(src, dr_test=True, force=force)
    elif op is Op.CLEANUP:
        # INFERRED: after an unplanned move, clean up the old active site (now the
        # backup); -f once confirmed: KSYS accepts `ksysmgr -f cleanup site X` even
        # after a cleanup failed (CLEANUP_FAILED)
        argv = commands.build_cleanup_site(site or backup, force=force)
        src, dst = site or backup, active
    elif op is Op.RECOVER:
        argv = commands.build_recover_site(src)
    elif op is Op.RESYNC:
        klass, name = _resync_target(snap, workgroup)
        argv = commands.build_resync(klass, name, force=force)
    else:
        raise PlanRefused(f"{op.value} is not an operation the arbiter runs")
    on_hosts = works_on_recovery_hosts(op, verify=verify)
    touched = touches.resources(op, snap, src, dst) if on_hosts else []
    if on_hosts and not touched:
        raise PlanRefused(f"{snap.node}: cannot tell what the {OP_LABEL[op]} works on at the recovery site "
                          "(no paired recovery host or workspace in what the node reports; read the node first)")
    return PlannedOp(op, snap.node, snap.tenant, tuple(argv), src,
                     dst if op in (Op.MOVE_PLANNED, Op.MOVE_UNPLANNED, Op.DR_TEST) else None,
                     tuple(r.key for r in touched), tuple(r.name for r in touched), on_hosts)


def steps(op: Op, snap: NodeSnapshot, *, force: bool, site: str | None = None, to_site: str | None = None,
          workgroup: str | None = None) -> tuple[PlannedOp, ...]:
    """What an operator's intent takes, in order. Usually one operation. A
    planned move of a moved tenant (its VMs MOVED, not READY_TO_MOVE) is the
    move home (failback): the site the VMs now run on is first discovered
    and, on-prem, verified against the home hosts, then moved back. The
    console and ``submit`` queue the first step; the next is planned again
    once it has run (on the node's state then, never on today's guess)."""
    planned = plan(op, snap, force=force, site=site, to_site=to_site, workgroup=workgroup)
    if planned.op is not Op.MOVE_PLANNED:
        return (planned,)
    managed = [v for v in snap.vms if v.state != lifecycle.UNMANAGED]
    waiting = [v for v in managed if v.state != "READY_TO_MOVE"]
    # only a moved tenant (its VMs MOVED by the last move): any other VM that is not
    # ready is the operator's to look at (the confirmation says why it would be refused)
    moved = any(v.state == "MOVED" for v in waiting)
    if not moved or not all(v.state in lifecycle.ALLOWED_FROM[Op.DISCOVER] for v in waiting):
        return (planned,)
    home = "move home"
    onprem = snap.flavour is Flavour.ONPREM
    first = plan(Op.DISCOVER, snap, force=force, site=planned.site, verify=onprem)
    what = "discovers and verifies" if onprem else "discovers"
    states = ", ".join(sorted({v.state for v in waiting}))
    first = replace(first, purpose=(
        f"step 1 of 2 of the {home} to {planned.to_site}: the VMs are {states}, a move needs READY_TO_MOVE; "
        f"this {what} {planned.site} first, then ask for the move again"), then=planned.op)
    return first, replace(planned, purpose=f"step 2 of 2: the {home} to {planned.to_site}")


ALL_VMS_MUST_QUALIFY = (Op.MOVE_PLANNED, Op.MOVE_UNPLANNED, Op.DR_TEST)
SOME_VM_MUST_QUALIFY = (Op.DR_TEST_CLEANUP, Op.CLEANUP, Op.RECOVER)


def preconditions(op: Op, snap: NodeSnapshot, now: datetime) -> list[str]:
    """Why ``op`` must not be sent now, judged on the node's latest snapshot
    (empty: it may). Stale data is no ground for a move."""
    f = snap.freshness(now, "vm")
    if f is not Freshness.FRESH:
        why = f" ({snap.health.last_error})" if snap.health.last_error else ""
        return [f"{snap.node}: VM states are {f.value}{why}"]
    managed = [v for v in snap.vms if v.state != "UNMANAGED"]
    refusals = [r.reason for v in managed if (r := lifecycle.refusal(op, v.name, v.state, v.dr_test_state))]
    if op in ALL_VMS_MUST_QUALIFY:
        return refusals
    if op in SOME_VM_MUST_QUALIFY and managed and len(refusals) == len(managed):
        return [f"no VM of {snap.node} needs a {OP_LABEL[op]}: " + refusals[0]]
    return []


# --- after a crash: what became of an operation that was sent ----------------------------
_OUTCOME_EVENTS: dict[Op, tuple[str, ...]] = {
    Op.DISCOVER: ("DISCOVERY",),
    Op.VERIFY: ("VERIFY",),
    Op.MOVE_PLANNED: ("MOVE",),
    Op.MOVE_UNPLANNED: ("MOVE",),
    Op.DR_TEST: ("DRTEST",),
    Op.DR_TEST_CLEANUP: ("CLEANUP",),
    Op.CLEANUP: ("CLEANUP",),
    Op.RECOVER: ("RECOVERY",),
}


def judge_outcome(op: Op, started_at: datetime, snap: NodeSnapshot, node_busy: bool) -> tuple[OpState, str]:
    """(state, why) for an operation found running after a crash:
    RUNNING while the node still works on something, else succeeded /
    failed from the node's own events after the start, else in_doubt for an
    operator to decide. Never a reason to send anything again."""
    if node_busy:
        return OpState.RUNNING, "the node is still running an operation"
    bases = _OUTCOME_EVENTS.get(op, ())
    verdict: tuple[OpState, str] | None = None
    since = started_at.replace(microsecond=0)  # node event times have whole seconds
    for ev in snap.events:
        t = event_time(ev)
        if t is None or t < since:
            continue
        for base in bases:
            if ev.name in (f"{base}_SUCCESS", f"{base}_FAILED"):
                ok = ev.name.endswith("_SUCCESS")
                verdict = (OpState.SUCCEEDED if ok else OpState.FAILED, f"node event {ev.name} at {ev.time}")
    if verdict is not None:
        return verdict
    return OpState.IN_DOUBT, "no outcome event from the node after the start; check the node and decide"
