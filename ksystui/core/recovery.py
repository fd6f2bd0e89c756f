"""Which recovery an alert calls for, and why (pure): one table, judged on
the node's latest state and on the fleet's (who else counts on a host).

The rules (issue 11, deliverable 3), in the order they are tried:

1. **What the VMs are stuck in** comes first, whatever the event:
   ``RESTART_FAILED`` / ``MOVE_FAILED`` → ``recover`` (never another move onto
   the host that just failed them); ``CLEANUP_FAILED`` → the cleanup again,
   forced (KSYS accepts ``ksysmgr -f cleanup site X``), or ``recover``; a
   rehearsal left ``ACTIVE_FAILED`` / ``DRTESTCLEANUP_FAILED`` → its cleanup.
2. **The event**:
   ``HOST_FAILURE`` of a host the VMs run on (production) → an unplanned move
   to the recovery host, only when that host is itself operating;
   ``HOST_FAILURE`` of a recovery host → no move onto it, and the tenants that
   have lost their DR protection (every tenant whose KSYS pairs with it);
   ``HMC_UNREACHABLE`` / ``STG_UNREACHABLE`` → nothing, with the reason (the
   reference documents no operation for them; an HMC of the recovery site
   takes the DR protection of the hosts it manages with it);
   ``REPLICATION_FAILURE`` → resync (INFERRED: the reference's resync
   re-synchronises a workgroup's backup [S1]); a failed DR test → its cleanup.

The console prepares the proposed operation (pre-filled, never queued without
the operator's confirmation) only when it could queue it at all: it has an
arbiter and is not read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ksystui.core.lifecycle import UNMANAGED, Op
from ksystui.core.model import Host, Vm
from ksystui.core.snapshot import NodeSnapshot

OPERATING = "Operating"  # the HMC state of a managed system that works (INFERRED field, §2.5)

# Without the node's state, only what no state can make dangerous: the stored
# alert record's proposal (``core.alerts``), and the fallback of ``!``.
RECOVERY_FOR: Mapping[str, Op] = {"HOST_FAILURE": Op.MOVE_UNPLANNED}


@dataclass(frozen=True)
class Proposal:
    """The recovery proposed for an alert (``op`` None: none, and ``reason``
    says why), and the tenants that have lost their DR protection."""

    op: Op | None
    reason: str
    lost_protection: tuple[str, ...] = ()


@dataclass(frozen=True)
class Situation:
    """What a proposal is judged on."""

    event: str
    resource: str | None
    snap: NodeSnapshot
    fleet: tuple[NodeSnapshot, ...]
    at: datetime | None = None  # when the event happened, if the node said

    def read_after_event(self, kind: str) -> bool:
        """Whether the node's ``kind`` data was read after the event (else it
        may not show the event's effect yet)."""
        section = self.snap.sections.get(kind)
        # event times have whole seconds: a read in the same second may predate it
        return bool(section and section.read_at and self.at and section.read_at >= self.at + timedelta(seconds=1))

    @property
    def managed(self) -> list[Vm]:
        return [v for v in self.snap.vms if v.state != UNMANAGED]

    def host(self, name: str | None) -> Host | None:
        return next((h for h in self.snap.hosts if h.name == name), None)


# --- 1. what the VMs are stuck in ---------------------------------------------------------
@dataclass(frozen=True)
class StateRule:
    states: frozenset[str]
    op: Op
    why: str  # {vms}, {state}, {site}
    dr_test: bool = False  # the states are Dr Test States


STATE_RULES: tuple[StateRule, ...] = (
    StateRule(frozenset({"RESTART_FAILED", "MOVE_FAILED"}), Op.RECOVER,
              "{vms} {state}: recover restarts them where the move left them (another move would start "
              "from a half-done one)"),
    StateRule(frozenset({"CLEANUP_FAILED"}), Op.CLEANUP,
              "{vms} CLEANUP_FAILED: run the cleanup again, forced (KSYS accepts `ksysmgr -f cleanup site "
              "{site}`), or recover"),
    StateRule(frozenset({"ACTIVE_FAILED", "DRTESTCLEANUP_FAILED"}), Op.DR_TEST_CLEANUP,
              "the rehearsal of {vms} ended {state}: its cleanup removes the rehearsal VMs from the recovery "
              "site", dr_test=True),
)


