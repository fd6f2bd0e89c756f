"""The store's tables (sqlmodel).

These classes describe the schema; they never create it. The schema is made
and changed only by the alembic migrations in ``ksystui/store/migrations``
(``engine.migrate``), and a test checks that the two agree.

No secret has a column here: tenants and nodes are a mirror of the
configuration's names, priorities and flavours only, never how to reach or
authenticate to a node.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on the way in and out, whatever the database
    keeps (SQLite has no time zones: it stores the UTC wall time). A naive
    datetime given to the store is taken to be UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TenantRow(SQLModel, table=True):
    __tablename__ = "tenants"

    name: str = Field(sa_type=sa.String, primary_key=True)
    priority: int = Field(sa_type=sa.Integer)  # agreement priority: 1 is served first
    tier: str = Field(sa_type=sa.String)


class NodeRow(SQLModel, table=True):
    __tablename__ = "nodes"
    __table_args__ = (sa.ForeignKeyConstraint(["tenant"], ["tenants.name"], name="fk_nodes_tenant_tenants"),)

    name: str = Field(sa_type=sa.String, primary_key=True)
    tenant: str = Field(sa_type=sa.String, index=True)
    flavour: str = Field(sa_type=sa.String)  # onprem / powervs


class SnapshotRow(SQLModel, table=True):
    """The latest snapshot of each node (``codec`` JSON)."""

    __tablename__ = "snapshots"

    node: str = Field(sa_type=sa.String, primary_key=True)
    tenant: str = Field(sa_type=sa.String, index=True)
    taken_at: datetime = Field(sa_type=UtcDateTime)
    data: str = Field(sa_type=sa.Text)
    # migration 0004 (NULL in rows written before it, or by ``Store.save_snapshot``):
    sequence: int | None = Field(default=None, sa_type=sa.Integer)  # NodeSnapshot.sequence: the poll
    seq: int | None = Field(default=None, sa_type=sa.Integer)  # the change (``changes.seq``) that wrote it


class EventRow(SQLModel, table=True):
    """A KSYS event, stored once (``identity`` is ``core.snapshot.event_identity``)."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("identity", name="uq_events_identity"),
        {"sqlite_autoincrement": True},  # ids only grow, even after a prune
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    identity: str = Field(sa_type=sa.String)  # unique: uq_events_identity
    node: str = Field(sa_type=sa.String)
    tenant: str = Field(sa_type=sa.String, index=True)
    name: str = Field(sa_type=sa.String)
    type: str | None = Field(default=None, sa_type=sa.String)
    description: str | None = Field(default=None, sa_type=sa.Text)
    resource: str | None = Field(default=None, sa_type=sa.String)
    event_id: str | None = Field(default=None, sa_type=sa.String)  # the node's own id, if it printed one
    event_time: str | None = Field(default=None, sa_type=sa.String)  # as the node printed it
    extra: str = Field(default="[]", sa_type=sa.Text)  # JSON list of [key, value]: fields we do not know
    first_seen: datetime = Field(sa_type=UtcDateTime, index=True)


metadata = SQLModel.metadata
"""The metadata of these tables (shared with any other SQLModel table in the process)."""

TABLES: tuple[str, ...] = ("tenants", "nodes", "snapshots", "events")
