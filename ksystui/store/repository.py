"""What the rest of ksystui reads from and writes to the store.

``Store`` is synchronous (SQLAlchemy Core on the sqlmodel tables, one short
transaction per call); ``AsyncStore`` runs the same calls in a worker thread
so an event loop never waits on the database.

Nothing here takes a secret: the configuration mirror is given names,
priorities, tiers and flavours only (``config_rows`` picks them out of a
``Config``), and snapshots hold what ksysmgr printed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import URL, Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from ksystui.core.model import KsysEvent
from ksystui.core.snapshot import NodeSnapshot, event_identity
from ksystui.store.codec import (
    CodecError,
    SectionMemo,
    dump_extra,
    dump_snapshot,
    load_extra,
    load_snapshot,
)
from ksystui.store.engine import migrate, open_engine, read_connection
from ksystui.store.tables import EventRow, NodeRow, SnapshotRow, TenantRow

if TYPE_CHECKING:
    from ksystui.config import Config

log = logging.getLogger(__name__)

TenantSpec = tuple[str, int, str]  # (name, priority, tier)
NodeSpec = tuple[str, str, str]  # (name, tenant, flavour)
StoredEvent = tuple[str, str, KsysEvent, datetime]  # (node, tenant, event, first seen)

_tenants: sa.Table = TenantRow.metadata.tables["tenants"]
_nodes: sa.Table = NodeRow.metadata.tables["nodes"]
_snapshots: sa.Table = SnapshotRow.metadata.tables["snapshots"]
_events: sa.Table = EventRow.metadata.tables["events"]


def config_rows(config: Config) -> tuple[list[TenantSpec], list[NodeSpec]]:
    """The part of a configuration the store mirrors: no address, user, key,
    token or path, only names, priorities, tiers and flavours."""
    tenants = [(t.name, t.priority, t.tier) for t in config.tenants]
    nodes = [(n.name, t.name, str(n.flavour)) for t in config.tenants for n in t.nodes]
    return tenants, nodes


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _taken_at(snap: NodeSnapshot) -> datetime:
    """When a snapshot was taken: its last poll attempt, else its newest read."""
    h = snap.health
    if h.last_attempt is not None:
        return _utc(h.last_attempt)
    reads = [_utc(t) for t in (h.last_success, *(s.read_at for s in snap.sections.values())) if t is not None]
    return max(reads) if reads else datetime.now(UTC)


def insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in this connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert_snapshot(conn: Connection, snap: NodeSnapshot, *, seq: int | None = None) -> bool:
    """Keep ``snap`` as its node's latest snapshot in ``conn``'s transaction,
    unless one taken later is stored (the newer wins, whoever commits last);
    True when it was stored."""
    row = {"node": snap.node, "tenant": snap.tenant, "taken_at": _taken_at(snap), "data": dump_snapshot(snap),
           "sequence": snap.sequence, "seq": seq}
    ins = insert(conn, _snapshots)
    stmt = ins.on_conflict_do_update(
        index_elements=["node"],
        set_={name: ins.excluded[name] for name in row if name != "node"},
        where=ins.excluded.taken_at >= _snapshots.c.taken_at,
    ).returning(_snapshots.c.node)
    return conn.execute(stmt, row).first() is not None


_BATCH = 500  # rows per statement (SQLite allows 32766 bound values; an event row binds 11)


def insert_missing(conn: Connection, table: sa.Table, rows: Mapping[str, Mapping[str, object]],
                   *returning: sa.ColumnElement[Any]) -> dict[str, sa.Row[Any]]:
    """Insert the rows (by their UNIQUE ``identity``) not stored yet, in
    ``conn``'s transaction; return the inserted ones by identity. A poll
    repeats mostly known rows: one SELECT finds those, one multi-row INSERT
    adds the rest. ON CONFLICT DO NOTHING decides between two writers at
    once: each row is inserted, and returned, exactly once. RETURNING, not
    rowcount: PostgreSQL's driver reports no rowcount for it."""
    identity = table.c.identity
    out: dict[str, sa.Row[Any]] = {}
    keys = list(rows)
    for i in range(0, len(keys), _BATCH):
        chunk = keys[i:i + _BATCH]
        known = set(conn.execute(sa.select(identity).where(identity.in_(chunk))).scalars())
        missing = [dict(rows[k]) for k in chunk if k not in known]
        if missing:
            stmt = insert(conn, table).values(missing).on_conflict_do_nothing(index_elements=["identity"])
            out.update((r.identity, r) for r in conn.execute(stmt.returning(identity, *returning)).all())
    return out


