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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple, TypeVar

from ksystui.core.lifecycle import Op, touches_recovery_host

_NODE = attrgetter("node")
T = TypeVar("T")


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


class Claim(NamedTuple):
    """A resource an operation holds. A tuple, so that hashing it — done
    thousands of times per admission decision — happens in C."""

    kind: str  # "node" or "host"
    name: str  # node name, or recovery host CEC UUID

    @property
    def resource(self) -> str:
        """``node:<name>`` / ``host:<uuid>``: how the store's claims index names it."""
        return f"{self.kind}:{self.name}"


def works_on_recovery_hosts(op: Op, *, verify: bool = False) -> bool:
    """Does the operation work on the recovery hosts at the target site (and
    so claim them)? Moves, DR tests, cleanups and verify do; a discover does
    when it also verifies (``verify=yes``). Decided when the operation is
    planned, and stored with it: nobody reads it back from a command line."""
    return touches_recovery_host(op) or (op is Op.DISCOVER and verify)


def claims_of(node: str, recovery_hosts: Iterable[str], *, on_recovery_hosts: bool) -> frozenset[Claim]:
    """The claims rule: an operation always claims its KSYS node (one
    operation at a time there), and the recovery hosts it works on."""
    c = {Claim("node", node)}
    if on_recovery_hosts:
        c |= {Claim("host", uuid) for uuid in recovery_hosts}
    return frozenset(c)


@dataclass(frozen=True, slots=True)
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
    # works on its recovery hosts too (decided when planned); None: as its kind of operation does
    on_recovery_hosts: bool | None = None

    # computed once: admission looks at thousands of requests per decision
    claims: frozenset[Claim] = field(init=False, repr=False, compare=False)
    key: tuple[int, int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        on_hosts = works_on_recovery_hosts(self.op) if self.on_recovery_hosts is None else self.on_recovery_hosts
        object.__setattr__(self, "claims", claims_of(self.node, self.recovery_hosts, on_recovery_hosts=on_hosts))
        object.__setattr__(self, "key", (-self.raised, CLASS_RANK[CLASS_OF[self.op]], self.priority, self.arrival,
                                         self.id))


def claims(req: Request) -> frozenset[Claim]:
    return req.claims


def conflict(a: Request, b: Request) -> bool:
    return bool(claims(a) & claims(b))


def order_key(req: Request) -> tuple[int, int, int, int, int]:
    return req.key


def ordered(waiting: Iterable[Request]) -> list[Request]:
    return sorted(waiting, key=order_key)


def ordered_by(items: Iterable[T], request: Callable[[T], Request]) -> list[T]:
    """``items`` (queue rows, say) in the order of their requests: the one
    documented order, so that no adapter spells it again (in SQL, say)."""
    return sorted(items, key=lambda item: order_key(request(item)))


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


def decide(running: Sequence[Request], waiting: Iterable[Request], *, presorted: bool = False,
           explain: bool = True, waiting_nodes: Iterable[str] | None = None) -> Decision:
    """Which waiting requests start now (pure and deterministic).

    ``presorted``: ``waiting`` is already in the documented order (the store
    returns it so), which saves a sort of the whole queue. ``explain=False``
    (the dispatcher's hot path) stops as soon as every node with waiting work
    is held or reserved: every request claims its node, so nothing after that
    point could start, and the blocked list is then left incomplete.
    ``waiting_nodes``: the distinct nodes of ``waiting`` when the caller
    already knows them (the store answers that from an index), sparing a
    pass over the whole queue."""
    held: dict[Claim, int] = {}
    for r in running:
        for c in r.claims:
            held.setdefault(c, r.id)
    queue = waiting if presorted else ordered(waiting)
    if not isinstance(queue, list):
        queue = list(queue)
    if not explain:
        return Decision(_admit_fast(held, queue, waiting_nodes), ())
    reserved: dict[Claim, int] = {}
    admit: list[Request] = []
    blocked: list[Blocked] = []
    for position, req in enumerate(queue, start=1):
        mine = req.claims
        if held.keys().isdisjoint(mine) and reserved.keys().isdisjoint(mine):
            admit.append(req)
            for c in mine:
                held[c] = req.id
        else:
            blocked.append(Blocked(
                req.id, position,
                tuple(sorted((c, held[c]) for c in mine if c in held)),
                tuple(sorted((c, reserved[c]) for c in mine if c in reserved)),
            ))
            for c in mine:
                if c not in held:
                    reserved.setdefault(c, req.id)
    return Decision(tuple(admit), tuple(blocked))


def _admit_fast(held: dict[Claim, int], queue: list[Request],
                waiting_nodes: Iterable[str] | None = None) -> tuple[Request, ...]:
    """The same admission as ``decide`` without the explanations: one set of
    taken claims (held or reserved), and a stop as soon as every node with
    waiting work is taken — every request claims its node, so nothing after
    that point could start."""
    taken = set(held)
    open_nodes = set(waiting_nodes) if waiting_nodes is not None else set(map(_NODE, queue))
    open_nodes.difference_update(c.name for c in held if c.kind == "node")
    admit = []
    for req in queue:
        mine = req.claims
        if taken.isdisjoint(mine):
            admit.append(req)
        taken.update(mine)
        open_nodes.discard(req.node)
        if not open_nodes:
            break
    return tuple(admit)
