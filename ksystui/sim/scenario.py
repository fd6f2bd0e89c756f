"""Scenario files: what a simulated fleet of KSYS nodes looks like at start.

A scenario is TOML (see fixtures/scenarios/draas-seed.toml). It is validated
with pydantic so a mistake names the file and the key instead of surfacing
as a KeyError deep in the simulator.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ksystui.config_oncall import Duration
from ksystui.core.model import VM_STATES
from ksystui.resources import SCENARIOS_DIR

SEED_SCENARIO = SCENARIOS_DIR / "draas-seed.toml"


class ScenarioError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantSpec(_Strict):
    name: str
    priority: int = Field(ge=1, description="agreement priority: 1 moves first")
    tier: str = "standard"
    # the agreement's objectives, spelled as in config.toml ("30m", "1h"); `ksystui sim` writes them there
    rto: Duration | None = None
    rpo: Duration | None = None


class SiteSpec(_Strict):
    name: str
    sitetype: Literal["active", "backup"]
    region: str | None = None
    workspaces: list[str] = []


class HmcSpec(_Strict):
    name: str
    site: str
    ip: str
    login: str = "hscroot"


class HostSpec(_Strict):
    name: str
    site: str
    uuid: str
    hmc: str | None = None
    pair: str | None = None
    vios: list[str] = []
    # The managed system's size, printed by `query host` (INFERRED keys memory_capacity /
    # Processors). Both or neither: a host without them is unlimited (boots never run out of room).
    memory_gb: float | None = Field(default=None, gt=0)
    processors: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _sized_whole(self) -> HostSpec:
        if (self.memory_gb is None) != (self.processors is None):
            raise ValueError(f"host {self.name}: give both memory_gb and processors (its size), or neither")
        return self


class StorageAgentSpec(_Strict):
    name: str
    site: str
    storagetype: str
    serialnumber: str
    ip: str
    login: str = "admin"


class VmSpec(_Strict):
    name: str
    host: str | None = None  # on-prem
    workspace: str | None = None  # PowerVS
    memory_gb: float = 8
    processors: float = 1.0
    priority: Literal["Low", "Medium", "High"] = "Medium"
    ip: str | None = None
    networks: list[str] = []
    system_type: str | None = None
    disks: int = Field(default=2, ge=1, le=64)
    state: str = "READY_TO_MOVE"
    # Flexible capacity (sourced keys Target_Flex_Mem / Target_Flex_Cpu): the percentage of its
    # memory / processors the VM boots with on the recovery side (1..1000; none: 100).
    target_flex_mem: int | None = None
    target_flex_cpu: int | None = None
    # PowerVS: what the shut-off backup VM holds on the DR side (Inactive_VM_Mem GB, at least 2;
    # Inactive_VM_Cpu cores, in steps of 0.25)
    inactive_vm_mem: float | None = None
    inactive_vm_cpu: float | None = None

    @model_validator(mode="after")
    def _state_known(self) -> VmSpec:
        if self.state not in VM_STATES:
            raise ValueError(f"unknown VM state {self.state!r}")
        for key in ("target_flex_mem", "target_flex_cpu"):
            pct = getattr(self, key)
            if pct is not None and not 1 <= pct <= 1000:
                raise ValueError(f"VM {self.name}: {key} is a percentage from 1 to 1000, not {pct}")
        if self.inactive_vm_mem is not None and self.inactive_vm_mem < 2:
            raise ValueError(f"VM {self.name}: inactive_vm_mem is at least 2 (GB), not {self.inactive_vm_mem:g}")
        cpu = self.inactive_vm_cpu
        if cpu is not None and (cpu <= 0 or abs(cpu * 4 - round(cpu * 4)) > 1e-9):
            raise ValueError(f"VM {self.name}: inactive_vm_cpu is a positive multiple of 0.25 (cores), not {cpu:g}")
        return self


class NodeSpec(_Strict):
    name: str
    tenant: str
    flavour: Literal["onprem", "powervs"]
    cluster: str
    version: str = "1.10.0.0"
    rest: bool = False
    auto_discovery_time: str = "00:00"
    sites: list[SiteSpec]
    hmcs: list[HmcSpec] = []
    hosts: list[HostSpec] = []
    storage_agents: list[StorageAgentSpec] = []
    vms: list[VmSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> NodeSpec:
        sites = {s.name for s in self.sites}
        if sorted(s.sitetype for s in self.sites) != ["active", "backup"]:
            raise ValueError(f"node {self.name}: needs exactly one active and one backup site")
        hosts = {h.name for h in self.hosts}
        placed: list[HmcSpec | HostSpec | StorageAgentSpec] = [*self.hmcs, *self.hosts, *self.storage_agents]
        for item in placed:
            if item.site not in sites:
                raise ValueError(f"node {self.name}: {item.name} names unknown site {item.site!r}")
        for h in self.hosts:
            if h.pair and h.pair not in hosts:
                raise ValueError(f"node {self.name}: host {h.name} pairs with unknown host {h.pair!r}")
        names = [v.name for v in self.vms]
        if len(names) != len(set(names)):
            raise ValueError(f"node {self.name}: duplicate VM names")
        for v in self.vms:
            if self.flavour == "onprem" and v.host not in hosts:
                raise ValueError(f"node {self.name}: VM {v.name} runs on unknown host {v.host!r}")
            if self.flavour == "onprem" and (v.inactive_vm_mem is not None or v.inactive_vm_cpu is not None):
                raise ValueError(f"node {self.name}: VM {v.name}: inactive_vm_mem / inactive_vm_cpu are the hold "
                                 "of a PowerVS backup VM; an on-prem node has none")
        return self


class ScenarioInfo(_Strict):
    name: str
    description: str = ""


class Scenario(_Strict):
    scenario: ScenarioInfo
    tenants: list[TenantSpec]
    nodes: list[NodeSpec]

    @model_validator(mode="after")
    def _tenants_known(self) -> Scenario:
        tenants = {t.name for t in self.tenants}
        for n in self.nodes:
            if n.tenant not in tenants:
                raise ValueError(f"node {n.name} belongs to unknown tenant {n.tenant!r}")
        names = [n.name for n in self.nodes]
        if len(names) != len(set(names)):
            raise ValueError("duplicate node names")
        # A recovery host shared by tenants must be the same machine everywhere:
        # one UUID, one name.
        by_uuid: dict[str, str] = {}
        sizes: dict[str, tuple[float, float]] = {}
        for n in self.nodes:
            for h in n.hosts:
                if by_uuid.setdefault(h.uuid, h.name) != h.name:
                    raise ValueError(f"host UUID {h.uuid} is named both {by_uuid[h.uuid]!r} and {h.name!r}")
                if h.memory_gb is not None and h.processors is not None:
                    size = (h.memory_gb, h.processors)
                    if sizes.setdefault(h.uuid, size) != size:
                        raise ValueError(f"host {h.name} ({h.uuid}) has two sizes: "
                                         f"{_size_text(sizes[h.uuid])} and {_size_text(size)}")
        return self

    def host_sizes(self) -> dict[str, tuple[float, float]]:
        """Every sized physical host, by CEC UUID: (memory GB, processors). One
        node giving a shared host's size sizes it for every node."""
        out: dict[str, tuple[float, float]] = {}
        for n in self.nodes:
            for h in n.hosts:
                if h.memory_gb is not None and h.processors is not None:
                    out.setdefault(h.uuid, (h.memory_gb, h.processors))
        return out


def _size_text(size: tuple[float, float]) -> str:
    return f"{size[0]:g} GB, {size[1]:g} CPU"


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise ScenarioError(f"{source}: {problems}") from None


def load_scenario(path: Path | str | None = None) -> Scenario:
    p = Path(path) if path else SEED_SCENARIO
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read scenario: {exc.strerror}") from None
    return parse_scenario(text, str(p))
