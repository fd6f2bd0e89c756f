"""An incident bundle: the record of a window in a file another machine
replays (``ksystui incident export``, ``ksystui replay --bundle``).

A bundle is a migrated SQLite database holding only the window's rows: each
node's recorded snapshots and polls (from the last one before the window),
the events first seen and the alerts raised or still open in it, the
operations under way or ended in it (with their output lines and their
audit records) and the audit records written in it. A small table of its
own, ``incident_bundle``, says what it is: the window, the tenant, when it
was written and what the audit trail's verification said then (a bundle
holds a part of the chain only: it cannot verify it again).

A tenant's bundle holds that tenant's rows only, and every text in them that
names another tenant, one of its nodes, or a host, site or VM only another
tenant has (the shared hosts are everyone's) is scrubbed: such a name reads
``[another tenant]``. The file is written anew (never a copy of the
database: a deleted page could keep another tenant's bytes), then renamed
into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from ksystui.core.timeline import utc
from ksystui.store.engine import migrate, open_engine, read_connection
from ksystui.store.history import compress, decompress
from ksystui.store.history_reads import audit_iso
from ksystui.store.history_tables import poll_history, snapshot_history
from ksystui.store.queue_tables import audit, operations, progress
from ksystui.store.service_tables import alerts
from ksystui.store.tables import EventRow, NodeRow, SnapshotRow, TenantRow

__all__ = ["SCRUBBED", "BundleInfo", "export_bundle", "read_bundle_info"]

SCRUBBED = "[another tenant]"
INFO_TABLE = "incident_bundle"
RECENT_BEFORE = timedelta(hours=1)  # operations ended this long before the window: the queue still lists them
_tenants: sa.Table = TenantRow.metadata.tables["tenants"]
_nodes: sa.Table = NodeRow.metadata.tables["nodes"]
_events: sa.Table = EventRow.metadata.tables["events"]
_snapshots: sa.Table = SnapshotRow.metadata.tables["snapshots"]
# the fields of a snapshot's items that name something of a tenant's own (not an event's name or a state)
_NAMING_FIELDS = frozenset({"name", "uuid", "host", "site", "pair", "vm_name", "vm_uuid", "hmcs", "hmc"})
_NOT_NAMING_SECTIONS = frozenset({"event", "rest_event", "system", "report", "service", "rest_status"})


@dataclass(frozen=True)
class BundleInfo:
    start: datetime
    end: datetime
    tenant: str | None
    exported_at: datetime
    audit_status: str  # what the audit trail's verification said when the bundle was written
    rows: Mapping[str, int]  # table -> rows written


def read_bundle_info(engine: Engine) -> BundleInfo | None:
    """What a bundle says of itself; None for a database that is no bundle."""
    with read_connection(engine) as conn:
        if not sa.inspect(conn).has_table(INFO_TABLE):
            return None
        values: dict[str, str] = dict(conn.execute(sa.text(f"SELECT key, value FROM {INFO_TABLE}")).all())
    return BundleInfo(start=datetime.fromisoformat(values["start"]), end=datetime.fromisoformat(values["end"]),
                      tenant=values.get("tenant") or None, exported_at=datetime.fromisoformat(values["exported_at"]),
                      audit_status=values.get("audit_status", ""), rows=json.loads(values.get("rows", "{}")))


# --- what a window holds ------------------------------------------------------------------------
def _scoped(table: sa.Table, tenant: str | None) -> tuple[sa.ColumnElement[bool], ...]:
    return (table.c.tenant == tenant,) if tenant is not None else ()


def _window_rows(conn: Connection, start: datetime, end: datetime, tenant: str | None) -> dict[str, list[dict[str, Any]]]:
    def rows(query: sa.Select[Any]) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(query).all()]

    out: dict[str, list[dict[str, Any]]] = {}
    out["tenants"] = rows(sa.select(_tenants).where(*((_tenants.c.name == tenant,) if tenant else ())))
    out["nodes"] = rows(sa.select(_nodes).where(*_scoped(_nodes, tenant)))
    for table in (snapshot_history, poll_history):
        base = sa.select(sa.func.max(table.c.id)).where(table.c.at <= start, *_scoped(table, tenant)) \
            .group_by(table.c.node)
        out[table.name] = rows(sa.select(table).where(
            sa.or_(table.c.id.in_(base), table.c.at.between(start, end)), *_scoped(table, tenant)))
    have = {r["id"] for r in out["snapshot_history"]}
    named = sorted({r["snapshot_id"] for r in out["poll_history"]} - have)
    if named:
        out["snapshot_history"] += rows(sa.select(snapshot_history).where(snapshot_history.c.id.in_(named)))
    out["events"] = rows(sa.select(_events).where(_events.c.first_seen.between(start, end), *_scoped(_events, tenant)))
    out["alerts"] = rows(sa.select(alerts).where(
        alerts.c.raised_at <= end, sa.or_(alerts.c.raised_at >= start, alerts.c.acked_at.is_(None),
                                          alerts.c.acked_at >= start), *_scoped(alerts, tenant)))
    ops = rows(sa.select(operations).where(
        operations.c.submitted_at <= end,
        sa.or_(operations.c.finished_at.is_(None), operations.c.finished_at >= start - RECENT_BEFORE),
        *_scoped(operations, tenant)))
    ids = {o["id"] for o in ops}
    pairs = sorted({o["pair_id"] for o in ops if o["pair_id"] is not None} - ids)
    if pairs:  # a DR test and its cleanup come together (and the pair's key holds)
        ops += rows(sa.select(operations).where(operations.c.id.in_(pairs), *_scoped(operations, tenant)))
        ids = {o["id"] for o in ops}
    for o in ops:
        if o["pair_id"] is not None and o["pair_id"] not in ids:
            o["pair_id"] = None
    out["operations"] = sorted(ops, key=lambda o: o["id"])
    id_list = sorted(ids)
    out["progress"] = rows(sa.select(progress).where(progress.c.operation_id.in_(id_list), progress.c.at <= end))
    out["audit"] = rows(sa.select(audit).where(
        sa.or_(audit.c.at.between(audit_iso(start), audit_iso(end)),
               sa.and_(audit.c.operation.in_(id_list), audit.c.at <= audit_iso(end))),
        *_scoped(audit, tenant)).order_by(audit.c.seq))
    return out


# --- scrubbing ------------------------------------------------------------------------------------
def _names_in(data: Any, kind: str | None = None) -> Iterator[str]:
    """The names a recorded snapshot's items give (hosts, sites, VMs, …), not its events' or states."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in _NAMING_FIELDS and isinstance(value, str):
                yield value
            elif key in _NAMING_FIELDS and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _names_in(value, kind)
    elif isinstance(data, list):
        for value in data:
            yield from _names_in(value, kind)


def _snapshot_names(data: Mapping[str, Any]) -> set[str]:
    raw = data.get("snapshot") or {}
    names = {str(raw.get("node") or ""), str(raw.get("tenant") or "")}
    for kind, section in (raw.get("sections") or {}).items():
        if kind not in _NOT_NAMING_SECTIONS and isinstance(section, dict):
            names.update(_names_in(section.get("items")))
    return {n for n in names if len(n) >= 3}


def _names(conn: Connection, tenant: str, start: datetime, end: datetime) -> tuple[set[str], set[str]]:
    """(foreign, own): every name of another tenant that is not also this
    tenant's (theirs and their nodes', the hosts, sites and VMs only they
    have), and this tenant's own."""
    own: set[str] = set()
    theirs: set[str] = set()
    theirs.update(r.name for r in conn.execute(sa.select(_tenants.c.name)))
    for table in (_nodes,):
        for r in conn.execute(sa.select(table.c.name, table.c.tenant)):
            (own if r.tenant == tenant else theirs).add(r.name)
    for table in (snapshot_history, operations, alerts, _events):
        for r in conn.execute(sa.select(table.c.tenant, table.c.node).distinct()):
            (own if r.tenant == tenant else theirs).update((r.tenant, r.node))
    newest_before = sa.select(sa.func.max(snapshot_history.c.id)).where(snapshot_history.c.at <= start) \
        .group_by(snapshot_history.c.node)
    blobs = conn.execute(sa.select(snapshot_history.c.tenant, snapshot_history.c.data).where(
        sa.or_(snapshot_history.c.id.in_(newest_before), snapshot_history.c.at.between(start, end))))
    for r in blobs:
        (own if r.tenant == tenant else theirs).update(_snapshot_names(decompress(bytes(r.data))))
    for r in conn.execute(sa.select(_snapshots.c.tenant, _snapshots.c.data)):
        try:
            data = json.loads(r.data)
        except ValueError:
            continue
        (own if r.tenant == tenant else theirs).update(_snapshot_names(data))
    own.add(tenant)
    return {n for n in theirs - own if n and len(n) >= 3}, own


def _scrubber(foreign: Iterable[str], own: Iterable[str]) -> Callable[[str], str]:
    """Replace every foreign name by ``SCRUBBED``, except inside an own name
    that happens to contain one (``acme`` must not maim ``acme-eu``'s rows)."""
    foreign = set(foreign)
    kept = {n for n in own if any(f in n for f in foreign)}
    ordered = sorted(foreign | kept, key=len, reverse=True)  # the longest name at a place wins
    if not foreign:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, ordered)))
    return lambda text: pattern.sub(lambda m: m.group(0) if m.group(0) in kept else SCRUBBED, text)


def _scrub_rows(tables: dict[str, list[dict[str, Any]]], scrub: Callable[[str], str]) -> None:
    for name, rows in tables.items():
        for row in rows:
            for key, value in row.items():
                if isinstance(value, str) and key not in ("at", "digest"):
                    row[key] = scrub(value)
                elif name == "snapshot_history" and key == "data":
                    row[key] = compress(json.loads(scrub(json.dumps(decompress(bytes(value)),
                                                                    separators=(",", ":")))))


# --- writing --------------------------------------------------------------------------------------
_ORDER = ("tenants", "nodes", "snapshot_history", "poll_history", "events", "alerts", "operations", "progress", "audit")


def export_bundle(source: Engine, path: Path, start: datetime, end: datetime, *, tenant: str | None = None,
                  audit_status: str = "", now: datetime | None = None) -> BundleInfo:
    """Write the bundle of ``start`` … ``end`` (of ``tenant``) to ``path``
    (replaced if it exists); return what it holds."""
    start, end = utc(start), utc(end)
    with read_connection(source) as conn:
        tables = _window_rows(conn, start, end, tenant)
        if tenant is not None:
            _scrub_rows(tables, _scrubber(*_names(conn, tenant, start, end)))
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    target = open_engine(f"sqlite:///{partial}")
    try:
        migrate(target)
        with target.begin() as conn:
            for name in _ORDER:
                rows = tables.get(name) or []
                if name == "operations":  # a pair points both ways: the keys are set once both rows are in
                    rows = [{**r, "pair_id": None} for r in rows]
                for i in range(0, len(rows), 500):
                    conn.execute(sa.insert(_table(name)), rows[i:i + 500])
            paired = [{"i": r["id"], "p": r["pair_id"]} for r in tables.get("operations") or [] if r["pair_id"]]
            if paired:
                conn.execute(sa.update(operations).where(operations.c.id == sa.bindparam("i"))
                             .values(pair_id=sa.bindparam("p")), paired)
            info = BundleInfo(start, end, tenant, utc(now or datetime.now(UTC)), audit_status,
                              {name: len(tables.get(name) or []) for name in _ORDER})
            conn.execute(sa.text(f"CREATE TABLE {INFO_TABLE} (key VARCHAR PRIMARY KEY, value TEXT NOT NULL)"))
            conn.execute(sa.text(f"INSERT INTO {INFO_TABLE} (key, value) VALUES (:k, :v)"), [
                {"k": "start", "v": start.isoformat()}, {"k": "end", "v": end.isoformat()},
                {"k": "tenant", "v": tenant or ""}, {"k": "exported_at", "v": info.exported_at.isoformat()},
                {"k": "audit_status", "v": audit_status}, {"k": "rows", "v": json.dumps(dict(info.rows))}])
    finally:
        target.dispose()
    # one self-contained file: no write-ahead log beside it, no free page
    with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("VACUUM")
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    os.chmod(partial, 0o600)  # operational data: the owner's to hand over
    os.replace(partial, path)
    return info


def _table(name: str) -> sa.Table:
    return {"tenants": _tenants, "nodes": _nodes, "snapshot_history": snapshot_history, "poll_history": poll_history,
            "events": _events, "alerts": alerts, "operations": operations, "progress": progress,
            "audit": audit}[name]
