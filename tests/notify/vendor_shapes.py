"""The payload shapes receivers document, written down as JSON Schema (the
subset below), and a small validator for them (the venv has no jsonschema).

Sources, read when these were written:
- PagerDuty Events API v2, "Send an Alert Event" (developer.pagerduty.com,
  PagerDuty/developer-docs docs/events-API-v2/02-Trigger-Events.md):
  routing_key and event_action (trigger | acknowledge | resolve) required;
  dedup_key at most 255 characters; payload.summary (≤ 1024), payload.source,
  payload.severity (critical | error | warning | info) required for a trigger;
  payload.timestamp, component, group, class, custom_details optional;
  acknowledge and resolve need only routing_key, dedup_key, event_action.
- Prometheus Alertmanager, configuration → <webhook_config>: the JSON body is
  version "4", groupKey, truncatedAlerts, status (resolved | firing),
  receiver, groupLabels, commonLabels, commonAnnotations, externalURL and
  alerts[] of status, labels, annotations, startsAt, endsAt (RFC 3339),
  generatorURL, fingerprint. Label names follow Prometheus' data model:
  [a-zA-Z_][a-zA-Z0-9_]*.
- Slack incoming webhooks: a JSON body with "text" (required without
  blocks); &, < and > are control characters and must be sent escaped.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
_STRING_MAP = {"type": "object", "propertyNames": {"pattern": LABEL_NAME},
               "additionalProperties": {"type": "string"}}
_TEXT_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

PAGERDUTY_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "additionalProperties": False,
    "properties": {
        "routing_key": {"type": "string", "minLength": 1},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "minLength": 1, "maxLength": 255},
        "client": {"type": "string"},
        "client_url": {"type": "string"},
        "images": {"type": "array"},
        "links": {"type": "array"},
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "additionalProperties": False,
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
                "source": {"type": "string", "minLength": 1},
                "severity": {"enum": ["critical", "error", "warning", "info"]},
                "timestamp": {"type": "string", "format": "date-time"},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
        },
    },
}

_ALERTMANAGER_ALERT: dict[str, Any] = {
    "type": "object",
    "required": ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"],
    "properties": {
        "status": {"enum": ["firing", "resolved"]},
        "labels": {**_STRING_MAP, "required": ["alertname"]},
        "annotations": _TEXT_MAP,
        "startsAt": {"type": "string", "format": "date-time"},
        "endsAt": {"type": "string", "format": "date-time"},
        "generatorURL": {"type": "string"},
        "fingerprint": {"type": "string", "minLength": 1},
    },
}

ALERTMANAGER_WEBHOOK: dict[str, Any] = {
    "type": "object",
    "required": ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                 "commonAnnotations", "externalURL", "alerts"],
    "properties": {
        "version": {"const": "4"},
        "groupKey": {"type": "string", "minLength": 1},
        "truncatedAlerts": {"type": "integer"},
        "status": {"enum": ["firing", "resolved"]},
        "receiver": {"type": "string", "minLength": 1},
        "groupLabels": _STRING_MAP,
        "commonLabels": _STRING_MAP,
        "commonAnnotations": _TEXT_MAP,
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "minItems": 1, "items": _ALERTMANAGER_ALERT},
    },
}

SLACK_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1, "pattern": r"^[^<>]*$"}},
}

# ksystui's own shape (the `generic` format), as the README documents it
GENERIC_NOTICE: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "kind", "delivery_key", "incident", "tenant", "node", "severity", "summary", "at",
                 "ref", "details"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": "ksystui.notice/1"},
        "kind": {"enum": ["alert.raised", "alert.acknowledged", "alert.resolved", "operation.finished", "test"]},
        "delivery_key": {"type": "string", "minLength": 1},
        "incident": {"type": "string", "minLength": 1},
        "tenant": {"type": ["string", "null"]},
        "node": {"type": ["string", "null"]},
        "severity": {"enum": ["critical", "warning", "info"]},
        "summary": {"type": "string", "minLength": 1, "pattern": r"^[^\n]*$"},
        "at": {"type": "string", "format": "date-time"},
        "ref": {"type": ["integer", "null"]},
        "details": _TEXT_MAP,
    },
}

_TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "null": type(None)}


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def _date_time(text: str) -> bool:
    """RFC 3339: a date, a time and an offset (Z or ±hh:mm)."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty: it validates)."""
    out: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        if not any(_is(value, k) for k in ([kinds] if isinstance(kinds, str) else kinds)):
            return [f"{where}: {value!r} is not of type {kinds}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time" and not _date_time(value):
            out.append(f"{where}: {value!r} is not an RFC 3339 date-time")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            out += problems(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, dict):
        out += [f"{where}: {key!r} is required" for key in schema.get("required", ()) if key not in value]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, item in value.items():
            if names is not None:
                out += problems(key, names, f"{where} key")
            if key in props:
                out += problems(item, props[key], f"{where}.{key}")
            elif extra is False:
                out.append(f"{where}: {key!r} is not a documented field")
            elif isinstance(extra, dict):
                out += problems(item, extra, f"{where}.{key}")
    return out


def pagerduty_problems(event: dict[str, Any]) -> list[str]:
    """The schema, and the rules it cannot say: a trigger carries a payload;
    acknowledge and resolve name the alert by its dedup_key."""
    out = problems(event, PAGERDUTY_EVENT)
    if event.get("event_action") == "trigger" and "payload" not in event:
        out.append("$: a trigger needs a payload")
    if event.get("event_action") in ("acknowledge", "resolve") and not event.get("dedup_key"):
        out.append("$: acknowledge and resolve need the dedup_key of the alert")
    return out
