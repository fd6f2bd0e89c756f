"""The service provider's side: physical recovery hosts shared by tenants.

A recovery host such as snorlax is ONE object however many simulated KSYS
nodes pair with it (they are matched by CEC UUID). When operations from two
nodes are on it at the same moment, the later one fails as a contended host
would, and the overlap goes into the collision log — the test oracle for the
arbiter: with ksystui arbitrating, the log must stay empty. A boot a host has
no room for goes into the capacity log, the oracle of the capacity check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from ksystui.core.capacity import Size


@dataclass(frozen=True)
class Occupant:
    node: str
    tenant: str
    operation: str  # e.g. "verify site customerA"
    since: datetime

    def to_json(self) -> dict:
        return {
            "node": self.node,
            "tenant": self.tenant,
            "operation": self.operation,
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True)
class Collision:
    host: str
    host_uuid: str
    first: Occupant  # was on the host already (goes on)
    second: Occupant  # arrived while the first was there (fails)
    time: datetime

    def to_json(self) -> dict:
        return {
            "host": self.host,
            "uuid": self.host_uuid,
            "time": self.time.isoformat(),
            "nodes": [self.first.node, self.second.node],
            "tenants": [self.first.tenant, self.second.tenant],
            "operations": [self.first.operation, self.second.operation],
            "first": self.first.to_json(),
            "second": self.second.to_json(),
        }


class _Entry(Protocol):
    def to_json(self) -> dict: ...


E = TypeVar("E", bound=_Entry)


class EventLog(Generic[E]):
    """What the simulated provider site records for the tests to read (the
    collisions, the refused boots), in order."""

    def __init__(self) -> None:
        self._entries: list[E] = []

    def record(self, entry: E) -> None:
        self._entries.append(entry)

    def entries(self) -> list[E]:
        return list(self._entries)

    def to_json(self) -> list[dict]:
        return [e.to_json() for e in self._entries]

    def clear(self) -> None:
        self._entries.clear()


class CollisionLog(EventLog[Collision]):
    pass


@dataclass(frozen=True)
class CapacityFailure:
    """A boot the host refused: too little free memory or CPU. Like a
    collision, the test oracle for the arbiter's capacity check: with
    ksystui checking before each move and DR test, the log stays empty."""

    host: str
    host_uuid: str
    node: str
    tenant: str
    vm: str
    operation: str  # e.g. "planned move site from customerB to service_provider"
    needed: Size
    free: Size
    time: datetime

    def to_json(self) -> dict:
        def size(s: Size) -> dict:
            return {"memory_gb": round(s.memory_gb, 2), "cpu": round(s.cpu, 2)}

        return {
            "host": self.host,
            "uuid": self.host_uuid,
            "node": self.node,
            "tenant": self.tenant,
            "vm": self.vm,
            "operation": self.operation,
            "needed": size(self.needed),
            "free": size(self.free),
            "time": self.time.isoformat(),
        }


class CapacityLog(EventLog[CapacityFailure]):
    pass


class HostBusy(Exception):
    """Raised to the later of two overlapping operations on one recovery host."""

    def __init__(self, collision: Collision):
        self.collision = collision
        super().__init__(
            f"recovery host {collision.host} is in use by another operation"
        )


@dataclass
class RecoveryHost:
    name: str
    uuid: str
    log: CollisionLog
    occupants: dict[str, Occupant] = field(default_factory=dict)  # by node

    def enter(self, node: str, tenant: str, operation: str) -> None:
        """Claim the host for an operation of ``node``. Raises HostBusy (and
        logs the collision) when another node's operation is on it."""
        now = datetime.now(UTC)
        me = Occupant(node, tenant, operation, now)
        for other_node, other in self.occupants.items():
            if other_node != node:
                collision = Collision(self.name, self.uuid, other, me, now)
                self.log.record(collision)
                raise HostBusy(collision)
        self.occupants[node] = me

    def leave(self, node: str) -> None:
        self.occupants.pop(node, None)

    def holder(self) -> Occupant | None:
        return next(iter(self.occupants.values()), None)
