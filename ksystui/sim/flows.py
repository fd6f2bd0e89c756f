"""Step-by-step flows of the long operations: what a node prints, how long
each step takes (scaled by the world's speed), and what faults break.

Wording: PowerVS discover, DR-test move, DR-test cleanup and resync lines are
verbatim templates from ksys-reference §2.4. The on-prem verify, planned and
unplanned move, cleanup and recover lines are INFERRED (§2.4 end, §2.5):
no public sample of them exists.

Every state a VM or a site enters here comes from ``core.lifecycle`` (the
transient state while a step runs, the state a success or a failure at each
stage leaves): the arbiter judges its preconditions on the same table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ksystui.core import lifecycle
from ksystui.core.ksysmgr import render
from ksystui.core.lifecycle import Op, Stage
from ksystui.core.model import Flavour, ProgressLine
from ksystui.sim.cluster import SimHost, SimVm
from ksystui.sim.ports import CommandIO, NodeView, OpRequest
from ksystui.sim.provider import CapacityFailure, HostBusy

# Seconds of real-KSYS time per step, before the world's speed divides them.
STEP = {
    "start": 2.0,
    "discover_vm": 4.0,
    "replicate": 2.0,
    "verify_vm": 3.0,
    "shutdown": 3.0,
    "reversal": 4.0,
    "boot": 5.0,
    "rehearsal": 6.0,
    "removal": 3.0,
    "resync": 5.0,
}


class Progress:
    def __init__(self, io: CommandIO, timestamps: bool):
        self.io = io
        self.timestamps = timestamps

    async def line(self, message: str, depth: int = 0) -> None:
        stamp = datetime.now().strftime("%H:%M:%S") if self.timestamps else None
        text = render.render_progress_line(ProgressLine(message=message, time=stamp, depth=depth), self.timestamps)
        await self.io.write(text.rstrip("\n") + "\n")

    async def plain(self, text: str) -> None:
        await self.io.write(text + "\n")


# --- what faults break -------------------------------------------------------
def host_problem(node: NodeView, host: SimHost | None) -> str | None:
    if host is None:
        return "no paired host on the other site"
    if host.state != "Operating":
        return f"host {host.name} is not operating (state {host.state})"
    if host.hmc and node.world.faults.is_active("hmc_unreachable", host.hmc):
        return f"HMC {host.hmc} is unreachable"
    return None


def capacity_problem(node: NodeView, req: OpRequest, vm: SimVm, host: SimHost | None) -> str | None:
    """A boot the host has no room for, with what every node runs there:
    the reason the boot fails. Raises INSUFFICIENT_HOST_CAPACITY on the node
    and logs it in the world's capacity log (the capacity check's oracle)."""
    if host is None:
        return None
    short = node.world.boot_shortfall(node.state, vm, host, clone=req.op is Op.DR_TEST)
    if short is None:
        return None
    reason = short.reason()
    node.world.capacity_failures.record(CapacityFailure(
        short.host, short.uuid, node.name, node.tenant, vm.name, req.description, short.needed, short.free,
        datetime.now(UTC)))
    node.state.add_event("INSUFFICIENT_HOST_CAPACITY", host.name, f"{reason[0].upper()}{reason[1:]} (VM {vm.name}).")
    return reason


def storage_problem(node: NodeView) -> str | None:
    for agent in node.state.storage_agents.values():
        if node.world.faults.is_active("storage_unreachable", agent.name):
            return f"storage agent {agent.name} is unreachable"
    return None


def vm_host(node: NodeView, vm: SimVm) -> SimHost | None:
    return node.state.hosts.get(vm.host) if vm.host else None


def _event(node: NodeView, req: OpRequest, base: str, ok: bool | None, resource: str | None = None,
           description: str | None = None) -> None:
    suffix = "STARTED" if ok is None else ("SUCCESS" if ok else "FAILED")
    name = f"{base}_{suffix}"
    if req.automatic and base == "DISCOVERY":
        name = f"AUTO_DISCOVERY_{suffix}"
    if req.automatic and base == "VERIFY" and ok is not None:
        name = "DAILY_VERIFY_COMPLETE" if ok else "DAILY_VERIFY_FAILED"
    elif req.automatic and base == "VERIFY":
        return
    node.state.add_event(name, resource or req.site, description)


def _dr_test_state_after(op: Op, vm: SimVm, ok: bool, stage: Stage = Stage.WORK) -> str:
    return lifecycle.dr_test_state_after(op, vm.dr_test_state, ok, stage=stage) or vm.dr_test_state


# --- discover ----------------------------------------------------------------
async def discover(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    s = node.state
    powervs = node.flavour is Flavour.POWERVS
    scope = f"Workgroup {req.workgroup}" if req.workgroup else "entire site"
    await p.line(f"Running discovery on {scope}, this may take a few minutes...")
    _event(node, req, "DISCOVERY", None)
    await node.pause(STEP["start"])
    storage = storage_problem(node)
    ok = 0
    hosts_seen: set[str] = set()
    for vm in sorted(req.vms, key=lambda v: v.host or ""):
        if powervs:
            await p.line(f"Discovery has started for Workgroup {vm.name}_WG", 1)
        elif vm.host and vm.host not in hosts_seen:
            hosts_seen.add(vm.host)
            await p.line(f"Discovery has started for Host {vm.host}", 1)
        await p.line(f"Discovery has started for VM {vm.name}", 1)
        refused = lifecycle.refusal(Op.DISCOVER, vm.name, vm.state)
        problem = refused.reason if refused else (None if powervs else host_problem(node, vm_host(node, vm)))
        if problem is None:
            vm.set_state(lifecycle.transient_state(Op.DISCOVER, vm.state))
            await node.pause(STEP["discover_vm"])
            await p.line(f"Discovery for VM {vm.name} is complete", 1)
            await p.line(f"Replication enablement for volumes has started for VM {vm.name}", 1)
            await node.pause(STEP["replicate"])
            problem = storage
        if problem is not None:
            if refused is None:
                vm.set_state(lifecycle.state_after(Op.DISCOVER, vm.state, ok=False))
            await p.line(f"Discovery has failed for VM {vm.name}: {problem}", 1)
            continue
        await p.line(f"Replication enablement for volumes has completed for VM {vm.name}", 1)
        if powervs:
            await p.line(f"Backup VM creation has started for VM {vm.name}", 1)
            await p.line(f"Network Configuration has completed for VM {vm.name}", 1)
            await p.line(f"Backup VM {vm.name}_BackUp creation has completed", 1)
            await p.line(f"Discovery for Workgroup {vm.name}_WG is complete", 1)
        vm.set_state(lifecycle.state_after(Op.DISCOVER, vm.state, ok=True, flavour=node.flavour))
        ok += 1
    if ok and not s.disk_groups:
        s.build_disk_groups()
    if powervs and ok:
        await p.line(
            'Replication is going on in background. Please use "ksysmgr query Workgroup <wgname> '
            'status monitor=yes " to track the progress of the operation.', 1
        )
    await p.line(f"Discovery has finished for {req.workgroup or req.site}")
    await p.plain(f"{ok} out of {len(req.vms)} managed VMs have been successfully discovered")
    _event(node, req, "DISCOVERY", ok == len(req.vms))
    return ok == len(req.vms)


# --- verify (on-prem) --------------------------------------------------------
def replication_problem(node: NodeView) -> str | None:
    for dg in node.state.disk_groups.values():
        if dg.cg_state not in ("consistent_synchronized", "consistent_copying"):
            return f"disk group {dg.name} is not replicating (state {dg.cg_state})"
    return storage_problem(node)


async def verify(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    await p.line(f"Site verification started for {req.site}, this may take a few minutes...")
    _event(node, req, "VERIFY", None)
    await node.pause(STEP["start"])
    ok = 0
    for vm in req.vms:
        await p.line(f"Verification has started for VM {vm.name}", 1)
        refused = lifecycle.refusal(Op.VERIFY, vm.name, vm.state)
        problem = refused.reason if refused else None
        if problem is None:
            vm.set_state(lifecycle.transient_state(Op.VERIFY, vm.state))
            await node.pause(STEP["verify_vm"])
            problem = host_problem(node, node.state.target_host(vm)) or replication_problem(node)
        if problem is not None:
            if refused is None:
                vm.set_state(lifecycle.state_after(Op.VERIFY, vm.state, ok=False))
            await p.line(f"Verification has failed for VM {vm.name}: {problem}", 1)
            continue
        vm.set_state(lifecycle.state_after(Op.VERIFY, vm.state, ok=True))
        await p.line(f"Verification for VM {vm.name} is complete", 1)
        ok += 1
    await p.line(f"Verification has finished for {req.site}")
    await p.plain(f"{ok} out of {len(req.vms)} VMs have been successfully verified")
    _event(node, req, "VERIFY", ok == len(req.vms))
    return ok == len(req.vms)


# --- planned and unplanned move -------------------------------------------------
async def move(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    s = node.state
    planned = req.op is Op.MOVE_PLANNED
    src, dst = req.from_site or req.site, req.to_site or ""
    await p.line(f"Site move started for {src} to {dst}, this may take a few minutes...")
    _event(node, req, "MOVE", None)
    targets = {vm.name: s.target_host(vm) for vm in req.vms}
    before = {vm.name: vm.state for vm in req.vms}
    for vm in req.vms:
        vm.set_state(lifecycle.transient_state(req.op, vm.state))
    await node.pause(STEP["start"])
    stuck: list[SimVm] = []
    for vm in req.vms:
        await p.line(f"Shutdown on {src} Site has started for VM {vm.name}", 1)
        await node.pause(STEP["shutdown"])
        problem = host_problem(node, vm_host(node, vm)) if vm.host else None
        if problem:
            await p.line(f"Shutdown on {src} Site has failed for VM {vm.name}: {problem}", 1)
            if planned:
                stuck.append(vm)
                continue
        else:
            await p.line(f"Shutdown on {src} Site has completed for VM {vm.name}", 1)
        vm.status = "SHUTOFF"
    if stuck:
        # a planned move never leaves a VM half-way: restart what was shut down
        for vm in req.vms:
            if vm in stuck:
                vm.set_state(lifecycle.state_after(req.op, vm.state, ok=False, stage=Stage.SHUTDOWN))
            else:
                vm.status = "ACTIVE"
                vm.set_state(lifecycle.state_after(req.op, before[vm.name], ok=False, stage=Stage.ROLLED_BACK))
                await p.line(f"Boot up on {src} Site has completed for VM {vm.name}", 1)
        return await _move_finished(node, req, p, src, dst, 0)
    problem = storage_problem(node) or (replication_problem(node) if planned else None)
    for dg in s.disk_groups.values():
        await p.line(f"Storage replication reversal has started for Disk_Group {dg.name}", 1)
        await node.pause(STEP["reversal"])
        if problem:
            await p.line(f"Storage replication reversal has failed for Disk_Group {dg.name}: {problem}", 1)
            for vm in req.vms:
                vm.set_state(lifecycle.state_after(req.op, vm.state, ok=False, stage=Stage.REVERSAL))
            return await _move_finished(node, req, p, src, dst, 0)
        dg.site = dst
        dg.set_copy(*(("consistent_copying", 0.0) if planned else ("idling", 0.0)))
        await p.line(f"Storage replication reversal has completed for Disk_Group {dg.name}", 1)
    moved = 0
    for vm in req.vms:
        target = targets[vm.name]
        await p.line(f"Boot up on {dst} Site has started for VM {vm.name}", 1)
        await node.pause(STEP["boot"])
        if target is not None and node.flavour is Flavour.ONPREM:
            vm.host = target.name  # PowerVS VMs run in a workspace, not on a host of ours
        vm.site = dst
        problem = host_problem(node, target) if vm.host or target else None
        problem = problem or capacity_problem(node, req, vm, target)
        if problem:
            vm.set_state(lifecycle.state_after(req.op, vm.state, ok=False))
            await p.line(f"Boot up on {dst} Site has failed for VM {vm.name}: {problem}", 1)
            continue
        vm.status = "ACTIVE"
        vm.cleanup_pending = lifecycle.leaves_cleanup(req.op)
        vm.set_state(lifecycle.state_after(req.op, vm.state, ok=True))
        await p.line(f"Boot up on {dst} Site has completed for VM {vm.name}", 1)
        moved += 1
    if not req.workgroup:
        s.sites[src].sitetype, s.sites[dst].sitetype = lifecycle.site_types_after(
            req.op, s.sites[src].sitetype, s.sites[dst].sitetype)
    return await _move_finished(node, req, p, src, dst, moved)


async def _move_finished(node: NodeView, req: OpRequest, p: Progress, src: str, dst: str, moved: int) -> bool:
    ok = moved == len(req.vms)
    await p.line(f"Site move {'completed' if ok else 'failed'} from {src} to {dst}")
    await p.plain(f"{moved} out of {len(req.vms)} managed VMs have been successfully moved")
    _event(node, req, "MOVE", ok)
    return ok


# --- DR test (failover rehearsal) and its cleanup -----------------------------
async def dr_test(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    dst = req.to_site or ""
    if req.workgroup:
        await p.line(f"Workgroup dr_test move started for {req.workgroup} to {dst}, this may take a few minutes...")
    else:
        # The public sample prints from/to swapped here; we print them as given.
        await p.line(f"Site dr_test move started for {req.from_site} to {dst}, this may take a few minutes...")
    _event(node, req, "DRTEST", None)
    storage = storage_problem(node)
    ok = 0
    for vm in req.vms:
        wg = f"{vm.name}_WG"
        vm.dr_test_state = lifecycle.dr_test_transient_state(Op.DR_TEST, vm.dr_test_state)
        if node.flavour is Flavour.POWERVS:
            await p.line(f"dr_test move has started for Workgroup {wg}", 1)
        await p.line(f"Rehearsal VM creation has started for VM {vm.name}", 1)
        await node.pause(STEP["rehearsal"])
        await p.line(f"Rehearsal VM {vm.name}_Rehearsal creation has completed", 1)
        await p.line(f"VM Volumes clone with consistency has started for {vm.name}_BackUp", 1)
        await node.pause(STEP["replicate"])
        if storage:
            await p.line(f"VM Volumes clone with consistency has failed for {vm.name}_BackUp: {storage}", 1)
            vm.dr_test_state = _dr_test_state_after(Op.DR_TEST, vm, ok=False)
            continue
        await p.line(f"VM Volumes clone with consistency has completed for {vm.name}_BackUp", 1)
        await p.line(f"Boot up on {dst} Site has started for VM {vm.name}_Rehearsal", 1)
        await node.pause(STEP["boot"])
        clone_host = node.state.target_host(vm)
        problem = host_problem(node, clone_host) if node.state.hosts else None
        problem = problem or capacity_problem(node, req, vm, clone_host)
        if problem:
            await p.line(f"Boot up on {dst} Site has failed for VM {vm.name}_Rehearsal: {problem}", 1)
            vm.dr_test_state = _dr_test_state_after(Op.DR_TEST, vm, ok=False)
            continue
        vm.clone_on = clone_host.name if clone_host is not None else None
        await p.line(f"Boot up on {dst} Site has completed for VM {vm.name}_Rehearsal", 1)
        if node.flavour is Flavour.POWERVS:
            await p.line(f"dr_test move has completed for Workgroup {wg}", 1)
        vm.dr_test_state = _dr_test_state_after(Op.DR_TEST, vm, ok=True)
        ok += 1
    all_ok = ok == len(req.vms)
    word = "completed" if all_ok else "failed"
    if req.workgroup:
        await p.line(f"Workgroup dr_test move {word} for Workgroup {req.workgroup} to {dst}")
    else:
        await p.line(f"Site dr_test move {word} for Site {req.from_site} to {dst}")
    _event(node, req, "DRTEST", all_ok)
    return all_ok


async def dr_test_cleanup(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    scope = f"Workgroup dr_test cleanup started for {req.workgroup}" if req.workgroup else (
        f"Site dr_test cleanup started for {req.site}")
    await p.line(f"{scope}, this may take a few minutes...")
    _event(node, req, "CLEANUP", None)
    for vm in req.vms:
        if node.flavour is Flavour.POWERVS:
            await p.line(f"dr_test cleanup has started for Workgroup {vm.name}_WG", 1)
        await p.line(f"VM Volumes clone with consistency delete has started for VM {vm.name}_Rehearsal", 1)
        await p.line(f"VM Volumes clone with consistency delete has completed for VM {vm.name}_Rehearsal", 1)
        await p.line(f"VM Removal has started for VM {vm.name}_Rehearsal", 1)
        await node.pause(STEP["removal"])
        vm.clone_on = None  # the clone no longer takes room on the recovery host
        await p.line(f"VM Removal has completed for VM {vm.name}_Rehearsal", 1)
        if node.flavour is Flavour.POWERVS:
            await p.line(f"dr_test cleanup has completed for Workgroup {vm.name}_WG", 1)
        vm.dr_test_state = _dr_test_state_after(Op.DR_TEST_CLEANUP, vm, ok=True)
    if req.workgroup:
        await p.line(f"Workgroup dr_test cleanup has completed for Workgroup {req.workgroup}")
    else:
        await p.line(f"Site dr_test cleanup has completed for Site {req.site}")
    _event(node, req, "CLEANUP", True)
    return True


# --- cleanup after an unplanned move, recover, resync (INFERRED) ---------------
async def cleanup(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    await p.line(f"Site cleanup started for {req.site}, this may take a few minutes...")
    _event(node, req, "CLEANUP", None)
    ok = 0
    for vm in req.vms:
        old = node.state.hosts.get(node.state.hosts[vm.host].pair or "") if vm.host else None
        await p.line(f"VM Removal has started for VM {vm.name}", 1)
        vm.set_state(lifecycle.transient_state(Op.CLEANUP, vm.state))
        await node.pause(STEP["removal"])
        problem = host_problem(node, old) if vm.host else None
        if problem:
            vm.set_state(lifecycle.state_after(Op.CLEANUP, vm.state, ok=False))
            await p.line(f"VM Removal has failed for VM {vm.name}: {problem}", 1)
            continue
        vm.cleanup_pending = False
        vm.set_state(lifecycle.state_after(Op.CLEANUP, vm.state, ok=True))
        await p.line(f"VM Removal has completed for VM {vm.name}", 1)
        ok += 1
    all_ok = ok == len(req.vms)
    if all_ok:
        for dg in node.state.disk_groups.values():
            dg.set_copy("consistent_copying", 0.0)
    await p.line(f"Site cleanup has {'completed' if all_ok else 'failed'} for Site {req.site}")
    _event(node, req, "CLEANUP", all_ok)
    return all_ok


async def recover(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    _event(node, req, "RECOVERY", None)
    ok = 0
    for vm in req.vms:
        await p.line(f"Recovery has started for VM {vm.name}", 1)
        vm.set_state(lifecycle.transient_state(Op.RECOVER, vm.state))
        await node.pause(STEP["boot"])
        problem = host_problem(node, vm_host(node, vm)) if vm.host else None
        if problem:
            vm.set_state(lifecycle.state_after(Op.RECOVER, vm.state, ok=False))
            await p.line(f"Recovery has failed for VM {vm.name}: {problem}", 1)
            continue
        vm.status = "ACTIVE"
        vm.set_state(lifecycle.state_after(Op.RECOVER, vm.state, ok=True))
        await p.line(f"Recovery has completed for VM {vm.name}", 1)
        ok += 1
    _event(node, req, "RECOVERY", ok == len(req.vms))
    return ok == len(req.vms)


async def resync(node: NodeView, req: OpRequest, io: CommandIO) -> bool:
    p = Progress(io, req.timestamps)
    faults = node.world.faults
    problem = storage_problem(node) or (
        "replication link is down" if faults.is_active("replication_broken", node.name) else None
    )
    if node.flavour is Flavour.POWERVS:
        vm = req.vms[0]
        await p.plain(f"Workgroup {req.workgroup} resync has started")
        await p.line(f"Shutdown has started for VM {vm.name}_BackUp", 1)
        await p.line(f"Resync is in progress for Workgroup {req.workgroup}", 1)
        await p.line(f"Shutdown has completed for VM {vm.name}_BackUp", 1)
    else:
        await p.line(f"Resync has started for Disk_Group {req.workgroup}")
    await node.pause(STEP["resync"])
    dg = node.state.disk_groups.get(req.workgroup or "")
    if problem or dg is None:
        await p.line(f"Resync has failed for {'Workgroup' if node.flavour is Flavour.POWERVS else 'Disk_Group'} "
                     f"{req.workgroup}: {problem or 'no disk group'}", 1)
        return False
    dg.set_copy("consistent_synchronized", 100.0)
    kind = "Workgroup" if node.flavour is Flavour.POWERVS else "Disk_Group"
    await p.line(f"Resync has completed for {kind} {req.workgroup}", 1)
    node.state.add_event("RESYNC_SUCCESS", req.workgroup)
    return True


# --- the later of two operations on one recovery host ------------------------
async def contended(node: NodeView, req: OpRequest, io: CommandIO, busy: HostBusy) -> None:
    """Fail the way a contended managed system does. The message names the
    host but never the other tenant: a real KSYS cannot know who it is."""
    p = Progress(io, req.timestamps)
    host = busy.collision.host
    reason = f"recovery host {host} is busy with another operation on the managed system"
    await p.line(f"{req.description[:1].upper()}{req.description[1:]} started, this may take a few minutes...")
    op = Op.VERIFY if req.op is Op.DISCOVER else req.op
    for vm in req.vms:
        await p.line(f"Operation has failed for VM {vm.name}: {reason}", 1)
        vm.set_state(lifecycle.state_after(op, vm.state, ok=False, stage=Stage.CONTENDED))
        vm.dr_test_state = _dr_test_state_after(op, vm, ok=False, stage=Stage.CONTENDED)
    base = {Op.VERIFY: "VERIFY", Op.MOVE_PLANNED: "MOVE", Op.MOVE_UNPLANNED: "MOVE", Op.DR_TEST: "DRTEST",
            Op.RECOVER: "RECOVERY"}.get(op, "CLEANUP")
    _event(node, req, base, False, resource=host, description=f"{reason}.")
    await io.write_err(f"ERROR: {reason[0].upper()}{reason[1:]}; retry after it completes.\n")


FLOWS: dict[Op, Callable[[NodeView, OpRequest, CommandIO], Awaitable[bool]]] = {
    Op.DISCOVER: discover,
    Op.VERIFY: verify,
    Op.MOVE_PLANNED: move,
    Op.MOVE_UNPLANNED: move,
    Op.DR_TEST: dr_test,
    Op.DR_TEST_CLEANUP: dr_test_cleanup,
    Op.CLEANUP: cleanup,
    Op.RECOVER: recover,
    Op.RESYNC: resync,
}
