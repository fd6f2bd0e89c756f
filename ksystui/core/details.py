"""What a drill-down into one thing shows: every field of it, as (key, value)
pairs, and for a node, why its values are as fresh as they are. Pure."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from ksystui.core.snapshot import NodeSnapshot

Pairs = list[tuple[str, str]]


def object_pairs(obj: object) -> Pairs:
    """A model object's fields (unknown keys the node printed included)."""
    if not is_dataclass(obj):
        return [("value", str(obj))]
    out: Pairs = []
    for f in fields(obj):
        v = getattr(obj, f.name)
        if f.name == "extra":
            out += [(str(k), str(val)) for k, val in v]
        elif v is None or v == ():
            continue
        elif isinstance(v, tuple):
            out.append((f.name, ", ".join(
                " ".join(map(str, x)) if isinstance(x, tuple) else str(x) for x in v)))
        else:
            out.append((f.name, str(v)))
    return out


def node_pairs(snap: NodeSnapshot) -> Pairs:
    """Why a node's values are as fresh as they are, query by query."""
    h = snap.health
    out: Pairs = [
        ("tenant", snap.tenant), ("flavour", snap.flavour.value), ("poll interval", f"{snap.interval:g} s"),
        ("last attempt", str(h.last_attempt or "never")), ("last success", str(h.last_success or "never")),
        ("last error", h.last_error or "-"), ("error kind", h.error_kind or "-"),
        ("consecutive failures", str(h.consecutive_failures)), ("latency", f"{h.latency_ms or 0:.0f} ms"),
        ("host key", h.host_key), ("next attempt", str(h.next_attempt or "-")),
    ]
    for kind, sec in sorted(snap.sections.items()):
        state = f"read {sec.read_at:%H:%M:%S}" if sec.read_at else "never read"
        if sec.error:
            state += f"; last attempt failed: {sec.error}"
        out.append((SECTION_LABELS.get(kind, f"query {kind}"), state))
    return out


# Where each section comes from, as the node detail names it (issue 15: the source is visible).
SECTION_LABELS = {
    "report": "report system",
    "service": "REST dr_summary",
    "rest_vm": "REST dr_managed_vms",
    "rest_status": "REST last_operation",
    "rest_event": "REST events",
}