def insert_new_events(conn: Connection, node: str, tenant: str, events: Iterable[KsysEvent],
                      first_seen: datetime) -> list[KsysEvent]:
    """Store, in ``conn``'s transaction, the events not stored yet (by
    ``event_identity``) and return those, in the order given (an event
    listed twice is returned once). The UNIQUE identity decides: two writers
    adding the same events at once store each once, and each event is
    returned to exactly one of them."""
    by_identity: dict[str, KsysEvent] = {}
    rows: dict[str, dict[str, object]] = {}
    for ev in events:
        identity = event_identity(node, ev)
        if identity in rows:
            continue
        by_identity[identity] = ev
        rows[identity] = {
            "identity": identity,
            "node": node,
            "tenant": tenant,
            "name": ev.name,
            "type": ev.type,
            "description": ev.description,
            "resource": ev.resource,
            "event_id": ev.event_id,
            "event_time": ev.time,
            "extra": dump_extra(ev.extra),
            "first_seen": first_seen,
        }
    stored = insert_missing(conn, _events, rows)
    return [ev for identity, ev in by_identity.items() if identity in stored]


def read_snapshots(conn: Connection, tenant: str | None = None, nodes: Iterable[str] | None = None,
                   memo: SectionMemo | None = None) -> dict[str, NodeSnapshot]:
    """The latest snapshot of every node (of one tenant; of the named nodes),
    by node name. A snapshot this ksystui cannot read is skipped with a warning.
    ``memo``: a reader that reads the same nodes again and again re-uses what
    did not change (``codec.SectionMemo``)."""
    query = sa.select(_snapshots.c.node, _snapshots.c.data).order_by(_snapshots.c.node)
    if tenant is not None:
        query = query.where(_snapshots.c.tenant == tenant)
    if nodes is not None:
        query = query.where(_snapshots.c.node.in_(list(nodes)))
    out: dict[str, NodeSnapshot] = {}
    for node, data in conn.execute(query).all():
        try:
            out[node] = load_snapshot(data, memo)
        except CodecError as exc:
            log.warning("stored snapshot of node %s cannot be read, ignored: %s", node, exc)
    return out


def stored_event(row: Any) -> StoredEvent:
    """An ``events`` row as (node, tenant, event, first seen)."""
    event = KsysEvent(name=row.name, type=row.type, description=row.description, time=row.event_time,
                      resource=row.resource, event_id=row.event_id, extra=load_extra(row.extra))
    return row.node, row.tenant, event, row.first_seen