def _names(vms: list[Vm]) -> str:
    shown = ", ".join(v.name for v in vms[:3])
    return f"VMs {shown}" + (f" and {len(vms) - 3} more" if len(vms) > 3 else "")


def _old_site(s: Situation) -> str:
    """The site a cleanup works on: the one that is not active any more."""
    backup = [x.name for x in s.snap.sites if (x.sitetype or "").upper() == "BACKUP"]
    return backup[0] if backup else "<old active site>"


def _stuck(s: Situation) -> Proposal | None:
    for rule in STATE_RULES:
        vms = [v for v in s.managed if ((v.dr_test_state or "INIT") if rule.dr_test else v.state) in rule.states]
        if not vms:
            continue
        state = (vms[0].dr_test_state if rule.dr_test else vms[0].state) or ""
        why = rule.why.format(vms=_names(vms), state=state, site=_old_site(s))
        if rule.op is Op.RECOVER:
            down = sorted({v.host for v in vms if v.host and (h := s.host(v.host)) and h.state
                           and h.state != OPERATING})
            if down:
                why += f" (host {', '.join(down)} is not operating: recover succeeds once it is back)"
        return Proposal(rule.op, why)
    return None


# --- 2. the event --------------------------------------------------------------------------
def _running_on(snap: NodeSnapshot) -> set[str]:
    """The hosts the node's VMs run on now; where ``query vm`` names no host,
    those of its active site."""
    running = {v.host for v in snap.vms if v.host and v.state != UNMANAGED}
    if running:
        return running
    active = {x.name for x in snap.sites if (x.sitetype or "").upper() in ("ACTIVE", "HOME")}
    return {h.name for h in snap.hosts if h.site in active}


def counting_on(uuid: str | None, fleet: Iterable[NodeSnapshot]) -> tuple[str, ...]:
    """Tenants whose KSYS would restart their VMs on this host (by CEC UUID):
    it is one of their hosts and their VMs do not run there now."""
    if not uuid:
        return ()
    out = set()
    for snap in fleet:
        running = _running_on(snap)
        paired = {h.pair for h in snap.hosts if h.pair} | {h.name for h in snap.hosts if h.pair}
        if any(h.uuid == uuid and h.name not in running and h.name in paired for h in snap.hosts):
            out.add(snap.tenant)
    return tuple(sorted(out))


def _lost(uuid: str | None, s: Situation) -> tuple[str, ...]:
    return counting_on(uuid, s.fleet if s.fleet else (s.snap,))


def _lost_text(tenants: tuple[str, ...]) -> str:
    return f"; DR protection lost for {', '.join(tenants)}" if tenants else ""


def _host_failure(s: Situation) -> Proposal:
    failed = s.host(s.resource)
    if failed is None:
        return Proposal(None, f"host {s.resource} is not one of {s.snap.node}'s hosts: nothing to move")
    if failed.state == OPERATING and s.read_after_event("host"):
        return Proposal(None, f"host {failed.name} operates again: nothing to recover")
    production = failed.name in _running_on(s.snap)
    pairs = {h.name: h.pair for h in s.snap.hosts if h.pair} | {h.pair: h.name for h in s.snap.hosts if h.pair}
    if production:
        target = s.host(pairs.get(failed.name))
        if target is None:
            return Proposal(None, f"production host {failed.name} failed and has no paired recovery host")
        if target.state and target.state != OPERATING:
            return Proposal(None, f"production host {failed.name} failed, and its recovery host {target.name} is "
                                  f"not operating either (state {target.state}): no move can help now")
        return Proposal(Op.MOVE_UNPLANNED, f"production host {failed.name} failed: unplanned move of "
                                           f"{s.snap.tenant} to {target.name}, which is operating")
    lost = _lost(failed.uuid, s)
    return Proposal(None, f"recovery host {failed.name} failed: no move onto it{_lost_text(lost)}", lost)


