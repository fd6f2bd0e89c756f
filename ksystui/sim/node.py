"""One simulated KSYS node: its cluster state, the ksysmgr entry point (the
command line is parsed here and run by the interpreter the world hands the
node), and the REST views of the PowerVS flavour."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from ksystui.core.ksysmgr.errors import KsysmgrUsageError
from ksystui.core.ksysmgr.grammar import (
    RC_ERROR,
    RC_SUCCESS,
    actions_for_class,
    parse_command,
    usage_text,
)
from ksystui.core.model import Flavour
from ksystui.sim.cluster import ClusterState, stable_uuid
from ksystui.sim.ports import CommandIO, KsysmgrExecutor, NodeWorld
from ksystui.sim.scenario import NodeSpec


@dataclass(frozen=True)
class RestInfo:
    instance_id: str
    token: str


class SimNode:
    def __init__(self, spec: NodeSpec, world: NodeWorld, execute: KsysmgrExecutor,
                 token: str | None = None):
        self.spec = spec
        self.world = world
        # the ksysmgr interpreter, handed in by the world: importing it here would close an import circle
        self._execute = execute
        self.name = spec.name
        self.tenant = spec.tenant
        self.flavour = Flavour(spec.flavour)
        self.cluster_name = spec.cluster
        self.state = ClusterState(spec)
        self.rest: RestInfo | None = (
            RestInfo(stable_uuid(spec.name, "instance"), token or "") if spec.rest else None
        )
        self.current_operation: str | None = None  # what holds the node's operation lock
        self.command_log: list[tuple[str, ...]] = []  # every command line received: a test oracle
        self.render_cache: dict[tuple, tuple[list, str]] = {}

    # --- the operation lock ------------------------------------------------
    # KSYS runs one operation at a time; a second is refused, never queued
    # (queuing is the arbiter's job, in ksystui).
    def try_begin(self, description: str) -> bool:
        if self.current_operation is not None:
            return False
        self.current_operation = description
        return True

    def end(self) -> None:
        self.current_operation = None

    # --- ksysmgr ---------------------------------------------------------------
    async def run_ksysmgr(self, args: list[str], io: CommandIO) -> int:
        """Run one ksysmgr command line (the words after ``ksysmgr``)."""
        self.command_log.append(tuple(args))
        try:
            cmd = parse_command(args)
        except KsysmgrUsageError as exc:
            await io.write_err(exc.message + "\n")
            if exc.usage:
                await io.write_err(exc.usage)
            return exc.rc
        if cmd.action is None or cmd.help:
            await io.write(usage_text(cmd.action, cmd.klass))
            return RC_SUCCESS if cmd.help or cmd.action is None else RC_ERROR
        if cmd.action == "help":
            if cmd.klass:
                await io.write(f"Available actions for {cmd.klass}:\n")
                for a in actions_for_class(cmd.klass):
                    await io.write(f"- {a}\n")
            else:
                await io.write(usage_text())
            return RC_SUCCESS
        return await self._execute(self, cmd, io)

    # --- REST views (PowerVS DR Automation service, reference §6.1) ----------
    def rest_managed_vms(self) -> dict:
        vms = {}
        backup = self.state.backup_site()
        for v in self.state.managed_vms():
            vms[stable_uuid(self.name, "pvm", v.name)] = {
                "core": v.processors,
                "dr_average_time": 420,
                "dr_region": backup.region,
                "memory": v.memory_gb,
                "region": self.state.sites[v.site].region,
                "vm_name": v.name,
                "workgroup_name": f"{v.name}_WG",
                "workspace_name": v.workspace,
            }
        return {"managed_vm_list": vms}

    def rest_summary(self) -> dict:
        active = self.state.active_site()
        backup = self.state.backup_site()
        busy = self.current_operation
        return {
            "managed_vm_list": self.rest_managed_vms()["managed_vm_list"],
            "orchestrator_details": {
                "orchestrator_name": self.name,
                "orchestrator_status": "ACTIVE",
                "orchestrator_cluster_message": "ksys is running fine",
                "orchestrator_config_status": "KSYS-DISCOVERY-SUCCESS",
                "orchestrator_workspace_name": (active.workspaces or [""])[0],
                "orchestrator_location_type": "off-premises",
                "location_id": active.region,
                "latest_orchestrator_time": datetime.now(UTC).isoformat(),
                "orch_ext_connectivity_status": "Active",
                "mfa_enabled": "false",
                "current_operation": busy,
            },
            "service_details": {
                "deployment_name": f"{self.tenant}-dr",
                "plan_name": "DR Automation Public Plan",
                "recovery_location": backup.region,
                "status": "active",
                "orchestrator_ha": False,
                "primary_orchestrator_dashboard_url": "https://127.0.0.1:3000/login?byCloud=true",
            },
        }

    def rest_events(self, from_time: datetime | None, to_time: datetime | None) -> list[dict]:
        out = []
        for ev in self.state.events:
            if from_time and ev.time < from_time:
                continue
            if to_time and ev.time > to_time:
                continue
            out.append(self._event_json(ev))
        return out

    def rest_event(self, event_id: str) -> dict | None:
        for ev in self.state.events:
            if ev.id == event_id:
                return self._event_json(ev)
        return None

    def _event_json(self, ev) -> dict:
        level = {"error": "error", "warning": "warning", "info": "info"}.get(ev.type, "notice")
        return {
            "action": "update",
            "api_source": "orchestrator",
            "event_id": ev.id,
            "level": level,
            "message": f"{ev.name}: {ev.description}" + (f" ({ev.resource})" if ev.resource else ""),
            "message_data": {"event_name": ev.name, "resource": ev.resource},
            "metadata": {"node": self.name},
            "resource": ev.resource or self.name,
            "time": ev.time.isoformat().replace("+00:00", "Z"),
            "timestamp": str(int(ev.time.timestamp())),
            "user": {"email": "", "name": "ksys", "user_id": "ksys"},
        }

    def rest_last_operation(self) -> dict:
        last = self.state.last_operation
        if self.current_operation:
            return {"operation": self.current_operation, "status": "in_progress"}
        if last is None:
            return {"operation": None, "status": "none"}
        return dict(last)

    # --- helpers for operations ------------------------------------------------
    async def pause(self, seconds: float) -> None:
        """Simulated work: ``seconds`` of real-KSYS time scaled by the world's
        speed, with a little jitter so concurrent nodes interleave naturally."""
        scaled = seconds / self.world.speed
        if scaled > 0:
            await asyncio.sleep(scaled * random.uniform(0.9, 1.1))
