"""The VM lifecycle of a KSYS node: which operation may run from which state,
and which state follows.

Sourced (ksys-reference §3): INIT after manage; discovery then verification
make a VM READY_TO_MOVE; a planned move and a DR test need READY_TO_MOVE; the
DR-test states INIT → ACTIVE → ACTIVE_COMPLETED → DRTESTCLEANUP_COMPLETED.
Everything else here — the intermediate and failure states, what an unplanned
move accepts, recover — is INFERRED (§3.3) and kept in this one table so a
real node's behaviour can correct it in one place.

The simulator drives its VMs with these rules and the arbiter checks its
preconditions with the same ones, so both agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ksystui.core.model import VM_STATES


class Op(StrEnum):
    DISCOVER = "discover"
    VERIFY = "verify"
    MOVE_PLANNED = "move"
    MOVE_UNPLANNED = "move-unplanned"
    DR_TEST = "dr-test"
    DR_TEST_CLEANUP = "dr-test-cleanup"
    CLEANUP = "cleanup"  # after an unplanned move: clean the old active site (INFERRED)
    RECOVER = "recover"  # retry restarts that failed during a move (INFERRED)
    RESYNC = "resync"
    CONFIGURE = "configure"  # ksysmgr modify system …: changes settings, touches no VM


# States from which each operation may start, per VM.
_DISCOVERABLE = frozenset(
    {"INIT", "DISCOVERED", "DISCOVERY_FAILED", "READY_TO_MOVE", "VERIFY_FAILED", "MOVED", "CLEANED"}
)
ALLOWED_FROM: dict[Op, frozenset[str]] = {
    Op.DISCOVER: _DISCOVERABLE,
    Op.VERIFY: frozenset({"DISCOVERED", "READY_TO_MOVE", "VERIFY_FAILED"}),
    Op.MOVE_PLANNED: frozenset({"READY_TO_MOVE"}),
    # an unplanned move is what you do when production is gone: VMs may be DOWN
    # or their last verification may have failed because their host died
    Op.MOVE_UNPLANNED: frozenset({"READY_TO_MOVE", "DOWN", "VERIFY_FAILED", "DISCOVERED"}),
    Op.DR_TEST: frozenset({"READY_TO_MOVE"}),
    Op.DR_TEST_CLEANUP: frozenset({"READY_TO_MOVE", "VERIFY_FAILED", "DISCOVERED", "DOWN"}),
    Op.CLEANUP: frozenset({"MOVED"}),
    Op.RECOVER: frozenset({"RESTART_FAILED", "MOVE_FAILED"}),
    Op.RESYNC: frozenset({"READY_TO_MOVE", "DISCOVERED", "VERIFY_FAILED"}),
    Op.CONFIGURE: frozenset(VM_STATES),
}

# Dr Test State preconditions (None: any).
DR_TEST_ALLOWED_FROM: dict[Op, frozenset[str] | None] = {
    Op.DR_TEST: frozenset({"INIT", "DRTESTCLEANUP_COMPLETED"}),
    Op.DR_TEST_CLEANUP: frozenset({"ACTIVE", "ACTIVE_COMPLETED", "ACTIVE_FAILED", "DRTESTCLEANUP_FAILED"}),
}

# State shown while the operation works on the VM (what an operator watching
# `ksysmgr query vm` sees mid-operation).
TRANSIENT: dict[Op, str | None] = {
    Op.DISCOVER: "DISCOVERING",
    Op.VERIFY: "VERIFYING",
    Op.MOVE_PLANNED: "MOVING",
    Op.MOVE_UNPLANNED: "MOVING",
    Op.DR_TEST: None,  # production keeps running; only Dr Test State changes
    Op.DR_TEST_CLEANUP: None,
    Op.CLEANUP: "CLEANING",
    Op.RECOVER: "RECOVERING",
    Op.RESYNC: None,
    Op.CONFIGURE: None,
}

SUCCESS: dict[Op, str | None] = {
    Op.DISCOVER: "DISCOVERED",
    Op.VERIFY: "READY_TO_MOVE",
    Op.MOVE_PLANNED: "MOVED",
    Op.MOVE_UNPLANNED: "MOVED",
    Op.DR_TEST: None,
    Op.DR_TEST_CLEANUP: None,
    Op.CLEANUP: "MOVED",
    Op.RECOVER: "MOVED",
    Op.RESYNC: None,
    Op.CONFIGURE: None,
}

FAILURE: dict[Op, str | None] = {
    Op.DISCOVER: "DISCOVERY_FAILED",
    Op.VERIFY: "VERIFY_FAILED",
    Op.MOVE_PLANNED: "RESTART_FAILED",
    Op.MOVE_UNPLANNED: "RESTART_FAILED",
    Op.DR_TEST: None,
    Op.DR_TEST_CLEANUP: None,
    Op.CLEANUP: "CLEANUP_FAILED",
    Op.RECOVER: "RESTART_FAILED",
    Op.RESYNC: None,
    Op.CONFIGURE: None,
}

DR_TEST_TRANSIENT = {Op.DR_TEST: "ACTIVE", Op.DR_TEST_CLEANUP: None}
DR_TEST_SUCCESS = {Op.DR_TEST: "ACTIVE_COMPLETED", Op.DR_TEST_CLEANUP: "DRTESTCLEANUP_COMPLETED"}
DR_TEST_FAILURE = {Op.DR_TEST: "ACTIVE_FAILED", Op.DR_TEST_CLEANUP: "DRTESTCLEANUP_FAILED"}


@dataclass(frozen=True)
class Refusal:
    vm: str
    reason: str


def refusal(op: Op, vm: str, state: str, dr_test_state: str | None = None) -> Refusal | None:
    """Why ``op`` may not start on this VM now, or None if it may."""
    allowed = ALLOWED_FROM[op]
    if state not in allowed:
        return Refusal(vm, f"VM {vm} is in state {state}; {op.value} needs one of {', '.join(sorted(allowed))}")
    dr_allowed = DR_TEST_ALLOWED_FROM.get(op)
    if dr_allowed is not None and (dr_test_state or "INIT") not in dr_allowed:
        return Refusal(
            vm,
            f"VM {vm} has Dr Test State {dr_test_state}; {op.value} needs one of {', '.join(sorted(dr_allowed))}",
        )
    return None


def state_after(op: Op, state: str, ok: bool) -> str:
    """The VM state once ``op`` finished on it (unchanged where the operation
    does not change the VM state)."""
    target = SUCCESS[op] if ok else FAILURE[op]
    return target if target is not None else state


def dr_test_state_after(op: Op, dr_test_state: str | None, ok: bool) -> str | None:
    table = DR_TEST_SUCCESS if ok else DR_TEST_FAILURE
    return table.get(op, dr_test_state)


def touches_recovery_host(op: Op) -> bool:
    """Operations that work on the backup site's hosts (and so collide when two
    tenants share a recovery host). Discovery works on the production site."""
    return op not in (Op.DISCOVER, Op.RESYNC, Op.CONFIGURE)