def _hmc_unreachable(s: Situation) -> Proposal:
    managed = [h for h in s.snap.hosts if s.resource in h.hmcs]
    running = _running_on(s.snap)
    recovery = [h for h in managed if h.name not in running]
    lost: tuple[str, ...] = tuple(sorted({t for h in recovery for t in _lost(h.uuid, s)}))
    if recovery:
        return Proposal(None, f"HMC {s.resource} is unreachable: KSYS cannot start VMs on "
                              f"{', '.join(h.name for h in recovery)}, so no move onto it can succeed until it "
                              f"answers (the reference documents no operation for this){_lost_text(lost)}", lost)
    return Proposal(None, f"HMC {s.resource} is unreachable: the VMs keep running; KSYS cannot manage their "
                          "hosts until it answers. The reference documents no operation for it, only that a "
                          "script may start an unplanned move on it [DW-AUTO]: if production is lost, that "
                          "move (M) is the operator's call")


def _storage_unreachable(s: Situation) -> Proposal:
    return Proposal(None, f"storage agent {s.resource} is unreachable: KSYS cannot reverse replication, so no "
                          "move or verification can succeed until it answers. The reference documents no "
                          "operation for it, only that a script may start an unplanned move on it [DW-AUTO]")


def _replication_failure(s: Situation) -> Proposal:
    return Proposal(Op.RESYNC, "replication failed: resync re-synchronises the recovery copy once the link is "
                               "back (INFERRED)")


def _dr_test_failed(s: Situation) -> Proposal:
    return Proposal(Op.DR_TEST_CLEANUP, "the DR test failed: its cleanup removes what it left on the recovery site")


def _nothing(why: str) -> Callable[[Situation], Proposal]:
    return lambda s: Proposal(None, why)


EVENT_RULES: Mapping[str, Callable[[Situation], Proposal]] = {
    "HOST_FAILURE": _host_failure,
    "HMC_UNREACHABLE": _hmc_unreachable,
    "STG_UNREACHABLE": _storage_unreachable,
    "REPLICATION_FAILURE": _replication_failure,
    "DRTEST_FAILED": _dr_test_failed,
    "MOVE_FAILED": _nothing("the move failed before any VM was left stuck: read its output and verify "
                            "before trying again"),
}


def propose(event: str, resource: str | None, snap: NodeSnapshot | None,
            fleet: Iterable[NodeSnapshot] = (), *, at: datetime | None = None) -> Proposal:
    """The recovery for an alert of ``event`` (on ``resource``, at time
    ``at``) from node ``snap``, judged on its state now; ``fleet``: every
    node's latest snapshot the caller may see (who else counts on a failed
    host)."""
    if snap is None:
        return Proposal(None, f"{event}: the node has not been read yet, so no recovery can be judged")
    s = Situation(event, resource, snap, tuple(fleet), at)
    stuck = _stuck(s)
    if stuck is not None:
        return stuck
    rule = EVENT_RULES.get(event)
    if rule is None:
        return Proposal(None, f"no recovery operation is known for {event}")
    return rule(s)


def proposed_recovery(event: str) -> Op | None:
    """The operation an alert of this event calls for without knowing the
    node's state (the stored alert record's proposal); ``propose`` judges it."""
    return RECOVERY_FOR.get(event)


def offer(proposal: Proposal, *, readonly: bool, can_submit: bool) -> Op | None:
    """The recovery to prepare when an alert arrives: none from a console
    that could not queue it anyway (read-only, or no arbiter)."""
    if readonly or not can_submit:
        return None
    return proposal.op


def act_on_alert(event: str) -> Op:
    """What ``!`` prepares for an alert whose judged proposal is none: a
    verification (the safe first look at a site that raised an alert) —
    never a move, which only ``propose`` may judge safe."""
    return Op.VERIFY
