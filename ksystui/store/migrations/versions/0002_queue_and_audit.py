"""The arbiter's queue and the audit trail: operations, claims (a partial
unique index over held claims makes admission exclusive in the database),
the fence counter, progress lines, dispatching consoles, and the hash-chained
audit with its head anchor.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64  # core.audit.GENESIS: the prev_hash of the first record (kept literal here)


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("op", sa.String(), nullable=False),
        sa.Column("site", sa.String(), nullable=True),
        sa.Column("to_site", sa.String(), nullable=True),
        sa.Column("argv", sa.Text(), nullable=False),
        sa.Column("recovery_hosts", sa.Text(), nullable=False),
        sa.Column("host_names", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("class_rank", sa.Integer(), nullable=False),
        sa.Column("arrival", sa.Integer(), nullable=False),
        sa.Column("raised", sa.Integer(), nullable=False),
        sa.Column("raise_reason", sa.Text(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("fence", sa.Integer(), nullable=True),
        sa.Column("holder", sa.String(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by", sa.String(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rc", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("output_tail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
        sa.ForeignKeyConstraint(["pair_id"], ["operations.id"], name="fk_operations_pair_id_operations"),
        sa.UniqueConstraint("arrival", name="uq_operations_arrival"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_operations_waiting",
        "operations",
        ["state", sa.literal_column("raised").desc(), "class_rank", "priority", "arrival", "id"],
    )
    op.create_index("ix_operations_tenant", "operations", ["tenant"])
    op.create_index("ix_operations_node_op", "operations", ["node", "op"])

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], name="fk_claims_operation_id_operations"),
        sqlite_autoincrement=True,
    )
    # Exclusivity, enforced by the database: one held claim per resource.
    op.create_index(
        "uq_claims_held_resource",
        "claims",
        ["resource"],
        unique=True,
        sqlite_where=sa.text("held"),
        postgresql_where=sa.text("held"),
    )
    op.create_index("ix_claims_operation_id", "claims", ["operation_id"])

    fence_counter = op.create_table(
        "fence_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fence_counter"),
        sa.CheckConstraint("id = 1", name="ck_fence_counter_single_row"),
    )
    op.bulk_insert(fence_counter, [{"id": 1, "value": 0}])

    op.create_table(
        "progress",
        sa.Column("operation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("operation_id", "seq", name="pk_progress"),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], name="fk_progress_operation_id_operations"),
    )

    op.create_table(
        "dispatchers",
        sa.Column("console_id", sa.String(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("console_id", name="pk_dispatchers"),
    )

    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=True),
        sa.Column("tenant", sa.String(), nullable=True),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sa.UniqueConstraint("seq", name="uq_audit_seq"),
    )
    op.create_index("ix_audit_tenant", "audit", ["tenant"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    op.bulk_insert(audit_head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_index("ix_audit_tenant", table_name="audit")
    op.drop_table("audit")
    op.drop_table("dispatchers")
    op.drop_table("progress")
    op.drop_table("fence_counter")
    op.drop_index("ix_claims_operation_id", table_name="claims")
    op.drop_index("uq_claims_held_resource", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_operations_node_op", table_name="operations")
    op.drop_index("ix_operations_tenant", table_name="operations")
    op.drop_index("ix_operations_waiting", table_name="operations")
    op.drop_table("operations")
