"""What ``ksystui service status`` says: who leads, until when, and every
member as it really is now (a member's own row says what it last claimed
to be; a leader killed with -9 never wrote that it stopped)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ksystui.core.lease import LeaseState
from ksystui.store.lease import Member

DEFAULT_TTL = 10.0  # seconds a lease lasts unless renewed (``ksystui serve --lease-ttl``)
SHOWN_FOR = timedelta(days=1)  # members stopped or lost longer ago are history, not status


def live_leader(lease: LeaseState, now: datetime) -> str | None:
    """The member holding an unexpired lease, or None: nobody leads."""
    return lease.holder if lease.live(now) else None


def _ttl(lease: LeaseState) -> float:
    if lease.expires_at is not None and lease.renewed_at is not None:
        return max(DEFAULT_TTL, (lease.expires_at - lease.renewed_at).total_seconds())
    return DEFAULT_TTL


def member_role(member: Member, leader: str | None, now: datetime, lost_after: float) -> str:
    """``leader`` (holds the live lease), ``standby``, ``fenced`` (says it
    leads, under a lease that is no longer its own: its writes are refused),
    ``lost`` (silent for longer than a lease lasts) or ``stopped``."""
    if member.role == "stopped":
        return "stopped"
    if (now - member.last_seen).total_seconds() > lost_after:
        return "lost"
    if member.id == leader:
        return "leader"
    return "fenced" if member.role == "leader" else "standby"


@dataclass(frozen=True)
class ServiceStatus:
    leader: str | None
    lease: LeaseState
    last_seq: int
    members: list[dict[str, Any]]
    now: datetime

    def to_json(self) -> dict[str, Any]:
        lease = self.lease
        return {
            "leader": self.leader,
            "epoch": lease.epoch if self.leader else None,
            "lease": {"holder": lease.holder, "epoch": lease.epoch, "live": self.leader is not None,
                      "expires_at": _iso(lease.expires_at), "renewed_at": _iso(lease.renewed_at)},
            "last_seq": self.last_seq,
            "members": self.members,
        }

    def lines(self) -> list[str]:
        lease = self.lease
        if self.leader is None:
            head = ["no provider service leads this database: start `ksystui serve`"]
        else:
            expires = lease.expires_at
            left = f"{(expires - self.now).total_seconds():.1f} s" if expires is not None else "?"
            head = [f"leader       {self.leader}  epoch {lease.epoch}  lease expires in {left}"]
        head.append(f"last change  #{self.last_seq}")
        if not self.members:
            return [*head, "no service has run on this database"]
        rows = [f"{'MEMBER':<36} {'ROLE':<8} {'EPOCH':>5}  {'SEEN':>12}  LAST SEQ"]
        for m in self.members:
            seen = (self.now - datetime.fromisoformat(m["last_seen"])).total_seconds()
            rows.append(f"{m['id']:<36} {m['role']:<8} {m['epoch'] if m['epoch'] is not None else '-':>5}  "
                        f"{seen:>6.1f} s ago  {m['last_seq'] if m['last_seq'] is not None else '-'}")
        return [*head, "", *rows]


def service_status(lease: LeaseState, members: Iterable[Member], last_seq: int, now: datetime) -> ServiceStatus:
    leader = live_leader(lease, now)
    lost_after = _ttl(lease)
    shown = sorted((m for m in members if now - m.last_seen <= SHOWN_FOR), key=lambda m: m.started_at)
    return ServiceStatus(leader, lease, last_seq, [
        {"id": m.id, "role": member_role(m, leader, now, lost_after), "host": m.host, "pid": m.pid,
         "epoch": m.epoch, "last_seq": m.last_seq, "started_at": _iso(m.started_at), "last_seen": _iso(m.last_seen)}
        for m in shown], now)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None
