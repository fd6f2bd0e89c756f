"""operations.on_recovery_hosts: whether an operation works on (and so
claims) the recovery hosts, decided when it is planned and stored with it,
instead of being read back from its command line (``verify=yes``).

Existing rows get what the rule of revision 0002 derived for them: every
operation but discover, resync and configure, and a discover whose argv
carries ``verify=yes``. The rule is spelled out here, frozen: a migration
is history and must not change when the core's rule does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OFF_THE_RECOVERY_HOSTS = ("discover", "resync", "configure")  # lifecycle.touches_recovery_host in 0002


def upgrade() -> None:
    op.add_column("operations", sa.Column("on_recovery_hosts", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    ops = sa.table("operations", sa.column("op", sa.String()), sa.column("argv", sa.Text()),
                   sa.column("on_recovery_hosts", sa.Boolean()))
    op.execute(ops.update().where(sa.or_(
        ops.c.op.not_in(_OFF_THE_RECOVERY_HOSTS),
        sa.and_(ops.c.op == "discover", ops.c.argv.like('%"verify=yes"%')),  # argv is a JSON list
    )).values(on_recovery_hosts=True))


def downgrade() -> None:
    op.drop_column("operations", "on_recovery_hosts")
