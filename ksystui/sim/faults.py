"""Fault injection for the simulator: what can go wrong at a tenant or at the
provider, switched on and off by tests, the admin endpoint or a demo operator.

The board only records faults and answers questions about them; the world
applies their side effects (a failed host takes its VMs down and raises
HOST_FAILURE) through the callbacks it registers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# kind -> what its target names
FAULT_KINDS: tuple[str, ...] = (
    "host_failure",  # a host (production or recovery) stops: its VMs go DOWN
    "hmc_unreachable",  # an HMC stops answering: HMC_UNREACHABLE, operations through it fail
    "storage_unreachable",  # a storage agent stops answering: STG_UNREACHABLE, replication unknown
    "replication_lag",  # a node's disk groups fall behind: minutes= behind (an older consistent point), progress=
    "replication_broken",  # a node's disk groups stop replicating (idling_disconnected) from now on
    "slow",  # a node answers every command late (seconds=)
    "drop_ssh",  # a node's SSH connections drop in the middle of a command
    "node_down",  # a node is unreachable: connections refused
    "rest_error",  # a node's REST service answers with an error status (status=)
    "malformed_output",  # a node's query output comes back garbled
)

TARGET_KIND: dict[str, str] = {
    "host_failure": "host",
    "hmc_unreachable": "hmc",
    "storage_unreachable": "storage_agent",
    "replication_lag": "node",
    "replication_broken": "node",
    "slow": "node",
    "drop_ssh": "node",
    "node_down": "node",
    "rest_error": "node",
    "malformed_output": "node",
}

_DEFAULTS: dict[str, dict[str, float | int]] = {
    "slow": {"seconds": 2.0},
    "rest_error": {"status": 500},
    # 20 minutes behind: past the seed's tightest agreed RPO (customerA, 15m), within the others'
    "replication_lag": {"progress": 62.5, "minutes": 20},
}


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    target: str
    params: dict[str, float | int] = field(default_factory=dict)
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "params": dict(self.params),
            "since": self.since.isoformat(),
        }


class FaultBoard:
    def __init__(
        self,
        targets: dict[str, set[str]],
        on_inject: Callable[[Fault], None] | None = None,
        on_clear: Callable[[Fault], None] | None = None,
    ):
        """``targets`` maps a target kind (node, host, hmc, storage_agent) to
        the names that exist in the world."""
        self._targets = targets
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._on_inject = on_inject
        self._on_clear = on_clear

    def inject(self, kind: str, target: str, **params: float | int) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}")
        tkind = TARGET_KIND[kind]
        known = self._targets.get(tkind, set())
        if target not in known:
            raise ValueError(
                f"fault {kind} needs a {tkind} as target; {target!r} is not one "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
        merged: dict[str, float | int] = dict(_DEFAULTS.get(kind, {}))
        for key, value in params.items():
            if key not in merged:
                raise ValueError(f"fault {kind} takes no parameter {key!r}")
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"fault parameter {key} must be a number, not {value!r}")
            merged[key] = value
        if kind == "rest_error" and not 400 <= int(merged["status"]) <= 599:
            raise ValueError("rest_error status must be an HTTP error status (400-599)")
        if kind == "slow" and not 0 <= float(merged["seconds"]) <= 600:
            raise ValueError("slow seconds must be between 0 and 600")
        if kind == "replication_lag":
            if not 0 <= float(merged["progress"]) < 100:
                raise ValueError("replication_lag progress must be at least 0 and below 100")
            if not 0 < float(merged["minutes"]) <= 10 * 24 * 60:
                raise ValueError("replication_lag minutes must be more than 0 and at most 14400 (ten days)")
        # one fault per (kind, target): injecting again replaces the parameters
        self.clear(kind, target)
        fault = Fault(next(self._ids), kind, target, merged)
        self._faults.append(fault)
        if self._on_inject:
            self._on_inject(fault)
        return fault

    def clear(self, kind: str | None = None, target: str | None = None) -> int:
        gone = [
            f for f in self._faults
            if (kind is None or f.kind == kind) and (target is None or f.target == target)
        ]
        self._faults = [f for f in self._faults if f not in gone]
        for f in gone:
            if self._on_clear:
                self._on_clear(f)
        return len(gone)

    def active(self) -> list[Fault]:
        return list(self._faults)

    def to_json(self) -> list[dict]:
        return [f.to_json() for f in self._faults]

    def find(self, kind: str, target: str) -> Fault | None:
        for f in self._faults:
            if f.kind == kind and f.target == target:
                return f
        return None

    def is_active(self, kind: str, target: str) -> bool:
        return self.find(kind, target) is not None

    # --- questions the servers ask --------------------------------------
    def node_down(self, node: str) -> bool:
        return self.is_active("node_down", node)

    def slow_seconds(self, node: str) -> float:
        f = self.find("slow", node)
        return float(f.params["seconds"]) if f else 0.0

    def drop_ssh(self, node: str) -> bool:
        return self.is_active("drop_ssh", node)

    def rest_error(self, node: str) -> int | None:
        f = self.find("rest_error", node)
        return int(f.params["status"]) if f else None

    def malformed_output(self, node: str) -> bool:
        return self.is_active("malformed_output", node)


def lag_consistent_point(fault: Fault) -> datetime:
    """The last consistent point a ``replication_lag`` fault leaves on the
    target: ``minutes`` before the fault began, then frozen (a copy cycle that
    does not complete keeps its freeze time), so the lag grows from there."""
    return fault.since - timedelta(minutes=float(fault.params["minutes"]))
