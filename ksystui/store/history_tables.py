"""The record's tables (sqlmodel, migration 0006): what the service saw of
each node, kept for ``[service] history_retention``.

Like ``tables.py`` these classes only describe the schema; migration 0006
makes it and a test checks that both agree.

History must be cheap, and most polls change nothing but their read times.
So a node's snapshot is kept whole (``snapshot_history``: the codec's JSON,
zlib-compressed) only when its content changed (``digest``: the snapshot
without its times); every other poll keeps only its times
(``poll_history``: a few hundred bytes naming the content it repeats), so
a replay still shows each poll's ages as the live console did. Events,
alerts, operations, their progress and the audit trail are already kept
with their times, in their own tables.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ksystui.store.tables import UtcDateTime


class SnapshotHistoryRow(SQLModel, table=True):
    """A published snapshot whose content differed from the node's last one."""

    __tablename__ = "snapshot_history"
    __table_args__ = (
        sa.Index("ix_snapshot_history_node_id", "node", "id"),
        sa.Index("ix_snapshot_history_at", "at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    node: str = Field(sa_type=sa.String)
    tenant: str = Field(sa_type=sa.String)
    at: datetime = Field(sa_type=UtcDateTime)  # when it was published
    digest: str = Field(sa_type=sa.String)  # sha256 of the snapshot without its times
    data: bytes = Field(sa_type=sa.LargeBinary)  # zlib(codec JSON)


class PollHistoryRow(SQLModel, table=True):
    """A published snapshot that repeated its node's last content: its times only."""

    __tablename__ = "poll_history"
    __table_args__ = (
        sa.Index("ix_poll_history_node_id", "node", "id"),
        sa.Index("ix_poll_history_at", "at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    node: str = Field(sa_type=sa.String)
    tenant: str = Field(sa_type=sa.String)
    at: datetime = Field(sa_type=UtcDateTime)  # when it was published
    snapshot_id: int = Field(sa_type=sa.Integer)  # the snapshot_history row whose content it repeats
    times: str = Field(sa_type=sa.Text)  # JSON: the poll's sequence, health times and read times


TABLES: tuple[str, ...] = ("snapshot_history", "poll_history")

snapshot_history: sa.Table = SnapshotHistoryRow.metadata.tables["snapshot_history"]
poll_history: sa.Table = PollHistoryRow.metadata.tables["poll_history"]
