"""The notification delivery log (sqlmodel, migration 0005): one row per
notification to send to one hook, and the one-row cursor of the change feed
the notifier has handled.

Like ``tables.py`` these classes only describe the schema; migration 0005
makes it and a test checks that both agree.

A row is written once per (hook, delivery key) — the UNIQUE constraint
decides, so a notifier that handles a change twice (a new leader re-reading
what its predecessor did not record as handled) enqueues nothing twice — and
then records each attempt: how many, the last status and error, when the
next one is due, and whether it was delivered or given up. ``notice_json`` is
the notice as sent (its kind, summary, details): never a URL or a routing
key, which the hook's configuration names and the sender reads at send time.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ksystui.store.tables import UtcDateTime


class DeliveryRow(SQLModel, table=True):
    """One notification for one hook, and how its delivery went."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("hook", "delivery_key", name="uq_notify_deliveries_hook_delivery_key"),
        sa.Index("ix_notify_deliveries_state_next_at", "state", "next_at"),
        sa.Index("ix_notify_deliveries_ref", "ref"),
        sa.Index("ix_notify_deliveries_tenant", "tenant"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    hook: str = Field(sa_type=sa.String)  # the [[notify]] name
    delivery_key: str = Field(sa_type=sa.String)  # Notice.delivery_key: the receiver's dedup key
    incident: str = Field(sa_type=sa.String)  # Notice.incident: raised/acked/resolved of one alert share it
    kind: str = Field(sa_type=sa.String)  # alert.raised, alert.acknowledged, alert.resolved, operation.finished
    tenant: str | None = Field(default=None, sa_type=sa.String)
    node: str | None = Field(default=None, sa_type=sa.String)
    ref: int | None = Field(default=None, sa_type=sa.Integer)  # alert id / operation id
    severity: str = Field(sa_type=sa.String)
    summary: str = Field(sa_type=sa.Text)
    notice_json: str = Field(sa_type=sa.Text)  # the notice, to send again as it was
    state: str = Field(sa_type=sa.String)  # pending, delivered, gave_up
    attempts: int = Field(sa_type=sa.Integer)
    last_status: str | None = Field(default=None, sa_type=sa.String)  # "HTTP 500", "exit 1", "timeout"
    last_error: str | None = Field(default=None, sa_type=sa.Text)  # never the URL or key
    next_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # when to try again (pending)
    created_at: datetime = Field(sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class NotifyCursorRow(SQLModel, table=True):
    """One row (id 1): the newest change seq the notifier has handled."""

    __tablename__ = "notify_cursor"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_notify_cursor_single_row"),)

    id: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=sa.Integer)


TABLES: tuple[str, ...] = ("notify_deliveries", "notify_cursor")

notify_deliveries: sa.Table = DeliveryRow.metadata.tables["notify_deliveries"]
notify_cursor: sa.Table = NotifyCursorRow.metadata.tables["notify_cursor"]
