"""What ksystui knows about one KSYS node at one instant and how fresh it is.

Each kind of data (VMs, sites, hosts, disk groups, events, …) is read by its
own ksysmgr query and so carries its own timestamp: a node whose
``query vm`` keeps working while ``query disk_group`` times out shows fresh
VMs and stale replication, not one blanket verdict.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from ksystui.core.model import (
    REST_SOURCE,
    SSH_SOURCE,
    DiskGroup,
    DiskPair,
    Flavour,
    Host,
    KsysEvent,
    ManagedVm,
    ServiceStatus,
    Site,
    SystemAttributes,
    SystemReport,
    Vm,
    Workgroup,
)

STALE_AFTER_INTERVALS = 3
T = TypeVar("T")


class _Items(Generic[T]):
    """A snapshot attribute reading one query's items (no annotation where it
    is used, so the dataclass does not take it for a field)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get__(self, snap: NodeSnapshot, owner: type[NodeSnapshot] | None = None) -> tuple[T, ...]:
        return snap.items(self.kind)


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"  # no successful poll for three intervals
    UNREACHABLE = "unreachable"  # the last attempt could not reach the node
    UNKNOWN = "unknown"  # never read yet


@dataclass(frozen=True)
class Section:
    """One kind of data of a node, as of its last successful read."""

    # ksysmgr over SSH: vm, site, host, disk_group, disk_pair, workgroup, event,
    # system, report (read rarely); the DR Automation service (REST, PowerVS):
    # service (the summary), rest_vm (managed VMs), rest_status (service
    # instance), rest_event (its events, read incrementally)
    kind: str
    items: tuple[Any, ...] = ()
    read_at: datetime | None = None  # last success
    error: str | None = None  # last failure of this query, if the latest attempt failed


@dataclass(frozen=True)
class NodeHealth:
    """Why a node's data is as fresh as it is (the nodes view shows this)."""

    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    error_kind: str | None = None  # unreachable, auth_failed, host_key_mismatch, timeout, command_failed, parse
    consecutive_failures: int = 0
    latency_ms: float | None = None
    host_key: str = "unknown"  # verified / mismatch / unknown / trusted-on-first-use
    next_attempt: datetime | None = None


@dataclass(frozen=True)
class NodeSnapshot:
    node: str
    tenant: str
    flavour: Flavour
    interval: float  # seconds between polls, for freshness
    sections: Mapping[str, Section] = field(default_factory=dict)
    health: NodeHealth = field(default_factory=NodeHealth)
    # Which poll of the node this is: it only grows (the node's monitor numbers
    # its polls as they start), so whoever holds two snapshots of one node
    # keeps the later one. 0 is "never polled".
    sequence: int = 0

    def supersedes(self, other: NodeSnapshot | None) -> bool:
        """Whether this snapshot may replace ``other`` (never an older poll
        over a newer one; an equal sequence is the same poll)."""
        return other is None or self.sequence >= other.sequence

    def items(self, kind: str) -> tuple[Any, ...]:
        s = self.sections.get(kind)
        return s.items if s else ()

    # the items of one query, typed: ``snap.vms`` is ``snap.items("vm")``
    vms = _Items[Vm]("vm")
    sites = _Items[Site]("site")
    hosts = _Items[Host]("host")
    disk_groups = _Items[DiskGroup]("disk_group")
    disk_pairs = _Items[DiskPair]("disk_pair")
    workgroups = _Items[Workgroup]("workgroup")
    managed_vms = _Items[ManagedVm]("rest_vm")  # the DR Automation service's view of the VMs

    @property
    def events(self) -> tuple[KsysEvent, ...]:
        """The node's events from both sources: ``query event`` over SSH, then
        the DR Automation service's events that SSH did not list (an event
        both list is one event, marked as read from both)."""
        return merge_events(self.items("event"), self.items("rest_event"))

    @property
    def system(self) -> SystemAttributes | None:
        items = self.items("system")
        return items[0] if items else None

    @property
    def report(self) -> SystemReport | None:
        """``report system``, read every REPORT_EVERY polls, not every poll."""
        items = self.items("report")
        return items[0] if items else None

    @property
    def service_status(self) -> ServiceStatus | None:
        items = self.items("rest_status")
        return items[0] if items else None

    def managed_vm(self, vm_name: str) -> ManagedVm | None:
        """What the DR Automation service says of the VM named ``vm_name``."""
        for m in self.managed_vms:
            if m.vm_name == vm_name:
                return m
        return None

    def freshness(self, now: datetime, kind: str | None = None) -> Freshness:
        """Freshness of the node (kind None) or of one kind of its data."""
        if kind is not None:
            s = self.sections.get(kind)
            return judge_freshness(now, s.read_at if s else None, self.interval, self.health)
        return judge_freshness(now, self.health.last_success, self.interval, self.health)

    def age(self, now: datetime, kind: str | None = None) -> timedelta | None:
        when = self.health.last_success if kind is None else getattr(self.sections.get(kind), "read_at", None)
        return None if when is None else now - when


