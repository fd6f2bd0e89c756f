"""What ``/metrics`` says: the fleet, the queue, the alerts and the
notifications as the database holds them, in Prometheus' terms.

Everything is read from the database when Prometheus scrapes (a custom
``prometheus_client`` collector, no counters kept in memory), so every
member of a pair answers alike, a standby included: it says it stands by
(``ksystui_service_leader`` 0) and still shows the fleet the leader
publishes. What a member knows of itself (its role) is the only thing
that is not read from the database.

Each metric's HELP is written for the person a page wakes: what the
number is, and what to look at when it is wrong. The names and labels are
listed in README.md ("Metrics"), with sample alerting rules.

Collecting reads the database synchronously: call it in a worker thread
(``service.metrics_http`` does), never on the service's event loop.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ksystui.config import Config
from ksystui.core.notices import ALERT_SEVERITY
from ksystui.core.opstate import OpState
from ksystui.core.rpo import measure_rpo
from ksystui.core.snapshot import Freshness, NodeSnapshot
from ksystui.store.delivery_tables import notify_deliveries
from ksystui.store.engine import read_connection
from ksystui.store.feed import Feed
from ksystui.store.queue_tables import operations
from ksystui.store.service_tables import alerts, service_lease
from ksystui.store.tables import NodeRow

log = logging.getLogger(__name__)

# seconds: a verify takes tens of seconds, a move or a DR test minutes to hours (one VM after another)
DURATION_BUCKETS: tuple[float, ...] = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
CONSISTENT = frozenset({"consistent_synchronized", "consistent_copying"})  # as core.status judges replication
LIVE_STATES: tuple[OpState, ...] = (OpState.QUEUED, OpState.ADMITTED, OpState.RUNNING, OpState.IN_DOUBT)
NO_HOST = "none"  # the host label of waiting operations that need no recovery host (verify, discover)
DELIVERY_STATES = ("pending", "delivered", "gave_up")  # notify_deliveries.state (issue 12.1)

_nodes: sa.Table = NodeRow.metadata.tables["nodes"]


@dataclass(frozen=True)
class Member:
    """What this ``ksystui serve`` process says of itself."""

    id: str
    role: str  # leader / standby / stopped


@dataclass(frozen=True)
class LiveOp:
    id: int
    tenant: str
    node: str
    op: str
    state: str
    hosts: tuple[tuple[str, str], ...]  # (CEC UUID, name) of the recovery hosts it needs
    submitted_at: datetime
    started_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    hook: str
    state: str
    attempts: int


@dataclass
class Facts:
    """What one scrape read from the database."""

    now: datetime
    nodes: dict[str, str] = field(default_factory=dict)  # node -> tenant (configured or published)
    snapshots: dict[str, NodeSnapshot] = field(default_factory=dict)
    live_ops: list[LiveOp] = field(default_factory=list)
    durations: list[tuple[str, str, float]] = field(default_factory=list)  # (operation, tenant, seconds)
    open_alerts: list[tuple[str, str, datetime]] = field(default_factory=list)  # (tenant, event, raised_at)
    lease_epoch: int | None = None
    lease_live: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    rpo_targets: dict[str, timedelta] = field(default_factory=dict)  # tenant -> agreed RPO (configuration)


def read_facts(engine: Engine, feed: Feed, now: datetime) -> Facts:
    """Read what the metrics say, in short read transactions (never a write)."""
    facts = Facts(now)
    facts.snapshots = feed.snapshots()
    with read_connection(engine) as conn:
        facts.nodes = {r.name: r.tenant for r in conn.execute(sa.select(_nodes.c.name, _nodes.c.tenant))}
        facts.nodes.update((s.node, s.tenant) for s in facts.snapshots.values())
        live = conn.execute(sa.select(operations).where(operations.c.state.in_([s.value for s in LIVE_STATES])))
        facts.live_ops = [_live_op(r) for r in live]
        done = conn.execute(sa.select(operations.c.op, operations.c.tenant, operations.c.started_at,
                                      operations.c.finished_at)
                            .where(operations.c.state.in_([OpState.SUCCEEDED.value, OpState.FAILED.value]),
                                   operations.c.started_at.is_not(None), operations.c.finished_at.is_not(None)))
        facts.durations = [(r.op, r.tenant, max(0.0, (r.finished_at - r.started_at).total_seconds())) for r in done]
        open_ = sa.select(alerts.c.tenant, alerts.c.event, alerts.c.raised_at).where(
            alerts.c.acked_at.is_(None), alerts.c.resolved_at.is_(None))  # a resolved alert is not open
        facts.open_alerts = [(r.tenant, r.event, r.raised_at) for r in conn.execute(open_)]
        lease = conn.execute(sa.select(service_lease).where(service_lease.c.id == 1)).first()
        if lease is not None:
            facts.lease_epoch = lease.epoch
            facts.lease_live = lease.holder is not None and lease.expires_at is not None and lease.expires_at > now
    facts.deliveries = _deliveries(engine)
    return facts


def _live_op(r: Any) -> LiveOp:
    uuids, names = json.loads(r.recovery_hosts or "[]"), json.loads(r.host_names or "[]")
    names = list(names) + [""] * (len(uuids) - len(names))
    return LiveOp(r.id, r.tenant, r.node, r.op, r.state, tuple((u, n or u) for u, n in zip(uuids, names, strict=False)),
                  r.submitted_at, r.started_at or r.admitted_at)


def _deliveries(engine: Engine) -> list[Delivery]:
    """The notification delivery log (store.deliveries): hook, state, attempts."""
    with read_connection(engine) as conn:
        rows = conn.execute(sa.select(notify_deliveries.c.hook, notify_deliveries.c.state,
                                      notify_deliveries.c.attempts)).all()
    return [Delivery(r.hook, r.state, int(r.attempts or 0)) for r in rows]


# --- the families ------------------------------------------------------------------
def _gauge(name: str, help_: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_, labels=list(labels))


def service_families(me: Member, facts: Facts | None) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "ksystui_database_up",
        "1 when this ksystui serve process could read its database for this scrape; 0 means every other "
        "ksystui_ metric is missing from it: check the database (ksystui service status, the service's log).",
        value=1 if facts is not None else 0)
    yield up
    leader = GaugeMetricFamily(
        "ksystui_service_leader",
        "1 while this ksystui serve process leads (holds the lease: it polls the KSYS nodes and runs the "
        "operations queue), 0 on a standby. Across a pair exactly one member says 1; none for minutes means "
        "nobody polls or dispatches (ksystui service status says why).",
        value=1 if me.role == "leader" else 0)
    yield leader
    info = _gauge("ksystui_service_info", "This ksystui serve process (member = host:pid:boot) and its role: "
                  "leader, standby or stopped. Always 1.", ("member", "role"))
    info.add_metric([me.id, me.role], 1)
    yield info
    if facts is None:
        return
    yield GaugeMetricFamily(
        "ksystui_service_lease_live",
        "1 when the database says some member holds an unexpired lease (someone leads), 0 when nobody "
        "leads: no node is polled and no operation is dispatched until a ksystui serve takes the lease.",
        value=1 if facts.lease_live else 0)
    if facts.lease_epoch is not None:
        yield GaugeMetricFamily(
            "ksystui_service_lease_epoch",
            "The lease's fencing number: it grows by one each time a member takes the lead. Changes often "
            "mean leaders keep losing the lease (an overloaded host, a flapping database link).",
            value=facts.lease_epoch)


def node_families(facts: Facts) -> Iterator[Metric]:
    labels = ("tenant", "node")
    fresh = _gauge("ksystui_node_freshness",
                   "1 for the node's current freshness state, 0 for the others: fresh (read within 3 poll "
                   "intervals), stale (no successful read for 3 intervals: its data may be out of date), "
                   "unreachable (the last attempt could not reach it: network, SSH key, credentials), unknown "
                   "(never read). The console's :nodes view shows the reason.", (*labels, "state"))
    age = _gauge("ksystui_node_last_success_age_seconds",
                 "Seconds since the node's data was last read successfully. Compare with "
                 "ksystui_node_poll_interval_seconds: over 3 intervals the console shows it stale.", labels)
    interval = _gauge("ksystui_node_poll_interval_seconds", "How often the service polls the node, in seconds.",
                      labels)
    latency = _gauge("ksystui_node_latency_seconds",
                     "How long the node's last poll took, in seconds (all its ksysmgr queries or REST calls). "
                     "A node that grows slow is often a KSYS or HMC under load.", labels)
    errors = _gauge("ksystui_node_consecutive_errors",
                    "Polls of the node that failed in a row (0 once one succeeds). The error is in the "
                    "console's :nodes view and the service's log.", labels)
    vms = _gauge("ksystui_vms", "VMs the node's KSYS manages, by KSYS state (READY_TO_MOVE, MOVED, DOWN, "
                 "VERIFY_FAILED, ...), as of its last successful read. Sum by tenant for a tenant's VMs.",
                 (*labels, "state"))
    progress = _gauge("ksystui_replication_progress_percent",
                      "Replication progress of a disk group (workgroup on PowerVS) as KSYS prints it: 100 is "
                      "in sync; below 100 the copy is behind and a failover now would lose recent writes.",
                      (*labels, "group"))
    consistent = _gauge("ksystui_replication_consistent",
                        "1 when the disk group's consistency group is in a consistent state "
                        "(consistent_synchronized or consistent_copying), 0 otherwise: the copy at the "
                        "recovery site cannot be trusted for a failover. cg_state is what KSYS printed.",
                        (*labels, "group", "cg_state"))
    rpo = _gauge("ksystui_rpo_seconds",
                 "The node's recovery point in seconds: how much recent data a failover now would lose, as "
                 "measured from what KSYS reports (last consistent point, in sync, or at least since a "
                 "replication event). Absent when it cannot be measured: the console's overview says why.",
                 labels)
    rpo_target = _gauge("ksystui_rpo_target_seconds",
                        "The tenant's agreed recovery point objective (config rpo), in seconds.", labels)
    rpo_breach = _gauge("ksystui_rpo_breach",
                        "1 when the measured recovery point is over the tenant's agreed RPO, else 0 "
                        "(absent when it cannot be measured or none is agreed).", labels)
    for node, tenant in sorted(facts.nodes.items()):
        snap = facts.snapshots.get(node)
        if snap is not None:
            reading = measure_rpo(snap, facts.now, facts.rpo_targets.get(tenant))
            if reading.lag is not None:
                rpo.add_metric([tenant, node], reading.lag.total_seconds())
            if reading.target is not None:
                rpo_target.add_metric([tenant, node], reading.target.total_seconds())
            if reading.breach is not None:
                rpo_breach.add_metric([tenant, node], 1 if reading.breach else 0)
        state = snap.freshness(facts.now) if snap is not None else Freshness.UNKNOWN
        for s in Freshness:
            fresh.add_metric([tenant, node, s.value], 1 if s is state else 0)
        if snap is None:
            continue
        interval.add_metric([tenant, node], snap.interval)
        h = snap.health
        if h.last_success is not None:
            age.add_metric([tenant, node], max(0.0, (facts.now - h.last_success).total_seconds()))
        if h.latency_ms is not None:
            latency.add_metric([tenant, node], h.latency_ms / 1000)
        errors.add_metric([tenant, node], h.consecutive_failures)
        for vm_state, n in sorted(Counter(v.state for v in snap.vms).items()):
            vms.add_metric([tenant, node, vm_state], n)
        for g in snap.disk_groups:
            name = g.name or g.workgroup or g.cg_name or "-"
            if g.progress is not None:
                progress.add_metric([tenant, node, name], g.progress)
            consistent.add_metric([tenant, node, name, g.cg_state or "unknown"], 1 if g.cg_state in CONSISTENT else 0)
    yield from (fresh, age, interval, latency, errors, vms, progress, consistent, rpo, rpo_target, rpo_breach)


def queue_families(facts: Facts) -> Iterator[Metric]:
    now = facts.now
    by_state = _gauge("ksystui_operations",
                      "Operations in the queue by state: queued (waiting for their node or a recovery host), "
                      "admitted, running, in_doubt (sent, outcome unknown: an operator must resolve it with "
                      "ksystui resolve; it keeps its hosts until then).", ("state",))
    counts = Counter(o.state for o in facts.live_ops)
    for s in LIVE_STATES:
        by_state.add_metric([s.value], counts.get(s.value, 0))
    waiting = [o for o in facts.live_ops if o.state == OpState.QUEUED.value]
    yield by_state
    yield GaugeMetricFamily("ksystui_queue_depth", "Operations waiting in the queue (all hosts).",
                            value=len(waiting))
    depth = _gauge("ksystui_queue_depth_by_host",
                   "Operations waiting for a recovery host (a shared host serves several tenants: one failover "
                   "at a time). host=\"none\": waiting operations that need no recovery host, only their node.",
                   ("host", "host_uuid"))
    oldest = _gauge("ksystui_queue_oldest_waiting_seconds",
                    "Seconds the longest-waiting operation for this recovery host has been queued. A failover "
                    "waiting here is a tenant's recovery time running: see the console's :queue view.",
                    ("host", "host_uuid"))
    per_host: dict[tuple[str, str], list[LiveOp]] = defaultdict(list)
    for o in waiting:
        for uuid, name in o.hosts or ((NO_HOST, NO_HOST),):
            per_host[(name, uuid)].append(o)
    for (name, uuid), ops in sorted(per_host.items()):
        depth.add_metric([name, uuid], len(ops))
        oldest.add_metric([name, uuid], max(0.0, max((now - o.submitted_at).total_seconds() for o in ops)))
    yield depth
    yield oldest
    running = _gauge("ksystui_operation_running_seconds",
                     "Seconds since each admitted or running operation started (op is its id, as ksystui "
                     "queue and the console's :queue view show it). A move or DR test running far longer than "
                     "usual (ksystui_operation_duration_seconds) may be stuck on its node.",
                     ("tenant", "node", "operation", "op"))
    for o in sorted(facts.live_ops, key=lambda o: o.id):
        if o.state in (OpState.ADMITTED.value, OpState.RUNNING.value):
            since = o.started_at or o.submitted_at
            running.add_metric([o.tenant, o.node, o.op, str(o.id)], max(0.0, (now - since).total_seconds()))
    yield running
    yield duration_histogram(facts.durations)


def duration_histogram(durations: Iterable[tuple[str, str, float]]) -> HistogramMetricFamily:
    hist = HistogramMetricFamily(
        "ksystui_operation_duration_seconds",
        "How long finished operations (succeeded or failed) ran, from start to end, by operation and tenant, "
        "over the operations the database keeps. Its quantiles are what a tenant's recovery takes.",
        labels=["operation", "tenant"])
    grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
    for op, tenant, seconds in durations:
        grouped[(op, tenant)].append(seconds)
    for (op, tenant), values in sorted(grouped.items()):
        buckets = [(floatToGoString(le), float(sum(1 for v in values if v <= le))) for le in DURATION_BUCKETS]
        buckets.append(("+Inf", float(len(values))))
        hist.add_metric([op, tenant], buckets, sum_value=sum(values))
    return hist


def alert_severity(event: str) -> str:
    """An alert's severity: the one its notices carry (``core.notices``), so
    a page and the metric agree. An alert is raised only by a critical event
    or by ksystui's own critical condition (a node gone, a trail tampered),
    so every alert is critical, whichever raised it."""
    return ALERT_SEVERITY


def alert_families(facts: Facts) -> Iterator[Metric]:
    opened = _gauge("ksystui_alerts_open",
                    "Alerts raised and not yet acknowledged (nor resolved), by tenant and severity. Acknowledge "
                    "it in the console's :alerts view.", ("tenant", "severity"))
    oldest = _gauge("ksystui_alert_oldest_open_seconds",
                    "Seconds since the oldest unacknowledged alert of the tenant was raised: nobody has taken "
                    "it for that long.", ("tenant",))
    counts = Counter((tenant, alert_severity(event)) for tenant, event, _ in facts.open_alerts)
    tenants = sorted(set(facts.nodes.values()))
    for tenant in tenants:
        for severity in ("critical", "warning"):
            opened.add_metric([tenant, severity], counts.get((tenant, severity), 0))
    first: dict[str, datetime] = {}
    for tenant, _, raised in facts.open_alerts:
        first[tenant] = min(raised, first.get(tenant, raised))
    for tenant, raised in sorted(first.items()):
        oldest.add_metric([tenant], max(0.0, (facts.now - raised).total_seconds()))
    yield opened
    yield oldest


def notify_families(facts: Facts, hooks: Sequence[str]) -> Iterator[Metric]:
    deliveries = _gauge("ksystui_notify_deliveries",
                        "Notifications by hook and delivery state: pending (not delivered yet, maybe retrying), "
                        "delivered, gave_up (every attempt failed: the receiver never got it). See ksystui notify "
                        "log.", ("hook", "state"))
    retrying = _gauge("ksystui_notify_retrying",
                      "Notifications still pending after at least one failed attempt, by hook: the receiver "
                      "(webhook, PagerDuty, Slack, a command) is failing. ksystui notify log shows the last error; "
                      "ksystui notify test HOOK tries it.", ("hook",))
    rows = facts.deliveries
    states = Counter((d.hook, d.state) for d in rows)
    failing = Counter(d.hook for d in rows if d.state == "pending" and d.attempts > 0)
    for hook in sorted({*hooks, *(d.hook for d in rows)}):
        for state in DELIVERY_STATES:
            deliveries.add_metric([hook, state], states.get((hook, state), 0))
        retrying.add_metric([hook], failing.get(hook, 0))
    yield deliveries
    yield retrying


class FleetCollector(Collector):
    """Reads the database at each ``collect``: register it in a registry of
    its own (``registry()``) and collect off the event loop."""

    def __init__(self, cfg: Config, engine: Engine, me: Callable[[], Member],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.engine = engine
        self.me = me
        self.clock = clock
        self.hooks = tuple(h.name for h in cfg.notify)  # names only: a hook's URL or key is never read here
        self.rpo_targets = {t.name: t.rpo for t in cfg.tenants if t.rpo is not None}
        self._feed = Feed(engine)  # keeps decoded snapshot sections between scrapes
        self._lock = threading.Lock()  # one scrape reads at a time (the feed's memo is not shared safely)

    def collect(self) -> Iterator[Metric]:  # noqa: V105 (prometheus_client calls it at each scrape)
        with self._lock:
            try:
                read = read_facts(self.engine, self._feed, self.clock())
                read.rpo_targets = self.rpo_targets
                facts: Facts | None = read
            except SQLAlchemyError:
                log.warning("metrics: the database could not be read", exc_info=True)
                facts = None
            out = list(service_families(self.me(), facts))
            if facts is not None:
                out += [*node_families(facts), *queue_families(facts), *alert_families(facts),
                        *notify_families(facts, self.hooks)]
        return iter(out)


def registry(collector: FleetCollector) -> CollectorRegistry:
    """A registry holding only ``collector`` (not the process-wide default:
    no Python process metrics, and nothing collected when registered)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg
