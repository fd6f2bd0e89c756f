"""The arbiter's tables (sqlmodel): the operation queue, the claims that make
admission exclusive, the fence counter, progress lines, the consoles that
dispatch, and the hash-chained audit trail.

Like ``tables.py`` these classes only describe the schema; migrations 0002
and 0003 make it, and a test checks that both agree.

Exclusivity lives in the database: ``uq_claims_held_resource`` is a partial
unique index over ``claims.resource`` WHERE ``held``, so two held claims on
one resource cannot both be committed, whatever any console's code does
(procrastinate learnt this the hard way: a query alone is never enough).
Nothing here expires: no column says "until".

No secret has a column here: an operation keeps the ksysmgr argv it runs
(names and ``attr=value`` words, never a password), and an audit row keeps
what its caller passed, which ``audit_log`` refuses when it looks secret.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ksystui.store.tables import UtcDateTime


class OperationRow(SQLModel, table=True):
    """One operation submitted to the arbiter, from queued to its end."""

    __tablename__ = "operations"
    __table_args__ = (
        sa.ForeignKeyConstraint(["pair_id"], ["operations.id"], name="fk_operations_pair_id_operations"),
        sa.UniqueConstraint("arrival", name="uq_operations_arrival"),
        sa.Index("ix_operations_tenant", "tenant"),
        sa.Index("ix_operations_node_op", "node", "op"),
        {"sqlite_autoincrement": True},  # ids are never reused
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    tenant: str = Field(sa_type=sa.String)
    node: str = Field(sa_type=sa.String)
    op: str = Field(sa_type=sa.String)  # a lifecycle.Op value
    site: str | None = Field(default=None, sa_type=sa.String)
    to_site: str | None = Field(default=None, sa_type=sa.String)
    argv: str = Field(sa_type=sa.Text)  # JSON list: the exact ksysmgr argv to run
    recovery_hosts: str = Field(default="[]", sa_type=sa.Text)  # JSON list of CEC UUIDs
    host_names: str = Field(default="[]", sa_type=sa.Text)  # JSON list, for display
    # it works on (and claims) the recovery hosts: decided when planned (migration 0003)
    on_recovery_hosts: bool = Field(default=False, sa_type=sa.Boolean,
                                    sa_column_kwargs={"server_default": sa.false()})
    priority: int = Field(sa_type=sa.Integer)  # the tenant's agreement priority: 1 first
    class_rank: int = Field(sa_type=sa.Integer)  # arbitration.CLASS_RANK of the op's class (for readers)
    arrival: int = Field(sa_type=sa.Integer)  # global submission sequence (unique)
    raised: int = Field(default=0, sa_type=sa.Integer)  # > 0: raised over others (higher first)
    raise_reason: str | None = Field(default=None, sa_type=sa.Text)
    state: str = Field(sa_type=sa.String)  # a core.opstate.OpState value
    fence: int | None = Field(default=None, sa_type=sa.Integer)  # of the current (or last) hold
    holder: str | None = Field(default=None, sa_type=sa.String)  # console id holding it
    confirmed: bool = Field(default=False, sa_type=sa.Boolean)  # the operator confirmed: -f allowed
    pair_id: int | None = Field(default=None, sa_type=sa.Integer)  # DR test <-> its cleanup
    submitted_by: str = Field(sa_type=sa.String)  # actor: os user @ host / console
    submitted_at: datetime = Field(sa_type=UtcDateTime)
    admitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    rc: int | None = Field(default=None, sa_type=sa.Integer)
    outcome: str | None = Field(default=None, sa_type=sa.Text)
    output_tail: str | None = Field(default=None, sa_type=sa.Text)
    # queued over capacity: the operator's written reason (migration 0007); None: it must fit
    capacity_override: str | None = Field(default=None, sa_type=sa.Text)


class ClaimRow(SQLModel, table=True):
    """A resource an admitted operation holds ("node:<name>", "host:<uuid>").
    Released claims stay, with ``held`` false, as history."""

    __tablename__ = "claims"
    __table_args__ = (
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], name="fk_claims_operation_id_operations"),
        sa.Index(
            "uq_claims_held_resource",
            "resource",
            unique=True,
            sqlite_where=sa.text("held"),
            postgresql_where=sa.text("held"),
        ),
        sa.Index("ix_claims_operation_id", "operation_id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    operation_id: int = Field(sa_type=sa.Integer)
    resource: str = Field(sa_type=sa.String)
    fence: int = Field(sa_type=sa.Integer)
    held: bool = Field(sa_type=sa.Boolean)


class FenceCounterRow(SQLModel, table=True):
    """One row (id 1) whose value only grows: the last fence handed out."""

    __tablename__ = "fence_counter"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_fence_counter_single_row"),)

    id: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = Field(sa_type=sa.Integer)


class ProgressRow(SQLModel, table=True):
    """A line of a running operation's output, in order."""

    __tablename__ = "progress"
    __table_args__ = (
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], name="fk_progress_operation_id_operations"),
    )

    operation_id: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UtcDateTime)
    line: str = Field(sa_type=sa.Text)


class DispatcherRow(SQLModel, table=True):
    """A console that dispatches, and when it was last seen alive."""

    __tablename__ = "dispatchers"

    console_id: str = Field(sa_type=sa.String, primary_key=True)
    user: str = Field(sa_type=sa.String)  # OS account, as in the audit's actor (not a login)
    host: str = Field(sa_type=sa.String)  # the console's machine name (not an address)
    pid: int = Field(sa_type=sa.Integer)
    started_at: datetime = Field(sa_type=UtcDateTime)
    last_seen: datetime = Field(sa_type=UtcDateTime)


class AuditRow(SQLModel, table=True):
    """One link of the hash chain (``core.audit.AuditRecord``). ``id`` equals
    ``seq`` by construction, so a row whose id was changed shows too."""

    __tablename__ = "audit"
    __table_args__ = (
        sa.UniqueConstraint("seq", name="uq_audit_seq"),
        sa.Index("ix_audit_tenant", "tenant"),
    )

    id: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=sa.Integer)
    at: str = Field(sa_type=sa.String)  # ISO 8601 UTC, exactly as hashed
    actor: str = Field(sa_type=sa.String)
    action: str = Field(sa_type=sa.String)
    operation: int | None = Field(default=None, sa_type=sa.Integer)
    tenant: str | None = Field(default=None, sa_type=sa.String)
    node: str | None = Field(default=None, sa_type=sa.String)
    detail: str = Field(sa_type=sa.Text)  # JSON object
    prev_hash: str = Field(sa_type=sa.String)
    hash: str = Field(sa_type=sa.String)


class AuditHeadRow(SQLModel, table=True):
    """One row (id 1): the seq and hash of the newest audit row, updated in the
    same transaction as each append, so deleting the newest rows shows."""

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),)

    id: int = Field(sa_type=sa.Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = Field(sa_type=sa.Integer)
    last_hash: str = Field(sa_type=sa.String)


TABLES: tuple[str, ...] = ("operations", "claims", "fence_counter", "progress", "dispatchers", "audit", "audit_head")

operations: sa.Table = OperationRow.metadata.tables["operations"]
claims: sa.Table = ClaimRow.metadata.tables["claims"]
fence_counter: sa.Table = FenceCounterRow.metadata.tables["fence_counter"]
progress: sa.Table = ProgressRow.metadata.tables["progress"]
dispatchers: sa.Table = DispatcherRow.metadata.tables["dispatchers"]
audit: sa.Table = AuditRow.metadata.tables["audit"]
audit_head: sa.Table = AuditHeadRow.metadata.tables["audit_head"]

# Finds the waiting (state first). Its other columns follow arbitration.order_key as migration 0002
# made them; the order itself is the core's (``Queue.waiting`` sorts with ``arbitration.ordered_by``).
sa.Index(
    "ix_operations_waiting",
    operations.c.state,
    operations.c.raised.desc(),
    operations.c.class_rank,
    operations.c.priority,
    operations.c.arrival,
    operations.c.id,
)
