"""Long ksysmgr operations on a simulated node: checking the request, taking
the node's operation lock, claiming the shared recovery hosts, and handing
over to the step-by-step flows in ``flows``.

A node runs one operation at a time and refuses a second; queries keep
answering meanwhile and show the intermediate states.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ksystui.core import lifecycle
from ksystui.core.ksysmgr.grammar import (
    RC_ERROR,
    RC_INCORRECT_INPUT,
    RC_MISSING_INPUT,
    RC_NOT_FOUND,
    RC_SUCCESS,
    KsysmgrCommand,
    usage_text,
)
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.sim import flows
from ksystui.sim.cluster import SimVm
from ksystui.sim.ports import BUSY_MESSAGE, CommandIO, NodeView, OpRequest
from ksystui.sim.provider import HostBusy, RecoveryHost


class Refused(Exception):
    def __init__(self, message: str, rc: int, usage: str = ""):
        self.message, self.rc, self.usage = message, rc, usage
        super().__init__(message)


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("yes", "true"):
        return True
    if value.lower() in ("no", "false"):
        return False
    raise Refused(f"ERROR: invalid value \"{value}\" for {name}", RC_INCORRECT_INPUT)


def build_request(node: NodeView, cmd: KsysmgrCommand) -> OpRequest:
    """Turn a command line into an operation request, or raise Refused with
    the exit status ksysmgr gives."""
    s = node.state
    powervs = node.flavour is Flavour.POWERVS
    action, klass = cmd.action, cmd.klass
    with_time = cmd.timestamps or powervs  # PowerVS samples print times without -t
    usage = usage_text(action, klass)
    if klass == "host_group":
        raise Refused("ERROR: no host groups are configured on this KSYS cluster", RC_NOT_FOUND)
    wg: str | None = None
    wg_vms: list[SimVm] | None = None
    if klass == "workgroup":
        wg = cmd.name
        if not wg:
            raise Refused("ERROR: a workgroup name is required", RC_MISSING_INPUT, usage)
        vm = s.vms.get(wg[:-3]) if wg.endswith("_WG") else None
        if vm is None or vm.state == lifecycle.UNMANAGED:
            raise Refused(f"ERROR: Workgroup {wg} does not exist", RC_NOT_FOUND)
        wg_vms = [vm]

    def site_arg(value: str | None, what: str) -> str:
        if not value:
            raise Refused(f"ERROR: {what} is required", RC_MISSING_INPUT, usage)
        if value not in s.sites:
            raise Refused(f"ERROR: Site {value} does not exist", RC_NOT_FOUND)
        return value

    if action == "discover":
        site = wg_vms[0].site if wg_vms else site_arg(cmd.name, "a site name")
        if not wg_vms and site != s.active_site().name:
            raise Refused(f"ERROR: discovery runs on the active site; {site} is the backup site", RC_INCORRECT_INPUT)
        verify = _flag(cmd.attr("verify"), "verify")
        if verify and powervs:
            raise Refused("ERROR: verify=yes is not supported for cluster type IBM_PVS_DR", RC_INCORRECT_INPUT)
        target = f"workgroup {wg}" if wg else f"site {site}"
        return OpRequest(Op.DISCOVER, f"discover {target}", site, workgroup=wg,
                         vms=wg_vms or s.managed_vms(site), with_verify=verify, timestamps=with_time)
    if action == "verify":
        if powervs:
            raise Refused("ERROR: verify is not supported for cluster type IBM_PVS_DR", RC_INCORRECT_INPUT, usage)
        site = site_arg(cmd.name, "a site name")
        if site != s.active_site().name:
            raise Refused(f"ERROR: verify the active site; {site} is the backup site", RC_INCORRECT_INPUT)
        return OpRequest(Op.VERIFY, f"verify site {site}", site, vms=s.managed_vms(site), timestamps=with_time)
    if action == "move":
        dr_test = _flag(cmd.attr("dr_test"), "dr_test")
        dr_type = cmd.attr("dr_type")
        if dr_test and dr_type is not None:
            raise Refused("ERROR: When dr_test=yes, should not give dr_type attribute", RC_INCORRECT_INPUT, usage)
        if dr_type not in (None, "planned", "unplanned"):
            raise Refused(f"ERROR: invalid value \"{dr_type}\" for dr_type", RC_INCORRECT_INPUT, usage)
        _flag(cmd.attr("force"), "force")
        if wg_vms:
            to_site = site_arg(cmd.attr("to"), "to=<site_name>")
            from_site = wg_vms[0].site
        else:
            from_site = site_arg(cmd.attr("from"), "from=<sitename>")
            to_site = site_arg(cmd.attr("to"), "to=<sitename>")
        if from_site == to_site:
            raise Refused("ERROR: from and to must be different sites", RC_INCORRECT_INPUT, usage)
        if not wg_vms and from_site != s.active_site().name:
            raise Refused(f"ERROR: Site {from_site} is not the active site", RC_ERROR)
        op = Op.DR_TEST if dr_test else (Op.MOVE_UNPLANNED if dr_type == "unplanned" else Op.MOVE_PLANNED)
        words = "dr_test move" if dr_test else f"{dr_type or 'planned'} move"
        target = f"workgroup {wg}" if wg else "site"
        return OpRequest(op, f"{words} {target} from {from_site} to {to_site}", from_site,
                         from_site=from_site, to_site=to_site, workgroup=wg,
                         vms=wg_vms or s.managed_vms(from_site), timestamps=with_time)
    if action == "cleanup":
        dr_test = _flag(cmd.attr("dr_test"), "dr_test")
        if wg_vms:
            site = wg_vms[0].site
        else:
            site = site_arg(cmd.name, "a site name")
        if dr_test:
            vms = wg_vms or [v for v in s.managed_vms() if v.dr_test_state != lifecycle.DR_TEST_INITIAL]
            return OpRequest(Op.DR_TEST_CLEANUP, f"dr_test cleanup {'workgroup ' + wg if wg else 'site ' + site}",
                             site, workgroup=wg, vms=vms or s.managed_vms(), timestamps=with_time)
        if wg_vms:
            raise Refused("ERROR: dr_test=yes is required for cleanup workgroup", RC_MISSING_INPUT, usage)
        # INFERRED: after an unplanned move, clean up the old active site
        vms = [v for v in s.managed_vms() if v.cleanup_pending]
        if not vms:
            raise Refused(f"ERROR: there is nothing to clean up on site {site}", RC_ERROR)
        return OpRequest(Op.CLEANUP, f"cleanup site {site}", site, vms=vms, timestamps=with_time)
    if action == "recover":
        site = site_arg(cmd.name, "a site name")
        vms = [v for v in s.managed_vms() if v.state in lifecycle.ALLOWED_FROM[Op.RECOVER]]
        if not vms:
            raise Refused(f"ERROR: no VM needs recovery on site {site}", RC_ERROR)
        return OpRequest(Op.RECOVER, f"recover site {site}", site, vms=vms, timestamps=with_time)
    if action == "resync":
        if klass == "disk_group":
            name = cmd.name
            if not name or name not in s.disk_groups:
                raise Refused(f"ERROR: Disk group {name} does not exist", RC_NOT_FOUND)
            dg = s.disk_groups[name]
            vms = [s.vms[n] for n in {p.vm for p in dg.pairs} if n in s.vms]
            return OpRequest(Op.RESYNC, f"resync disk_group {name}", dg.site, workgroup=name, vms=vms,
                             timestamps=with_time)
        assert wg_vms is not None and wg is not None
        return OpRequest(Op.RESYNC, f"resync workgroup {wg}", wg_vms[0].site, workgroup=wg, vms=wg_vms,
                         timestamps=True)
    raise Refused(f"ERROR: {action} {klass} is not simulated", RC_ERROR)


async def _confirm(cmd: KsysmgrCommand, req: OpRequest, io: CommandIO) -> bool:
    """-f skips the prompts; a DR test always asks, other moves ask with -i."""
    if cmd.force:
        return True
    if req.op is Op.DR_TEST:
        await io.write("You are initiating a failover rehearsal across sites\n\nDo you wish to proceed? [y/n]\n")
    elif cmd.interactive and req.op in (Op.MOVE_PLANNED, Op.MOVE_UNPLANNED):
        # INFERRED wording, by analogy with the rehearsal prompt
        await io.write("You are initiating a move across sites\n\nDo you wish to proceed? [y/n]\n")
    else:
        return True
    answer = await io.readline()
    return (answer or "").strip().lower() in ("y", "yes")


async def run(node: NodeView, cmd: KsysmgrCommand, io: CommandIO) -> int:
    try:
        req = build_request(node, cmd)
        if req.op in (Op.MOVE_PLANNED, Op.DR_TEST):
            refusals = [r for v in req.vms if (r := lifecycle.refusal(req.op, v.name, v.state, v.dr_test_state))]
            if refusals:
                raise Refused("ERROR: " + refusals[0].reason, RC_ERROR)
        elif req.op is Op.MOVE_UNPLANNED:
            refusals = [r for v in req.vms if (r := lifecycle.refusal(req.op, v.name, v.state))]
            if refusals:
                raise Refused("ERROR: " + refusals[0].reason, RC_ERROR)
    except Refused as exc:
        await io.write_err(exc.message + "\n")
        if exc.usage:
            await io.write_err(exc.usage)
        return exc.rc
    if not await _confirm(cmd, req, io):
        await io.write("Operation cancelled by user\n")  # INFERRED wording
        return RC_ERROR
    return await perform(node, req, io)


async def perform(node: NodeView, req: OpRequest, io: CommandIO) -> int:
    """Run an accepted request under the node's operation lock."""
    if not node.try_begin(req.description):
        await io.write_err(BUSY_MESSAGE + "\n")
        return RC_ERROR
    started = datetime.now(UTC)
    claimed: list[RecoveryHost] = []
    ok = False
    try:
        needs_host = lifecycle.touches_recovery_host(req.op) or req.with_verify
        if needs_host:
            try:
                for host in _recovery_hosts(node, req):
                    host.enter(node.name, node.tenant, req.description)
                    claimed.append(host)
            except HostBusy as busy:
                await flows.contended(node, req, io, busy)
                return RC_ERROR
        ok = await flows.FLOWS[req.op](node, req, io)
        if ok and req.with_verify:
            verify = OpRequest(Op.VERIFY, f"verify site {req.site}", req.site,
                               vms=node.state.managed_vms(req.site), timestamps=req.timestamps,
                               automatic=req.automatic)
            ok = await flows.FLOWS[Op.VERIFY](node, verify, io)
        return RC_SUCCESS if ok else RC_ERROR
    finally:
        for host in claimed:
            host.leave(node.name)
        node.state.last_operation = {
            "operation": req.description,
            "status": "succeeded" if ok else "failed",
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
        }
        node.end()


def _recovery_hosts(node: NodeView, req: OpRequest) -> list[RecoveryHost]:
    """The shared physical hosts this operation works on at the other site."""
    s = node.state
    hosts = {}
    for vm in req.vms:
        if req.op in (Op.CLEANUP, Op.RECOVER) and vm.host:
            # after a move the VMs are on the recovery host itself
            targets = [s.hosts.get(vm.host)]
        elif req.op in (Op.MOVE_PLANNED, Op.MOVE_UNPLANNED) and vm.host:
            # a move shuts the VMs down where they run and boots them on the pair: it works
            # on both managed systems (a move home leaves the shared recovery host)
            targets = [s.hosts.get(vm.host), s.target_host(vm)]
        else:
            targets = [s.target_host(vm)]
        for target in targets:
            if target is not None:
                hosts[target.uuid] = node.world.recovery_host(target.uuid, target.name)
    return [hosts[k] for k in sorted(hosts)]
