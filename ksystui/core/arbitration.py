"""Arbitration: which queued operations may start now, and in what order.

The rules of the house (DESIGN.md §3, the seed scenario):

* **Claims.** Every operation claims its KSYS node (KSYS runs one operation
  at a time). Verify, move, DR test and cleanup also claim every recovery
  host they touch at the target site, by CEC UUID: two tenants' operations on
  the same physical host are never admitted together. Discovery works on the
  production site and claims only its node — it runs in parallel.
* **Order.** Class first (unplanned move > planned move / move back >
  cleanup > verify > DR test > discover), then the tenant's agreement
  priority (1 first), then arrival. An operator may raise a request over
  others (with a written, audited reason): raised requests go first.
* **Admission.** Walk the waiting requests in order; admit one when none of
  its claims is held by a running operation or *reserved* by a waiting one
  ahead of it. Reservation is what keeps the order honest: a lower request
  never slips onto a host that a higher one is waiting for. A request whose
  claims meet nobody is admitted at once — no tenant starves behind an
  unrelated queue.
* Running operations are never pre-empted: a half-done move is worse than a
  late one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ksystui.core.lifecycle import Op, touches_recovery_host


class OpClass(StrEnum):
    UNPLANNED_MOVE = "unplanned move"
    PLANNED_MOVE = "planned move"
    CLEANUP = "cleanup"
    VERIFY = "verify"
    DR_TEST = "DR test"
    DISCOVER = "discover"


CLASS_OF: dict[Op, OpClass] = {
    Op.MOVE_UNPLANNED: OpClass.UNPLANNED_MOVE,
    Op.MOVE_PLANNED: OpClass.PLANNED_MOVE,
    Op.RECOVER: OpClass.UNPLANNED_MOVE,  # finishing a failed move is as urgent as the move
    Op.CLEANUP: OpClass.CLEANUP,
    Op.DR_TEST_CLEANUP: OpClass.CLEANUP,
    Op.VERIFY: OpClass.VERIFY,
    Op.DR_TEST: OpClass.DR_TEST,
    Op.DISCOVER: OpClass.DISCOVER,
    Op.RESYNC: OpClass.DISCOVER,
    Op.CONFIGURE: OpClass.DISCOVER,
}

CLASS_RANK: dict[OpClass, int] = {c: i for i, c in enumerate(OpClass)}


@dataclass(frozen=True, order=True)
class Claim:
    kind: str  # "node" or "host"
    name: str  # node name, or recovery host CEC UUID


@dataclass(frozen=True)
class Request:
    """A queued operation, as arbitration sees it (no I/O handles here)."""

    id: int
    tenant: str
    node: str
    op: Op
    priority: int  # the tenant's agreement priority: 1 is served first
    arrival: int  # monotonically increasing submission sequence
    recovery_hosts: frozenset[str] = field(default_factory=frozenset)  # CEC UUIDs
    raised: int = 0  # > 0: raised over others by an operator (higher first)
    with_verify: bool = False  # discover ... verify=yes touches the recovery host

    @property
    def op_class(self) -> OpClass:
        return CLASS_OF[self.op]


def claims(req: Request) -> frozenset[Claim]:
    out = {Claim("node", req.node)}
    if touches_recovery_host(req.op) or req.with_verify:
        out |= {Claim("host", uuid) for uuid in req.recovery_hosts}
    return frozenset(out)


def conflict(a: Request, b: Request) -> bool:
    return bool(claims(a) & claims(b))


def order_key(req: Request) -> tuple[int, int, int, int, int]:
    return (-req.raised, CLASS_RANK[req.op_class], req.priority, req.arrival, req.id)


def ordered(waiting: Iterable[Request]) -> list[Request]:
    return sorted(waiting, key=order_key)


@dataclass(frozen=True)
class Blocked:
    """Why a waiting request is not admitted: the claims it meets and who
    holds or reserves them (request ids; the UI decides what it may show)."""

    request: int
    position: int  # 1-based place in the order
    held_by: tuple[tuple[Claim, int], ...] = ()  # claims held by running requests
    reserved_by: tuple[tuple[Claim, int], ...] = ()  # claims reserved by requests ahead


@dataclass(frozen=True)
class Decision:
    admit: tuple[Request, ...]
    blocked: tuple[Blocked, ...]


def decide(running: Sequence[Request], waiting: Iterable[Request]) -> Decision:
    """Which waiting requests start now (pure and deterministic)."""
    held: dict[Claim, int] = {}
    for r in running:
        for c in claims(r):
            held.setdefault(c, r.id)
    reserved: dict[Claim, int] = {}
    admit: list[Request] = []
    blocked: list[Blocked] = []
    for position, req in enumerate(ordered(waiting), start=1):
        mine = claims(req)
        by_running = tuple(sorted((c, held[c]) for c in mine if c in held))
        by_waiting = tuple(sorted((c, reserved[c]) for c in mine if c in reserved))
        if by_running or by_waiting:
            blocked.append(Blocked(req.id, position, by_running, by_waiting))
            for c in mine:
                reserved.setdefault(c, req.id)
            continue
        admit.append(req)
        for c in mine:
            held[c] = req.id
    return Decision(tuple(admit), tuple(blocked))


def admissible(running: Sequence[Request], waiting: Iterable[Request]) -> list[Request]:
    return list(decide(running, waiting).admit)
