"""One simulated KSYS node: its cluster state, the ksysmgr entry point (the
command line is parsed here and run by the interpreter the world hands the
node), and the REST views of the PowerVS flavour."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ksystui.core.ksysmgr.errors import KsysmgrUsageError
from ksystui.core.ksysmgr.grammar import (
    RC_ERROR,
    RC_SUCCESS,
    actions_for_class,
    parse_command,
    usage_text,
)
from ksystui.core.model import Flavour
from ksystui.sim.cluster import ClusterState, stable_uuid, stamp
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
        # The service broker's own events (§4.4 catalogue): the deployment's
        # history, which ksysmgr's event list does not show.
        self.broker_events: list[dict] = self._deployment_events() if self.rest else []

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
            # INFERRED: the public API has no replication field; a service that knew
            # the workgroup's last consistent point would send it like this
            dg = self.state.disk_groups.get(f"{v.name}_WG")
            if dg is not None and (point := stamp(dg.consistent_point())) is not None:
                vms[stable_uuid(self.name, "pvm", v.name)]["last_consistent_time"] = point
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
        """KSYS's events as the orchestrator pushes them to the broker [S16],
        and the broker's own, between the bounds (both inclusive)."""
        out = []
        for ev in self.state.events:
            if from_time and ev.time < from_time:
                continue
            if to_time and ev.time > to_time:
                continue
            out.append(self._event_json(ev))
        for raw in self.broker_events:
            when = datetime.fromisoformat(raw["time"].replace("Z", "+00:00"))
            if (from_time is None or when >= from_time) and (to_time is None or when <= to_time):
                out.append(dict(raw))
        return out

    def rest_event(self, event_id: str) -> dict | None:
        for ev in self.state.events:
            if ev.id == event_id:
                return self._event_json(ev)
        for raw in self.broker_events:
            if raw["event_id"] == event_id:
                return dict(raw)
        return None

    def _deployment_events(self) -> list[dict]:
        """The broker catalogue's deployment events (§4.4, S15), two hours ago."""
        assert self.rest is not None
        instance = self.rest.instance_id
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        rows = (
            ("Provision ID", "create", "Service provisioned successfully."),
            ("Manage DR", "create", "Service has deployed."),
            ("Orchestrator", "update", "Ksys running fine event has generated."),
        )
        out = []
        for i, (resource, action, message) in enumerate(rows):
            when = start + timedelta(minutes=5 * i)
            out.append({
                "action": action, "api_source": "broker", "event_id": f"{instance}-{int(when.timestamp())}{i}",
                "level": "info", "message": message, "message_data": {"Instanceid": instance},
                "metadata": {}, "resource": resource, "time": when.isoformat().replace("+00:00", "Z"),
                "timestamp": str(int(when.timestamp())), "user": {"email": "", "name": "ksys", "user_id": "ksys"},
            })
        return out

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
        """ServiceInstanceStatus (addendum: ``last_operation``), plus what
        the simulated orchestrator last ran (``operation``, ``operation_status``;
        INFERRED: the public schema has no such fields)."""
        backup = self.state.backup_site()
        status = {
            "crn": f"crn:v1:bluemix:public:power-dr-automation:{backup.region}:a/sim:{self.rest.instance_id if self.rest else ''}::",
            "deployment_name": f"{self.tenant}-dr",
            "orchestrator_ha": False,
            "orchestrator_cluster_message": "ksys is running fine",
            "orchestrator_config_status": "KSYS-DISCOVERY-SUCCESS",
            "orch_ext_connectivity_status": "Active",
            "plan_name": "DR Automation Public Plan",
            "primary_description": f"5/5: Primary orchestrator {self.name} is successfully deployed",
            "primary_orchestrator_status": "ACTIVE",
            "recovery_location": backup.region,
            "status": "active",
            "mfa_enabled": "false",
        }
        last = self.state.last_operation
        if self.current_operation:
            status |= {"operation": self.current_operation, "operation_status": "in_progress"}
        elif last is not None:
            status |= {"operation": last.get("operation"), "operation_status": last.get("status")}
        return status

    # --- helpers for operations ------------------------------------------------
    async def pause(self, seconds: float) -> None:
        """Simulated work: ``seconds`` of real-KSYS time scaled by the world's
        speed, with a little jitter so concurrent nodes interleave naturally."""
        scaled = seconds / self.world.speed
        if scaled > 0:
            await asyncio.sleep(scaled * random.uniform(0.9, 1.1))
