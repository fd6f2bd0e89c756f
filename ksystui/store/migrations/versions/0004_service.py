"""The provider service: the change feed (``changes``), alerts with their
acknowledgements, the leader's lease (``service_lease``, one row) and the
service members; snapshots gain the poll ``sequence`` and the change ``seq``
that wrote them.

Event identities of events that carry the node's own id gain the event's
time (``node:id@time``): a restarted node re-using ids raises new alerts.
Stored identities are rewritten so that an event already stored is not
stored again after the upgrade. The rule is spelled out here, frozen (a
migration is history: it must not change when the core's rule does).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_events = sa.table("events", sa.column("id", sa.Integer()), sa.column("identity", sa.String()),
                   sa.column("node", sa.String()), sa.column("event_id", sa.String()),
                   sa.column("event_time", sa.String()))


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=True),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("ref", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_changes_tenant", "changes", ["tenant"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("event_time", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("resource", sa.String(), nullable=True),
        sa.Column("proposal", sa.String(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_by", sa.String(), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("identity", name="uq_alerts_identity"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alerts_tenant", "alerts", ["tenant"])

    lease = op.create_table(
        "service_lease",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_service_lease"),
        sa.CheckConstraint("id = 1", name="ck_service_lease_single_row"),
    )
    op.bulk_insert(lease, [{"id": 1, "holder": None, "epoch": 0, "expires_at": None, "renewed_at": None}])

    op.create_table(
        "service_members",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_service_members"),
    )

    op.add_column("snapshots", sa.Column("sequence", sa.Integer(), nullable=True))
    op.add_column("snapshots", sa.Column("seq", sa.Integer(), nullable=True))

    # node:id -> node:id@time (event_identity since 0004); digests (no id) stay as they are
    op.execute(_events.update().where(_events.c.event_id.is_not(None)).values(
        identity=_events.c.node + ":" + _events.c.event_id + "@" + sa.func.coalesce(_events.c.event_time, "")))


def downgrade() -> None:
    # back to node:id: of the events a restarted node re-used an id for, the first stored stays
    first = sa.select(sa.func.min(_events.c.id)).where(_events.c.event_id.is_not(None)).group_by(
        _events.c.node, _events.c.event_id)
    op.execute(_events.delete().where(_events.c.event_id.is_not(None), _events.c.id.not_in(first)))
    op.execute(_events.update().where(_events.c.event_id.is_not(None)).values(
        identity=_events.c.node + ":" + _events.c.event_id))

    op.drop_column("snapshots", "seq")
    op.drop_column("snapshots", "sequence")
    op.drop_table("service_members")
    op.drop_table("service_lease")
    op.drop_index("ix_alerts_tenant", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_changes_tenant", table_name="changes")
    op.drop_table("changes")
