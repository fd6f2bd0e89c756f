"""The provider service's tables (sqlmodel, migration 0004): the change feed,
alerts and their acknowledgements, the leader's lease and the service
members.

Like ``tables.py`` these classes only describe the schema; migration 0004
makes it and a test checks that both agree.

``changes`` is what every console follows: one row per write a reader must
notice (a snapshot, an alert, an acknowledgement, a queue transition, a
refresh request). Its ``seq`` only grows and is never reused (AUTOINCREMENT
on SQLite, a sequence on PostgreSQL), and writers append in commit order
(``store.changes``), so "everything after seq N" misses nothing.

``service_lease`` is one row (id 1): who leads, until when, and the fencing
number ``epoch`` that every leader write is checked against.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ksystui.store.tables import UtcDateTime


class ChangeRow(SQLModel, table=True):
    """One change a reader must notice."""

    __tablename__ = "changes"
    __table_args__ = (
        sa.Index("ix_changes_tenant", "tenant"),
        {"sqlite_autoincrement": True},  # seq is never reused, even after a prune
    )

    seq: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    kind: str = Field(sa_type=sa.String)  # snapshot, alert, ack, queue, refresh
    tenant: str | None = Field(default=None, sa_type=sa.String)
    node: str | None = Field(default=None, sa_type=sa.String)
    ref: int | None = Field(default=None, sa_type=sa.Integer)  # alert id / operation id


class AlertRow(SQLModel, table=True):
    """An alert raised by a critical event, once (``identity`` is the event's
    ``core.snapshot.event_identity``), and its acknowledgement."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint("identity", name="uq_alerts_identity"),
        sa.Index("ix_alerts_tenant", "tenant"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    identity: str = Field(sa_type=sa.String)
    tenant: str = Field(sa_type=sa.String)
    node: str = Field(sa_type=sa.String)
    event: str = Field(sa_type=sa.String)  # the event's name
    event_id: str | None = Field(default=None, sa_type=sa.String)
    event_time: str | None = Field(default=None, sa_type=sa.String)  # as the node printed it
    description: str | None = Field(default=None, sa_type=sa.Text)
    resource: str | None = Field(default=None, sa_type=sa.String)
    proposal: str | None = Field(default=None, sa_type=sa.String)  # a lifecycle.Op value
    raised_at: datetime = Field(sa_type=UtcDateTime)
    acked_by: str | None = Field(default=None, sa_type=sa.String)
    acked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ack_reason: str | None = Field(default=None, sa_type=sa.Text)
    # what raised it is over (migration 0005; core.alert_resolution says when)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolved_why: str | None = Field(default=None, sa_type=sa.Text)


class ServiceLeaseRow(SQLModel, table=True):
    """One row (id 1): the leader's lease."""

    __tablename__ = "service_lease"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_service_lease_single_row"),)

    id: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    holder: str | None = Field(default=None, sa_type=sa.String)
    epoch: int = Field(sa_type=sa.Integer)  # the fencing number: only grows
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    renewed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ServiceMemberRow(SQLModel, table=True):
    """A ``ksystui serve`` process, as it last reported itself."""

    __tablename__ = "service_members"

    id: str = Field(sa_type=sa.String, primary_key=True)  # host:pid:boot-part
    host: str = Field(sa_type=sa.String)
    pid: int = Field(sa_type=sa.Integer)
    started_at: datetime = Field(sa_type=UtcDateTime)
    last_seen: datetime = Field(sa_type=UtcDateTime)
    role: str = Field(sa_type=sa.String)  # leader / standby / stopped
    epoch: int | None = Field(default=None, sa_type=sa.Integer)  # the epoch it leads with
    last_seq: int | None = Field(default=None, sa_type=sa.Integer)  # the newest change it has seen


TABLES: tuple[str, ...] = ("changes", "alerts", "service_lease", "service_members")

changes: sa.Table = ChangeRow.metadata.tables["changes"]
alerts: sa.Table = AlertRow.metadata.tables["alerts"]
service_lease: sa.Table = ServiceLeaseRow.metadata.tables["service_lease"]
service_members: sa.Table = ServiceMemberRow.metadata.tables["service_members"]
