"""The audit trail as the console shows it: one line per record, newest
first, and one sentence on whether the chain is intact."""

from __future__ import annotations

from collections.abc import Iterable

from ksystui.core.audit import AuditEntry
from ksystui.core.readouts import AuditLine

# detail keys that say nothing to a person reading the trail
_PLUMBING = {"fence"}
_VALUE_WIDTH = 60


def audit_line(entry: AuditEntry) -> AuditLine:
    detail = entry.get("detail") or {}
    pairs = [f"{k}={_short(v)}" for k, v in detail.items() if k not in _PLUMBING] if isinstance(detail, dict) \
        else [_short(detail)]
    at = str(entry.get("at") or "")
    return AuditLine(int(entry["seq"]), at[:19].replace("T", " "), str(entry.get("actor") or "-"),
                     str(entry.get("action") or "-"), entry.get("operation"), entry.get("tenant") or "-",
                     entry.get("node") or "-", "  ".join(pairs))


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
