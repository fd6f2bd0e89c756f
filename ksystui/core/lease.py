"""Who leads the provider service: the lease rule. Pure.

One row in the database says who holds the lease (``holder``), until when
(``expires_at``) and under which fencing number (``epoch``, which only
grows: every take adds one). A leader writes only while the row still says
(itself, its epoch); the store checks that in each write (``store.lease``),
so a leader that lost the lease while paused changes nothing when it wakes.

On PostgreSQL a service also holds an advisory lock on a dedicated session:
the database releases it when that session dies (``kill -9``, a lost
network), which proves the former leader can no longer write; a service
that holds the lock may take the lease at once, without waiting for the
expiry. Without the lock (SQLite: one machine) only an expired or released
lease may be taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class LeaseState:
    holder: str | None
    epoch: int  # the fencing number: it only grows
    expires_at: datetime | None
    renewed_at: datetime | None

    def live(self, now: datetime) -> bool:
        """Someone holds it and it has not expired."""
        return self.holder is not None and self.expires_at is not None and now < self.expires_at


class LeaseDecision(StrEnum):
    KEEP = "keep"  # it is mine: renew it and go on leading
    TAKE = "take"  # take it (a new epoch)
    WAIT = "wait"  # someone else leads (or may still): stay a standby


def decide_lease(lease: LeaseState, me: str, my_epoch: int | None, now: datetime, *,
                 holds_lock: bool | None) -> LeaseDecision:
    """What the service ``me`` (leading under ``my_epoch``, or None) does
    with the lease as it stands at ``now``.

    ``holds_lock``: None when there is no advisory lock (SQLite): take a free
    or expired lease only. True (PostgreSQL): the lock proves every other
    leader's session is gone, so take it even if it has not expired. False:
    another service holds the lock: wait. KEEP only when the lease says
    (me, my_epoch)."""
    if holds_lock is False:
        return LeaseDecision.WAIT
    if my_epoch is not None and lease.holder == me and lease.epoch == my_epoch:
        return LeaseDecision.KEEP
    if holds_lock or not lease.live(now):
        return LeaseDecision.TAKE
    return LeaseDecision.WAIT
