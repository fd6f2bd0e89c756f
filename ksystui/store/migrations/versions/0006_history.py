"""The record: snapshot history (a node's snapshot whenever its content
changed, compressed) and poll history (the times of every other poll).

Revision ID: 0006
Revises: 0004 (re-chained after 0005 when the branches merge)
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "snapshot_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshot_history"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_snapshot_history_node_id", "snapshot_history", ["node", "id"])
    op.create_index("ix_snapshot_history_at", "snapshot_history", ["at"])
    op.create_table(
        "poll_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("times", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_poll_history"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_poll_history_node_id", "poll_history", ["node", "id"])
    op.create_index("ix_poll_history_at", "poll_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_poll_history_at", table_name="poll_history")
    op.drop_index("ix_poll_history_node_id", table_name="poll_history")
    op.drop_table("poll_history")
    op.drop_index("ix_snapshot_history_at", table_name="snapshot_history")
    op.drop_index("ix_snapshot_history_node_id", table_name="snapshot_history")
    op.drop_table("snapshot_history")