class Store:
    """The store on one engine (already migrated: see :meth:`open`)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str | URL | None = None) -> Store:
        """``open_engine(url)`` + ``migrate``: how a process opens the store."""
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- configuration mirror -----------------------------------------------------
    def sync_config(self, tenants: Iterable[TenantSpec], nodes: Iterable[NodeSpec]) -> None:
        """Make the tenants and nodes tables say exactly this. Tenants and nodes
        no longer configured are removed, with their latest snapshots (their
        events stay until the retention prunes them)."""
        tenant_rows = [{"name": n, "priority": int(p), "tier": str(t)} for n, p, t in tenants]
        node_rows = [{"name": n, "tenant": t, "flavour": str(f)} for n, t, f in nodes]
        names = [r["name"] for r in tenant_rows]
        node_names = [r["name"] for r in node_rows]
        if len(set(names)) != len(names):
            raise ValueError("a tenant is listed twice")
        if len(set(node_names)) != len(node_names):
            raise ValueError("a node is listed twice")
        orphans = sorted({r["tenant"] for r in node_rows} - set(names))
        if orphans:
            raise ValueError(f"nodes of unknown tenants: {', '.join(orphans)}")
        with self.engine.begin() as conn:
            if tenant_rows:
                ins = insert(conn, _tenants)
                conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=["name"], set_={"priority": ins.excluded.priority, "tier": ins.excluded.tier}
                    ),
                    tenant_rows,
                )
            if node_rows:
                ins = insert(conn, _nodes)
                conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=["name"], set_={"tenant": ins.excluded.tenant, "flavour": ins.excluded.flavour}
                    ),
                    node_rows,
                )
            conn.execute(sa.delete(_snapshots).where(_snapshots.c.node.not_in(node_names)))
            conn.execute(sa.delete(_nodes).where(_nodes.c.name.not_in(node_names)))
            conn.execute(sa.delete(_tenants).where(_tenants.c.name.not_in(names)))

    def sync_from_config(self, config: Config) -> None:
        self.sync_config(*config_rows(config))

    def tenants(self) -> list[TenantSpec]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(sa.select(_tenants).order_by(_tenants.c.priority, _tenants.c.name)).all()
        return [(r.name, r.priority, r.tier) for r in rows]

    def nodes(self) -> list[NodeSpec]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(sa.select(_nodes).order_by(_nodes.c.tenant, _nodes.c.name)).all()
        return [(r.name, r.tenant, r.flavour) for r in rows]

    # --- snapshots ------------------------------------------------------------------
    def save_snapshot(self, snap: NodeSnapshot) -> None:
        """Keep ``snap`` as its node's latest snapshot, unless the store already
        holds one taken later (two consoles polling the same node: the newer
        one wins, whichever commits last)."""
        with self.engine.begin() as conn:
            upsert_snapshot(conn, snap)

    def load_snapshots(self, tenant: str | None = None) -> dict[str, NodeSnapshot]:
        """The latest snapshot of every node (of one tenant), by node name. A
        snapshot this ksystui cannot read is skipped with a warning."""
        with read_connection(self.engine) as conn:
            return read_snapshots(conn, tenant)

    # --- events ---------------------------------------------------------------------
    def add_events(
        self, node: str, tenant: str, events: Iterable[KsysEvent], *, seen_at: datetime | None = None
    ) -> list[KsysEvent]:
        """Store the events not stored yet (by ``event_identity``) and return
        those, in the order given (``insert_new_events``)."""
        first_seen = _utc(seen_at) if seen_at is not None else datetime.now(UTC)
        with self.engine.begin() as conn:
            return insert_new_events(conn, node, tenant, events, first_seen)

    def recent_events(self, since: datetime, tenant: str | None = None) -> list[StoredEvent]:
        """Events first seen at or after ``since`` (of one tenant), oldest first."""
        query = (
            sa.select(_events)
            .where(_events.c.first_seen >= _utc(since))
            .order_by(_events.c.first_seen, _events.c.id)
        )
        if tenant is not None:
            query = query.where(_events.c.tenant == tenant)
        with read_connection(self.engine) as conn:
            return [stored_event(r) for r in conn.execute(query).all()]

    def prune_events(self, older_than: datetime) -> int:
        """Forget events first seen before ``older_than``; return how many."""
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(_events).where(_events.c.first_seen < _utc(older_than))).rowcount


class AsyncStore:
    """The same API for an event loop: every call runs in a worker thread."""

    def __init__(self, store: Store | Engine):
        self.store = store if isinstance(store, Store) else Store(store)

    @classmethod
    async def open(cls, url: str | URL | None = None) -> AsyncStore:
        return cls(await asyncio.to_thread(Store.open, url))

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)

    async def sync_config(self, tenants: Iterable[TenantSpec], nodes: Iterable[NodeSpec]) -> None:
        await asyncio.to_thread(self.store.sync_config, list(tenants), list(nodes))

    async def sync_from_config(self, config: Config) -> None:
        await asyncio.to_thread(self.store.sync_from_config, config)

    async def tenants(self) -> list[TenantSpec]:
        return await asyncio.to_thread(self.store.tenants)

    async def nodes(self) -> list[NodeSpec]:
        return await asyncio.to_thread(self.store.nodes)

    async def save_snapshot(self, snap: NodeSnapshot) -> None:
        await asyncio.to_thread(self.store.save_snapshot, snap)

    async def load_snapshots(self, tenant: str | None = None) -> dict[str, NodeSnapshot]:
        return await asyncio.to_thread(self.store.load_snapshots, tenant)

    async def add_events(
        self, node: str, tenant: str, events: Iterable[KsysEvent], *, seen_at: datetime | None = None
    ) -> list[KsysEvent]:
        return await asyncio.to_thread(self.store.add_events, node, tenant, list(events), seen_at=seen_at)

    async def recent_events(self, since: datetime, tenant: str | None = None) -> list[StoredEvent]:
        return await asyncio.to_thread(self.store.recent_events, since, tenant)

    async def prune_events(self, older_than: datetime) -> int:
        return await asyncio.to_thread(self.store.prune_events, older_than)
