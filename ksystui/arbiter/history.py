"""Reading one operation's history whole, and one audit record whole, for
the console's detail screens. The queue's own calls list output lines
without their times and the audit trail only by recency; these read the
same tables (``progress``, ``audit``) by operation or by seq, read-only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from ksystui.core.op_detail import AuditRecordView, OutputLine, when
from ksystui.core.tenant_numbers import shown_ref
from ksystui.store.engine import read_connection
from ksystui.store.queue_tables import audit, progress

# detail keys a scoped console leaves out (places in global sequences), as the audit view does
_GLOBAL_PLACES = {"arrival", "current_fence", "epoch", "current_epoch", "fence"}


def output_lines(engine: Engine, op_id: int, until: datetime | None = None) -> list[OutputLine]:
    """Every output line of the operation (written by ``until``, a replay's
    cursor), in order, with its time."""
    return output_lines_of(engine, [op_id], until)[op_id]


def output_lines_of(engine: Engine, op_ids: Sequence[int],
                    until: datetime | None = None) -> dict[int, list[OutputLine]]:
    """Every output line of several operations at once (one query), in order,
    by operation; ``until``: only those written by then (a replay's cursor)."""
    out: dict[int, list[OutputLine]] = {i: [] for i in op_ids}
    if not op_ids:
        return out
    query = (sa.select(progress.c.operation_id, progress.c.at, progress.c.line)
             .where(progress.c.operation_id.in_(list(op_ids))).order_by(progress.c.operation_id, progress.c.seq))
    if until is not None:
        query = query.where(progress.c.at <= until)
    with read_connection(engine) as conn:
        rows = conn.execute(query).all()
    for r in rows:
        out[int(r.operation_id)].append(OutputLine(when(r.at), r.line))
    return out


def audit_of_operation(engine: Engine, op_id: int) -> list[Any]:
    """The operation's audit records, oldest first."""
    with read_connection(engine) as conn:
        return list(conn.execute(sa.select(audit).where(audit.c.operation == op_id).order_by(audit.c.seq)).all())


def audit_record(engine: Engine, seq: int, tenant: str | None = None) -> Any | None:
    """One record by its seq; with ``tenant``, only if it is that tenant's."""
    query = sa.select(audit).where(audit.c.seq == seq)
    if tenant is not None:
        query = query.where(audit.c.tenant == tenant)
    with read_connection(engine) as conn:
        return conn.execute(query).first()


def record_view(row: Any, numbers: Mapping[int, int] | None = None) -> AuditRecordView:
    """A stored record as a detail shows it: every detail value whole. With
    ``numbers`` (a scoped console: the tenant's own operation numbers) no
    global place: no seq, no hashes, no fences or arrivals."""
    detail = _detail(row.detail)
    scoped = numbers is not None
    pairs: list[tuple[str, str]] = []
    if isinstance(detail, Mapping):
        for k, v in detail.items():
            if scoped and k in _GLOBAL_PLACES:
                continue
            if scoped and k == "pair_id" and isinstance(v, int):
                pairs.append((str(k), shown_ref(v, numbers)))
                continue
            pairs.append((str(k), _whole(v)))
    else:
        pairs.append(("text", _whole(detail)))
    operation = row.operation
    return AuditRecordView(
        seq=int(row.seq), shown_seq="" if scoped else str(row.seq), at=when(row.at), actor=str(row.actor or "-"),
        action=str(row.action or "-"), shown_operation="-" if operation is None else shown_ref(int(operation), numbers),
        tenant=row.tenant or "-", node=row.node or "-", detail=tuple(pairs),
        prev_hash="" if scoped else str(row.prev_hash or ""), hash="" if scoped else str(row.hash or ""))


def _detail(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _whole(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
