"""The VM lifecycle of a KSYS node: which operation may run from which state,
and which state follows.

Sourced (ksys-reference §3): INIT after manage; discovery then verification
make a VM READY_TO_MOVE; a planned move and a DR test need READY_TO_MOVE; the
DR-test states INIT → ACTIVE → ACTIVE_COMPLETED → DRTESTCLEANUP_COMPLETED.
Everything else here — the intermediate and failure states, what an unplanned
move accepts, recover — is INFERRED (§3.3) and kept in this one table so a
real node's behaviour can correct it in one place.

The simulator drives its VMs with these rules (every state a simulated VM
or site enters comes from here: see ``sim/flows.py``) and the arbiter checks
its preconditions with the same ones, so both agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ksystui.core.model import VM_STATES, Flavour

# States outside any operation.
MANAGED = "INIT"  # what `ksysmgr manage vm` leaves (sourced)
UNMANAGED = "UNMANAGED"  # what `ksysmgr unmanage vm` leaves (INFERRED)
HOST_DOWN = "DOWN"  # a VM whose host stopped under it (INFERRED)
# A VM whose host comes back returns to the state it had; if that is not
# known, to DISCOVERED: it needs verifying again before a move (INFERRED).
HOST_BACK = "DISCOVERED"
DR_TEST_INITIAL = "INIT"  # Dr Test State of a VM never rehearsed (sourced)

# Site types as a simulated KSYS keeps them (``query site`` prints them upper case).
ACTIVE_SITE = "active"
BACKUP_SITE = "backup"


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
    # a cleanup that failed may be run again: KSYS accepts `ksysmgr -f cleanup site X`
    # after CLEANUP_FAILED (issue 11); recover restarts what a move or cleanup left
    Op.CLEANUP: frozenset({"MOVED", "CLEANUP_FAILED"}),
    Op.RECOVER: frozenset({"RESTART_FAILED", "MOVE_FAILED", "CLEANUP_FAILED"}),
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

DR_TEST_TRANSIENT: dict[Op, str | None] = {Op.DR_TEST: "ACTIVE", Op.DR_TEST_CLEANUP: None}
DR_TEST_SUCCESS: dict[Op, str | None] = {Op.DR_TEST: "ACTIVE_COMPLETED", Op.DR_TEST_CLEANUP: "DRTESTCLEANUP_COMPLETED"}
DR_TEST_FAILURE: dict[Op, str | None] = {Op.DR_TEST: "ACTIVE_FAILED", Op.DR_TEST_CLEANUP: "DRTESTCLEANUP_FAILED"}

# Success where a flavour differs: on PowerVS discovery itself makes a VM
# DR-ready (there is no separate verify) [S1].
FLAVOUR_SUCCESS: dict[tuple[Flavour, Op], str] = {(Flavour.POWERVS, Op.DISCOVER): "READY_TO_MOVE"}


class Stage(StrEnum):
    """Where an operation failed on a VM; each stage leaves its own state."""

    WORK = "work"  # the operation's own work on the VM (a host, the storage, a boot)
    CONTENDED = "contended"  # the managed system refused it: the recovery host was busy
    SHUTDOWN = "shutdown"  # a move could not stop the VM on the active site
    ROLLED_BACK = "rolled-back"  # a planned move stopped because another VM would not shut down
    REVERSAL = "reversal"  # a move could not reverse the storage replication


# Failures away from the operation's own work (INFERRED): a move that fails
# before its VMs boot on the other site leaves them MOVE_FAILED; a VM a
# planned move cannot shut down is SHUTDOWN_FAILED, and the move restarts the
# others where they were (None: the state is left as it was before).
FAILURE_AT: dict[tuple[Op, Stage], str | None] = {
    (Op.MOVE_PLANNED, Stage.CONTENDED): "MOVE_FAILED",
    (Op.MOVE_UNPLANNED, Stage.CONTENDED): "MOVE_FAILED",
    (Op.MOVE_PLANNED, Stage.REVERSAL): "MOVE_FAILED",
    (Op.MOVE_UNPLANNED, Stage.REVERSAL): "MOVE_FAILED",
    (Op.MOVE_PLANNED, Stage.SHUTDOWN): "SHUTDOWN_FAILED",
    (Op.MOVE_PLANNED, Stage.ROLLED_BACK): None,
}
# A contended DR-test cleanup leaves the rehearsal as it was.
DR_TEST_FAILURE_AT: dict[tuple[Op, Stage], str | None] = {(Op.DR_TEST_CLEANUP, Stage.CONTENDED): None}

# A site move makes the backup site the active one; a DR test changes no site.
SWAPS_SITES = frozenset({Op.MOVE_PLANNED, Op.MOVE_UNPLANNED})
# After an unplanned move the old active site still holds the VMs' remains:
# `cleanup` (Op.CLEANUP) is pending until it ran (INFERRED).
LEAVES_CLEANUP = frozenset({Op.MOVE_UNPLANNED})


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


def transient_state(op: Op, state: str) -> str:
    """The VM state while ``op`` works on it (unchanged where it shows none)."""
    return TRANSIENT[op] or state


def state_after(
    op: Op, state: str, ok: bool, *, flavour: Flavour = Flavour.ONPREM, stage: Stage = Stage.WORK
) -> str:
    """The VM state once ``op`` finished on it, or failed at ``stage``
    (unchanged where the operation does not change the VM state). ``state``
    is the state the outcome applies to: for a rollback, the one before."""
    if ok:
        target = FLAVOUR_SUCCESS.get((flavour, op), SUCCESS[op])
    elif (op, stage) in FAILURE_AT:
        target = FAILURE_AT[(op, stage)]
    else:
        target = FAILURE[op]
    return target if target is not None else state


def dr_test_transient_state(op: Op, dr_test_state: str) -> str:
    """The Dr Test State while ``op`` works on the VM."""
    return DR_TEST_TRANSIENT.get(op) or dr_test_state


def dr_test_state_after(op: Op, dr_test_state: str | None, ok: bool, *, stage: Stage = Stage.WORK) -> str | None:
    """The Dr Test State once ``op`` finished (or failed at ``stage``)."""
    if not ok and (op, stage) in DR_TEST_FAILURE_AT:
        target = DR_TEST_FAILURE_AT[(op, stage)]
    else:
        target = (DR_TEST_SUCCESS if ok else DR_TEST_FAILURE).get(op)
    return target if target is not None else dr_test_state


def site_types_after(op: Op, from_type: str, to_type: str) -> tuple[str, str]:
    """The types of a move's from and to sites once its storage has reversed."""
    return (to_type, from_type) if op in SWAPS_SITES else (from_type, to_type)


def leaves_cleanup(op: Op) -> bool:
    """Whether a VM that ``op`` moved still needs ``cleanup`` of its old site."""
    return op in LEAVES_CLEANUP


def touches_recovery_host(op: Op) -> bool:
    """Operations that work on the backup site's hosts (and so collide when two
    tenants share a recovery host). Discovery works on the production site."""
    return op not in (Op.DISCOVER, Op.RESYNC, Op.CONFIGURE)
