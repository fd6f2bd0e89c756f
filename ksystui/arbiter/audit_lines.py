"""The audit trail as the console shows it: one line per record, newest
first, and one sentence on whether the chain is intact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ksystui.core.audit import AuditEntry
from ksystui.core.readouts import AuditLine
from ksystui.core.tenant_numbers import shown_ref

# detail keys that say nothing to a person reading the trail
_PLUMBING = {"fence"}
# …and those a scoped console leaves out: places in global sequences, whose gaps tell of other tenants
_GLOBAL_PLACES = {"arrival", "current_fence", "epoch", "current_epoch"}
_VALUE_WIDTH = 60


def audit_line(entry: AuditEntry, numbers: Mapping[int, int] | None = None) -> AuditLine:
    """One record as a console lists it; ``numbers`` (a scoped console: the
    tenant's own operation numbers) hides every global place: the record's
    seq, operation ids, fences and arrival."""
    detail = entry.get("detail") or {}
    hidden = _PLUMBING | (_GLOBAL_PLACES if numbers is not None else set())
    pairs = [f"{k}={_shown(k, v, numbers)}" for k, v in detail.items() if k not in hidden] \
        if isinstance(detail, dict) else [_short(detail)]
    at = str(entry.get("at") or "")
    seq = int(entry["seq"])
    operation = entry.get("operation")
    return AuditLine(seq, at[:19].replace("T", " "), str(entry.get("actor") or "-"),
                     str(entry.get("action") or "-"), operation, entry.get("tenant") or "-",
                     entry.get("node") or "-", "  ".join(pairs),
                     shown_seq="" if numbers is not None else str(seq),
                     shown_operation="-" if operation is None else shown_ref(int(operation), numbers))


def _shown(key: str, value: object, numbers: Mapping[int, int] | None) -> str:
    if key == "pair_id" and numbers is not None and isinstance(value, int):
        return shown_ref(value, numbers)
    return _short(value)


def _short(value: object) -> str:
    text = " ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    text = " ".join(text.split())  # one line
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def chain_status(problems: Iterable[object], *, scoped: bool) -> str:
    """What the audit view says about the hash chain. A tenant-scoped console
    says only whether it holds: where it breaks would describe rows of other
    tenants."""
    problems = list(problems)
    if not problems:
        return "hash chain intact (every record since the first verified)"
    if scoped:
        return "hash chain BROKEN: the trail was altered; tell the provider's operator"
    more = f" (+{len(problems) - 1} more; `ksystui audit verify` lists them)" if len(problems) > 1 else ""
    return f"hash chain BROKEN at {problems[0]}{more}"
