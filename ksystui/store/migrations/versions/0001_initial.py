"""The initial schema: tenants and nodes (a configuration mirror without
secrets), the latest snapshot of each node, and KSYS events.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tenants"),
    )
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("flavour", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_nodes"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.name"], name="fk_nodes_tenant_tenants"),
    )
    op.create_index("ix_nodes_tenant", "nodes", ["tenant"])
    op.create_table(
        "snapshots",
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("node", name="pk_snapshots"),
    )
    op.create_index("ix_snapshots_tenant", "snapshots", ["tenant"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("resource", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("event_time", sa.String(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("identity", name="uq_events_identity"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_tenant", "events", ["tenant"])
    op.create_index("ix_events_first_seen", "events", ["first_seen"])


def downgrade() -> None:
    op.drop_index("ix_events_first_seen", table_name="events")
    op.drop_index("ix_events_tenant", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_snapshots_tenant", table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_index("ix_nodes_tenant", table_name="nodes")
    op.drop_table("nodes")
    op.drop_table("tenants")
