"""A simulated fleet: every KSYS node of a scenario, the provider's shared
recovery hosts (and the room on them), the collision and capacity logs and
the fault board."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ksystui.core import lifecycle
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.core.schedule import next_daily_run
from ksystui.sim import interpreter
from ksystui.sim.cluster import ClusterState, SimHost, SimVm
from ksystui.sim.faults import Fault, FaultBoard, lag_consistent_point
from ksystui.sim.host_capacity import BootShortfall, boot_shortfall
from ksystui.sim.node import SimNode
from ksystui.sim.operations import perform
from ksystui.sim.ports import NodeView, OpRequest
from ksystui.sim.provider import CapacityLog, CollisionLog, RecoveryHost
from ksystui.sim.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantInfo:
    name: str
    priority: int
    tier: str
    rto: timedelta | None = None  # the agreed objectives, as the scenario gives them
    rpo: timedelta | None = None


class NullIO:
    """Where the output of an automatic (unattended) operation goes."""

    async def write(self, text: str) -> None:
        return None

    async def write_err(self, text: str) -> None:
        return None

    async def readline(self) -> str | None:
        return None


class SimWorld:
    def __init__(self, scenario: Scenario, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.scenario = scenario
        self.speed = speed
        self.collisions = CollisionLog()
        self.capacity_failures = CapacityLog()
        self.tenants = {t.name: TenantInfo(t.name, t.priority, t.tier, rto=t.rto, rpo=t.rpo) for t in scenario.tenants}
        self.nodes: dict[str, SimNode] = {}
        for spec in scenario.nodes:
            token = secrets.token_urlsafe(24) if spec.rest else None
            self.nodes[spec.name] = SimNode(spec, self, interpreter.execute, token)
        # one machine, one size: a shared host sized by one node's scenario entry is that size for every node
        sizes = scenario.host_sizes()
        for n in self.nodes.values():
            for h in n.state.hosts.values():
                if h.uuid in sizes:
                    h.memory_gb, h.processors = sizes[h.uuid]
        self._recovery_hosts: dict[str, RecoveryHost] = {}
        self._saved_states: dict[tuple[str, str], str] = {}  # (node, vm) -> state before a host failure
        targets: dict[str, set[str]] = {"node": set(self.nodes), "host": set(), "hmc": set(), "storage_agent": set()}
        for n in self.nodes.values():
            targets["host"] |= set(n.state.hosts)
            targets["hmc"] |= set(n.state.hmcs)
            targets["storage_agent"] |= set(n.state.storage_agents)
        self.faults = FaultBoard(targets, self._fault_started, self._fault_cleared)
        self._tasks: list[asyncio.Task] = []
        self._wake: dict[str, asyncio.Event] = {}

    @classmethod
    def from_scenario(cls, path: Path | str | None, speed: float = 1.0) -> SimWorld:
        return cls(load_scenario(path), speed)

    @classmethod
    def seed(cls, speed: float = 1.0) -> SimWorld:
        return cls(load_scenario(None), speed)

    def recovery_host(self, uuid: str, name: str) -> RecoveryHost:
        """The one object standing for a physical host, whichever node asks."""
        host = self._recovery_hosts.get(uuid)
        if host is None:
            host = self._recovery_hosts[uuid] = RecoveryHost(name, uuid, self.collisions)
        return host

    def boot_shortfall(self, state: ClusterState, vm: SimVm, host: SimHost, *,
                       clone: bool = False) -> BootShortfall | None:
        return boot_shortfall((n.state for n in self.nodes.values()), state, vm, host, clone=clone)

    # --- fault side effects ------------------------------------------------------
    def _fault_started(self, fault: Fault) -> None:
        for node in self.nodes.values():
            s = node.state
            if fault.kind == "host_failure" and fault.target in s.hosts:
                s.hosts[fault.target].state = "Error"
                for vm in s.managed_vms():
                    if vm.host == fault.target:
                        self._saved_states[(node.name, vm.name)] = vm.state
                        vm.set_state(lifecycle.HOST_DOWN)
                        vm.status = "SHUTOFF"
                s.add_event("HOST_FAILURE", fault.target)
            elif fault.kind == "hmc_unreachable" and fault.target in s.hmcs:
                s.add_event("HMC_UNREACHABLE", fault.target)
            elif fault.kind == "storage_unreachable" and fault.target in s.storage_agents:
                s.add_event("STG_UNREACHABLE", fault.target)
            elif fault.kind == "replication_lag" and fault.target == node.name:
                behind = lag_consistent_point(fault)
                for dg in s.disk_groups.values():
                    dg.set_copy("consistent_copying", float(fault.params["progress"]), behind)
                s.add_event("REPLICATION_LAG", ",".join(s.disk_groups) or node.name)
            elif fault.kind == "replication_broken" and fault.target == node.name:
                for dg in s.disk_groups.values():
                    # the target keeps its last consistent image: the one of the moment the copy stopped
                    dg.set_copy("idling_disconnected", dg.progress, dg.consistent_point() or fault.since)
                s.add_event("REPLICATION_FAILURE", ",".join(s.disk_groups) or node.name)

    def _fault_cleared(self, fault: Fault) -> None:
        for node in self.nodes.values():
            s = node.state
            if fault.kind == "host_failure" and fault.target in s.hosts:
                s.hosts[fault.target].state = "Operating"
                for vm in s.managed_vms():
                    if vm.host == fault.target and vm.state == lifecycle.HOST_DOWN:
                        vm.set_state(self._saved_states.pop((node.name, vm.name), lifecycle.HOST_BACK))
                        vm.status = "ACTIVE"
                s.add_event("HOST_RECOVERED", fault.target)
            elif fault.kind == "hmc_unreachable" and fault.target in s.hmcs:
                s.add_event("HMC_REACHABLE", fault.target)
            elif fault.kind == "storage_unreachable" and fault.target in s.storage_agents:
                s.add_event("STG_REACHABLE", fault.target)
            elif fault.kind in ("replication_lag", "replication_broken") and fault.target == node.name:
                for dg in s.disk_groups.values():
                    dg.set_copy("consistent_synchronized", 100.0)
                s.add_event("REPLICATION_RESUMED", ",".join(s.disk_groups) or node.name)

    # --- daily automatic discovery ---------------------------------------------
    async def start(self) -> None:
        for node in self.nodes.values():
            self._wake[node.name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._daily(node), name=f"auto-discovery:{node.name}"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()

    def reschedule(self, node: NodeView) -> None:
        ev = self._wake.get(node.name)
        if ev:
            ev.set()

    async def _daily(self, node: SimNode) -> None:
        while True:
            wake = self._wake[node.name]
            wake.clear()
            when = next_daily_run(datetime.now(), node.state.system["auto_discovery_time"])
            delay = (when - datetime.now()).total_seconds()
            try:
                async with asyncio.timeout(max(0.0, delay)):  # not wait_for: a cancellation must never be swallowed
                    await wake.wait()
                continue  # the time was changed: compute again
            except TimeoutError:
                pass
            try:
                await self.run_auto_discovery(node)
            except Exception:  # the scheduler must outlive one bad run
                log.exception("auto discovery on %s failed", node.name)

    async def run_auto_discovery(self, node: SimNode) -> int:
        """What KSYS does at auto_discovery_time: discover the active site and,
        on-prem, verify it — touching the shared recovery host."""
        site = node.state.active_site().name
        req = OpRequest(
            Op.DISCOVER,
            f"auto discovery site {site}",
            site,
            vms=node.state.managed_vms(site),
            with_verify=node.flavour is Flavour.ONPREM,
            automatic=True,
        )
        if node.current_operation:
            node.state.add_event("AUTO_DISCOVERY_FAILED", site, "Another operation was in progress.")
            return 1
        return await perform(node, req, NullIO())