# transport error kinds after which a node counts as not there at all
UNREACHABLE_KINDS = frozenset({"unreachable", "auth_failed", "host_key_mismatch", "host_key_unknown", "timeout"})


def judge_freshness(now: datetime, read_at: datetime | None, interval: float, health: NodeHealth) -> Freshness:
    """The rule the whole product shows: fresh while the data is younger than
    three poll intervals; unreachable (with its reason) as soon as the last
    attempt could not reach the node; otherwise stale."""
    if health.consecutive_failures and health.error_kind in UNREACHABLE_KINDS:
        return Freshness.UNREACHABLE
    if read_at is None:
        return Freshness.UNKNOWN
    if (now - read_at).total_seconds() > STALE_AFTER_INTERVALS * interval:
        return Freshness.STALE
    return Freshness.FRESH


# --- events ------------------------------------------------------------------
BOTH_SOURCES = f"{SSH_SOURCE} and {REST_SOURCE}"


def merge_events(ssh: tuple[KsysEvent, ...], rest: tuple[KsysEvent, ...]) -> tuple[KsysEvent, ...]:
    """SSH events in their order, then the REST events not among them (same
    ``event_id``); an event both sources list keeps its SSH values and says so."""
    if not rest:
        return ssh
    rest_ids = {e.event_id for e in rest if e.event_id}
    ssh_ids = {e.event_id for e in ssh if e.event_id}
    merged = [replace(e, source=BOTH_SOURCES) if e.event_id in rest_ids else e for e in ssh]
    merged += [e for e in rest if not e.event_id or e.event_id not in ssh_ids]
    return tuple(merged)


def event_identity(node: str, ev: KsysEvent) -> str:
    """A stable identity for de-duplication: the node's own event id and the
    time it printed, where it prints an id (a restarted node numbers its
    events from the start again: the time tells a new event from an old one),
    else a digest of what the event says (a KSYS that prints no id still
    never prints the same event twice at the same second)."""
    if ev.event_id:
        return f"{node}:{ev.event_id}@{ev.time or ''}"
    digest = hashlib.sha1(
        "\x1f".join([ev.name, ev.time or "", ev.resource or "", ev.description or ""]).encode()
    ).hexdigest()[:16]
    return f"{node}:{digest}"


# --- shared recovery hosts ----------------------------------------------------
@dataclass(frozen=True)
class SharedHost:
    """A physical recovery host (by CEC UUID), the tenants that fail over to
    it, and the tenants whose VMs run on it now (after a failover onto it)."""

    uuid: str
    names: tuple[str, ...]  # as each tenant's KSYS calls it
    tenants: tuple[str, ...]  # who counts on it for recovery
    pairs: tuple[tuple[str, str, str], ...]  # (tenant, node, production host)
    # (tenant, node, VMs) whose VMs run on it now: a tenant that failed over onto it
    running: tuple[tuple[str, str, int], ...] = ()

    @property
    def name(self) -> str:
        return self.names[0] if self.names else self.uuid

    @property
    def shared(self) -> bool:
        """More than one tenant counts on it for recovery."""
        return len(self.tenants) > 1

    @property
    def users(self) -> tuple[str, ...]:
        """Every tenant that counts on it or runs on it now."""
        return tuple(sorted({*self.tenants, *(t for t, _, _ in self.running)}))


def recovery_hosts(snapshots: Iterable[NodeSnapshot]) -> dict[str, SharedHost]:
    """Every recovery host paired by any tenant, keyed by CEC UUID. A host is
    a recovery host for a node when a host of the node's active site is
    paired with it. A tenant that failed over onto a host another tenant
    counts on shows in its ``running`` (its own pairs then point home)."""
    snaps = list(snapshots)
    acc: dict[str, dict[str, set[Any]]] = {}
    for snap in snaps:
        by_name = {h.name: h for h in snap.hosts}
        active = {s.name for s in snap.sites if (s.sitetype or "").upper() in ("ACTIVE", "HOME")}
        for h in snap.hosts:
            if not h.pair or (active and h.site not in active):
                continue
            target = by_name.get(h.pair)
            if target is None or not target.uuid:
                continue
            entry = acc.setdefault(target.uuid, {"names": set(), "tenants": set(), "pairs": set()})
            entry["names"].add(target.name)
            entry["tenants"].add(snap.tenant)
            entry["pairs"].add((snap.tenant, snap.node, h.name))
    running: dict[str, set[tuple[str, str, int]]] = {}
    for snap in snaps:
        on_host = Counter(v.host for v in snap.vms if v.host)
        for h in snap.hosts:
            if h.uuid in acc and on_host.get(h.name):
                running.setdefault(h.uuid, set()).add((snap.tenant, snap.node, on_host[h.name]))
    return {
        uuid: SharedHost(uuid, tuple(sorted(e["names"])), tuple(sorted(e["tenants"])), tuple(sorted(e["pairs"])),
                         tuple(sorted(running.get(uuid, ()))))
        for uuid, e in acc.items()
    }
