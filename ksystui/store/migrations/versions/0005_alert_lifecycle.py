"""The alert lifecycle and the notification delivery log: alerts gain when
and why they resolved; ``notify_deliveries`` keeps one row per notification
and hook with its attempts; ``notify_cursor`` (one row) the change seq the
notifier has handled. No URL or routing key has a column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("alerts", sa.Column("resolved_why", sa.Text(), nullable=True))

    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hook", sa.String(), nullable=False),
        sa.Column("delivery_key", sa.String(), nullable=False),
        sa.Column("incident", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=True),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("ref", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("notice_json", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_deliveries"),
        sa.UniqueConstraint("hook", "delivery_key", name="uq_notify_deliveries_hook_delivery_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notify_deliveries_state_next_at", "notify_deliveries", ["state", "next_at"])
    op.create_index("ix_notify_deliveries_ref", "notify_deliveries", ["ref"])
    op.create_index("ix_notify_deliveries_tenant", "notify_deliveries", ["tenant"])

    op.create_table(
        "notify_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notify_cursor"),
        sa.CheckConstraint("id = 1", name="ck_notify_cursor_single_row"),
    )


def downgrade() -> None:
    op.drop_table("notify_cursor")
    op.drop_index("ix_notify_deliveries_tenant", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_ref", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_state_next_at", table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("resolved_why")
        batch.drop_column("resolved_at")
