"""Planned at dispatch, not frozen at submit (pure).

A request is planned on the node's state when it is submitted; by the time
its turn comes, another operation may have changed that state (the same
tenant's move flips which site is active). So when its turn comes the
dispatcher plans it again on the node's latest snapshot, with the same
core planning (``operations.plan``), and sends it only if the plan still
says what was queued: the same operation, on the site that now has the
role it was planned for, with the same command, touching no host it does
not hold. Otherwise the request no longer applies: it is refused with the
reason, and nothing is sent — never the old command line.

Rehearsals protect their host: while a tenant's DR test is not cleaned up
(its VMs' Dr Test State is anything but INIT or DRTESTCLEANUP_COMPLETED), a
planned move of that tenant is refused, with the reason: the move would
leave the rehearsal VMs on the recovery host and the cleanup stranded (a
cleanup needs the VMs where the rehearsal left them).
INFERRED: the KSYS reference documents the Dr Test State cycle (INIT →
ACTIVE → ACTIVE_COMPLETED → DRTESTCLEANUP_COMPLETED) and that a cleanup
follows every rehearsal, not what KSYS does with a move in between; we
refuse the planned move. An unplanned move (production is gone) is never
held back by a drill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ksystui.core.lifecycle import DR_TEST_INITIAL, Op
from ksystui.core.operations import OP_LABEL, OP_WORDS, PlannedOp, plan
from ksystui.core.snapshot import NodeSnapshot

REHEARSAL_DONE = frozenset({DR_TEST_INITIAL, "DRTESTCLEANUP_COMPLETED"})  # sourced: the Dr Test State cycle
# what a pending rehearsal holds back (an unplanned move is never held back by a drill)
HELD_BACK_BY_REHEARSAL = frozenset({Op.MOVE_PLANNED})
# what the core plans from an intent (the submit verbs, and the cleanup a rehearsal needs): these are
# planned again at dispatch. Sent as written: a node-wide setting (configure: the schedule's), and a
# resync (what it works on, a workgroup or disk group the operator may have named, is in its argv only)
REPLANNED = frozenset({*OP_WORDS.values(), Op.DR_TEST_CLEANUP}) - {Op.RESYNC, Op.CONFIGURE}


@dataclass(frozen=True)
class Queued:
    """What a queued request was planned as (the fields the store keeps)."""

    op: Op
    site: str | None
    to_site: str | None
    argv: tuple[str, ...]
    recovery_hosts: tuple[str, ...]
    on_recovery_hosts: bool
    confirmed: bool


@dataclass(frozen=True)
class Replanned:
    """The verdict: ``refusal``, or none (then ``planned`` is the plan made
    again, exactly as queued; None for what is not planned again)."""

    planned: PlannedOp | None
    refusal: str | None = None

    @property
    def applies(self) -> bool:
        return self.refusal is None


def pending_rehearsal(snap: NodeSnapshot) -> str | None:
    """Why the node's last DR test is not cleaned up yet (None: nothing pending)."""
    pending = [v for v in snap.vms if v.state != "UNMANAGED" and (v.dr_test_state or DR_TEST_INITIAL)
               not in REHEARSAL_DONE]
    if not pending:
        return None
    states = sorted({v.dr_test_state or "" for v in pending})
    return (f"{snap.tenant}'s DR test is not cleaned up ({len(pending)} VM(s) with Dr Test State "
            f"{', '.join(states)})")


def rehearsal_blocks(op: Op, snap: NodeSnapshot) -> str | None:
    """The refusal for ``op`` while the tenant's rehearsal awaits its cleanup."""
    if op not in HELD_BACK_BY_REHEARSAL:
        return None
    why = pending_rehearsal(snap)
    if why is None:
        return None
    return (f"{why}: a {OP_LABEL[op]} now would strand its cleanup; run the DR test cleanup first "
            f"(ksystui submit cleanup {snap.tenant})")


def replan(queued: Queued, snap: NodeSnapshot) -> Replanned:
    """Plan ``queued`` again on ``snap``; refuse it when it no longer applies."""
    held_back = rehearsal_blocks(queued.op, snap)
    if held_back is not None:
        return Replanned(None, held_back)
    if queued.op not in REPLANNED or queued.site is None:
        return Replanned(None)  # nothing to plan again: it is sent as queued
    verify = queued.op is Op.DISCOVER and queued.on_recovery_hosts
    try:
        now = plan(queued.op, snap, force=queued.confirmed, verify=verify)
        pinned = plan(queued.op, snap, force=queued.confirmed, site=queued.site, to_site=queued.to_site,
                      verify=verify)
    except ValueError as exc:  # PlanRefused included: the node's state no longer allows planning it
        return Replanned(None, f"it can no longer be planned: {exc}")
    return Replanned(pinned, _difference(queued, now, pinned, snap))


def _difference(queued: Queued, now: PlannedOp, pinned: PlannedOp, snap: NodeSnapshot) -> str | None:
    label = OP_LABEL[queued.op]
    if pinned.op is not queued.op:
        return f"it was queued as a {label}; the node's state now makes it a {OP_LABEL[pinned.op]}: submit again"
    if queued.site is not None and now.site != queued.site:
        return (f"it was planned for site {queued.site}, but the {label} now acts on site {now.site} "
                f"(the node's sites changed since it was queued, a move ran): submit again")
    if tuple(pinned.argv) != tuple(queued.argv):
        return (f"its command was planned as `{' '.join(queued.argv)}`; on the node's state now it would be "
                f"`{' '.join(pinned.argv)}`: submit again")
    unheld = _not_held(pinned.recovery_hosts, queued.recovery_hosts) if pinned.on_recovery_hosts else ()
    if unheld:
        names = dict(zip(pinned.recovery_hosts, pinned.host_names, strict=False))
        return (f"on {snap.node}'s state now it would work on {', '.join(names.get(u, u) for u in unheld)}, "
                "which it did not claim: submit again")
    return None


def _not_held(needed: Sequence[str], held: Sequence[str]) -> tuple[str, ...]:
    return tuple(u for u in needed if u not in set(held))
