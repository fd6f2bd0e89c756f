"""The lease rule: who may lead, for any lease and any contenders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.lease import LeaseDecision, LeaseState, decide_lease

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SERVICES = ["svc1:1:a", "svc2:2:b", "svc3:3:c"]

holders = st.one_of(st.none(), st.sampled_from(SERVICES))
epochs = st.integers(0, 5)
offsets = st.one_of(st.none(), st.integers(-30, 30).map(lambda s: NOW + timedelta(seconds=s)))
leases = st.builds(LeaseState, holder=holders, epoch=epochs, expires_at=offsets, renewed_at=st.none())
# a contender: who it is and the epoch it believes it leads with
contenders = st.tuples(st.sampled_from(SERVICES), st.one_of(st.none(), epochs))


def test_examples():
    live = LeaseState("svc1:1:a", 3, NOW + timedelta(seconds=5), NOW)
    assert decide_lease(live, "svc1:1:a", 3, NOW, holds_lock=None) is LeaseDecision.KEEP
    assert decide_lease(live, "svc2:2:b", None, NOW, holds_lock=None) is LeaseDecision.WAIT
    assert decide_lease(live, "svc2:2:b", None, NOW, holds_lock=True) is LeaseDecision.TAKE
    assert decide_lease(live, "svc1:1:a", 3, NOW, holds_lock=False) is LeaseDecision.WAIT
    assert decide_lease(live, "svc2:2:b", None, NOW + timedelta(seconds=5), holds_lock=None) is LeaseDecision.TAKE
    free = LeaseState(None, 3, NOW, NOW)
    assert decide_lease(free, "svc2:2:b", None, NOW - timedelta(seconds=1), holds_lock=None) is LeaseDecision.TAKE
    # my old epoch: someone took it and gave it back; I must take it anew, never keep
    assert decide_lease(LeaseState("svc1:1:a", 4, None, None), "svc1:1:a", 3, NOW,
                        holds_lock=None) is LeaseDecision.TAKE


@given(leases, st.lists(contenders, min_size=2, max_size=3, unique_by=lambda c: c[0]))
def test_while_a_lease_is_live_at_most_its_holder_goes_on_leading_without_a_lock(lease, group):
    decisions = [decide_lease(lease, me, epoch, NOW, holds_lock=None) for me, epoch in group]
    leading = [c for c, d in zip(group, decisions, strict=True) if d is not LeaseDecision.WAIT]
    if lease.live(NOW):
        assert leading in ([], [(lease.holder, lease.epoch)])
        assert all(d is not LeaseDecision.TAKE for d in decisions)


@given(leases, st.lists(contenders, min_size=2, max_size=3, unique_by=lambda c: c[0]), st.data())
def test_with_the_lock_at_most_its_one_holder_leads(lease, group, data):
    # PostgreSQL grants the advisory lock to at most one session
    lock_owner = data.draw(st.one_of(st.none(), st.sampled_from([me for me, _ in group])))
    decisions = {me: decide_lease(lease, me, epoch, NOW, holds_lock=(me == lock_owner)) for me, epoch in group}
    assert [me for me, d in decisions.items() if d is not LeaseDecision.WAIT] in ([], [lock_owner])
    if lock_owner is not None:
        assert decisions[lock_owner] is not LeaseDecision.WAIT


@given(leases, contenders, st.sampled_from([None, True, False]))
def test_keep_only_when_the_lease_says_me_and_my_epoch(lease, contender, holds_lock):
    me, my_epoch = contender
    decision = decide_lease(lease, me, my_epoch, NOW, holds_lock=holds_lock)
    if decision is LeaseDecision.KEEP:
        assert (lease.holder, lease.epoch) == (me, my_epoch)
    if holds_lock is False:
        assert decision is LeaseDecision.WAIT
    if holds_lock is None and decision is LeaseDecision.TAKE:
        assert not lease.live(NOW)


@given(st.lists(st.tuples(st.sampled_from(SERVICES), st.integers(0, 25)), max_size=30))
def test_taking_in_turn_one_leader_at_a_time_and_epochs_only_grow(steps):
    """A model of the store: each step one service looks at the lease at some
    time and acts on its decision (take = epoch + 1, renew = new expiry)."""
    lease = LeaseState(None, 0, None, None)
    mine: dict[str, int] = {}
    clock = NOW
    ttl = timedelta(seconds=10)
    for me, wait in steps:
        clock += timedelta(seconds=wait)
        decision = decide_lease(lease, me, mine.get(me), clock, holds_lock=None)
        if decision is LeaseDecision.TAKE:
            lease = LeaseState(me, lease.epoch + 1, clock + ttl, clock)
            mine[me] = lease.epoch
        elif decision is LeaseDecision.KEEP:
            lease = LeaseState(me, lease.epoch, clock + ttl, clock)
        # whoever believes it leads under the current epoch is the holder: one leader
        believers = [s for s, e in mine.items() if e == lease.epoch]
        assert believers in ([], [lease.holder])
