"""Capture bundles (pure): what ``ksystui capture`` writes and ``ksystui parse
--bundle`` reads back.

A bundle holds, per node, the raw output of every read-only query (and, for
PowerVS, every DR Automation service answer) plus what ksystui understood of
each (the parsed JSON, or the parse error naming the line), so an operator
can attach it to a bug report and a developer can replay it. Everything in it
is redacted by the same policy the parsers apply (core.secrets): a bundle
never carries a key, a password or a login.

Format (JSON)::

    {"format": "ksystui-capture", "version": 1, "created": "...", "ksystui": "...",
     "nodes": [{"node": "...", "tenant": "...", "flavour": "onprem" | "powervs",
                "error": null | "why the node could not be read",
                "outputs": [{"kind": "vm", "argv": ["ksysmgr", "query", "vm"], "rc": 0,
                             "stdout": "...", "stderr": "...", "parsed": ... | null,
                             "error": null | "line 3: ..."}],
                "rest": [{"call": "dr_managed_vms", "body": {...} | null, "error": null | "..."}]}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ksystui.core import service_api
from ksystui.core.ksysmgr.errors import KsysmgrParseError
from ksystui.core.ksysmgr.jsonable import to_jsonable
from ksystui.core.ksysmgr.parse import PARSERS
from ksystui.core.model import Flavour
from ksystui.core.secrets import REDACTED, redact, redact_output, secret_attribute, secret_key

FORMAT = "ksystui-capture"
VERSION = 1

_COMMON = (
    ("vm", ("query", "vm")),
    ("site", ("query", "site")),
    ("disk_group", ("query", "disk_group")),
    ("event", ("query", "event")),
    ("notify", ("query", "notify")),
    ("system", ("query", "system")),
    ("cluster", ("query", "ksyscluster")),
    ("version", ("query", "version")),
    ("report", ("report", "system")),
)
# The read-only ksysmgr commands a capture runs (nothing here changes a node).
QUERIES: dict[Flavour, tuple[tuple[str, tuple[str, ...]], ...]] = {
    Flavour.ONPREM: (*_COMMON, ("host", ("query", "host")), ("hmc", ("query", "hmc")),
                     ("host_group", ("query", "host_group")), ("storage_agent", ("query", "storage_agent")),
                     ("disk_pair", ("query", "disk_pair"))),
    Flavour.POWERVS: (*_COMMON, ("workgroup", ("query", "workgroup"))),
}


class BundleError(ValueError):
    """A file that is not a capture bundle this ksystui reads."""


def redact_json(value: Any) -> Any:
    """A JSON value with every secret-named key's value blanked and every
    string through the secrets policy."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if (secret_key(k) or secret_attribute(str(k))) else redact_json(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return redact_output(redact(value))
    return value


def understood(kind: str, stdout: str) -> tuple[Any, str | None]:
    """(parsed JSON, None) or (None, the parse error) for one output."""
    if not stdout.strip():
        return [], None
    try:
        return to_jsonable(PARSERS[kind](stdout)), None
    except KsysmgrParseError as exc:
        return None, str(exc)


def output_entry(kind: str, argv: Sequence[str], rc: int | None, stdout: str, stderr: str) -> dict[str, Any]:
    clean = redact_output(stdout)
    parsed, error = understood(kind, clean) if rc == 0 else (None, None)
    return {"kind": kind, "argv": list(argv), "rc": rc, "stdout": clean, "stderr": redact_output(stderr),
            "parsed": parsed, "error": error}


_REST_READERS: dict[str, Callable[[Any], Any]] = {
    "dr_managed_vms": lambda body: to_jsonable(service_api.managed_vms(body)),
    "events": lambda body: to_jsonable(service_api.events(body)),
    "last_operation": lambda body: to_jsonable(service_api.service_status({}, body)),
    "dr_summary": lambda body: to_jsonable(service_api.service_status(body, {})),
}


def rest_entry(call: str, body: Any, error: str | None = None) -> dict[str, Any]:
    clean = redact_json(body) if body is not None else None
    parsed: Any = None
    if clean is not None:
        try:
            parsed = _REST_READERS[call](clean)
        except (service_api.ServiceAnswerError, AttributeError, TypeError) as exc:
            error = error or f"unexpected answer: {exc}"
    return {"call": call, "body": clean, "parsed": parsed, "error": error and redact_output(redact(error))}


def node_entry(node: str, tenant: str, flavour: Flavour, outputs: list[dict[str, Any]],
               rest: list[dict[str, Any]], error: str | None = None) -> dict[str, Any]:
    return {"node": node, "tenant": tenant, "flavour": flavour.value, "error": error and redact(error),
            "outputs": outputs, "rest": rest}


def bundle(nodes: list[dict[str, Any]], created: datetime, version: str) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "created": created.isoformat(), "ksystui": version,
            "nodes": nodes}


@dataclass(frozen=True)
class Reread:
    """One captured output read again by this ksystui."""

    node: str
    kind: str
    error: str | None  # the parse error now, if any
    same: bool  # understood exactly as when captured (same result, or the same error)


def reread(data: Any) -> list[Reread]:
    """Read every ksysmgr output and service answer of a bundle again."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise BundleError("not a ksystui capture bundle (no \"format\": \"ksystui-capture\")")
    if data.get("version") != VERSION:
        raise BundleError(f"capture bundle version {data.get('version')!r}; this ksystui reads version {VERSION}")
    out: list[Reread] = []
    for node in data.get("nodes") or []:
        if not isinstance(node, Mapping):
            raise BundleError("a node entry is not an object")
        name = str(node.get("node"))
        for entry in node.get("outputs") or []:
            kind = entry.get("kind")
            if kind not in PARSERS or not isinstance(entry.get("stdout"), str):
                raise BundleError(f"{name}: an output of unknown kind {kind!r}")
            if entry.get("rc") != 0:
                continue
            parsed, error = understood(kind, entry["stdout"])
            out.append(Reread(name, kind, error, (parsed, error) == (entry.get("parsed"), entry.get("error"))))
        for entry in node.get("rest") or []:
            call = entry.get("call")
            if call not in _REST_READERS:
                raise BundleError(f"{name}: a service answer of unknown call {call!r}")
            if entry.get("body") is None:
                continue
            again = rest_entry(call, entry["body"])
            out.append(Reread(name, f"rest:{call}", again["error"],
                              (again["parsed"], again["error"]) == (entry.get("parsed"), entry.get("error"))))
    return out
