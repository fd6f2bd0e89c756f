"""A ``Notice`` as each kind of receiver expects it. Pure: JSON-ready dicts.

- ``generic``: ksystui's own JSON (``GENERIC_SCHEMA``), every field of the notice.
- ``alertmanager``: Prometheus Alertmanager's webhook format, version "4" (what
  Alertmanager itself POSTs to a ``webhook_config``), so anything built to
  receive Alertmanager's webhooks receives ksystui's: one alert per notice,
  firing until its resolution.
- ``pagerduty``: a PagerDuty Events API v2 alert event: ``trigger`` on a raised
  alert, ``acknowledge`` and ``resolve`` with the same ``dedup_key`` (the
  incident) after it; a finished operation or a test triggers with its
  severity (a hook filters severities to page only on failures).
- ``slack``: ``{"text": …}``, what a Slack incoming webhook (and Mattermost,
  Rocket.Chat, Teams' Slack-compatible hooks) takes.

The routing key is the one secret a payload may carry: it is given at send
time and only the ``pagerduty`` payload holds it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from ksystui.core.notices import (
    ALERT_ACKNOWLEDGED,
    ALERT_RESOLVED,
    OPERATION_FINISHED,
    TEST,
    Notice,
)

GENERIC_SCHEMA = "ksystui.notice/1"
SOURCE = "ksystui"
ALERTMANAGER_VERSION = "4"
ALERTMANAGER_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing
PAGERDUTY_SUMMARY_MAX = 1024  # Events API v2 limits
PAGERDUTY_DEDUP_MAX = 255


def rfc3339(t: datetime) -> str:
    """``2026-11-30T15:04:05.123456Z``: UTC, as both Alertmanager and PagerDuty
    read it (a naive time is taken as UTC: the core keeps UTC)."""
    aware = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(fmt: str, notice: Notice, *, routing_key: str | None = None) -> dict[str, Any]:
    """The JSON body for a receiver of format ``fmt``."""
    if fmt == "generic":
        return generic(notice)
    if fmt == "alertmanager":
        return alertmanager(notice)
    if fmt == "pagerduty":
        if not routing_key:
            raise ValueError("the pagerduty format needs a routing key")
        return pagerduty(notice, routing_key)
    if fmt == "slack":
        return slack(notice)
    raise ValueError(f"unknown notification format {fmt!r}")


def generic(notice: Notice) -> dict[str, Any]:
    return {
        "schema": GENERIC_SCHEMA,
        "kind": notice.kind,
        "delivery_key": notice.delivery_key,
        "incident": notice.incident,
        "tenant": notice.tenant,
        "node": notice.node,
        "severity": notice.severity,
        "summary": notice.summary,
        "at": rfc3339(notice.at),
        "ref": notice.ref,
        "details": dict(notice.details),
    }


def _alertname(notice: Notice) -> str:
    if notice.kind == OPERATION_FINISHED:
        return "KsystuiOperationFinished"
    if notice.kind == TEST:
        return "KsystuiTest"
    return notice.details.get("event") or "KsystuiAlert"


def _resolved(notice: Notice) -> bool:
    """Whether the notice ends what it is about: a resolution, or an operation
    that succeeded (nothing to act on); a failed one fires until read."""
    return notice.kind == ALERT_RESOLVED or (notice.kind == OPERATION_FINISHED and notice.severity == "info")


def fingerprint(incident: str) -> str:
    """16 hex digits like Alertmanager's own, stable per incident."""
    return hashlib.sha256(incident.encode()).hexdigest()[:16]


def alertmanager(notice: Notice) -> dict[str, Any]:
    labels = {"alertname": _alertname(notice), "severity": notice.severity, "source": SOURCE,
              "incident": notice.incident}
    if notice.tenant:
        labels["tenant"] = notice.tenant
    if notice.node:
        labels["node"] = notice.node
    annotations = {"summary": notice.summary, "ksystui_kind": notice.kind, "delivery_key": notice.delivery_key,
                   **{k: v for k, v in notice.details.items() if k not in ("event",)}}
    status = "resolved" if _resolved(notice) else "firing"
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _starts(notice),
        "endsAt": rfc3339(notice.at) if status == "resolved" else ALERTMANAGER_ZERO_TIME,
        "generatorURL": "",
        "fingerprint": fingerprint(notice.incident),
    }
    return {
        "version": ALERTMANAGER_VERSION,
        "groupKey": f'{{}}:{{incident="{notice.incident}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": SOURCE,
        "groupLabels": {"incident": notice.incident},
        "commonLabels": dict(labels),
        "commonAnnotations": dict(annotations),
        "externalURL": "",
        "alerts": [alert],
    }


def _starts(notice: Notice) -> str:
    """When what the notice is about began: the alert's raising, the
    operation's start; else the notice's own time."""
    began = notice.details.get("started_at" if notice.kind == OPERATION_FINISHED else "raised_at")
    if began:
        try:
            return rfc3339(datetime.fromisoformat(began))
        except ValueError:
            pass
    return rfc3339(notice.at)


def _pagerduty_action(notice: Notice) -> str:
    return {ALERT_ACKNOWLEDGED: "acknowledge", ALERT_RESOLVED: "resolve"}.get(notice.kind, "trigger")


def dedup_key(incident: str) -> str:
    """The incident, within PagerDuty's 255 characters (a longer one keeps its
    start and a digest of the whole, so it stays unique and stable)."""
    if len(incident) <= PAGERDUTY_DEDUP_MAX:
        return incident
    digest = hashlib.sha256(incident.encode()).hexdigest()
    return incident[: PAGERDUTY_DEDUP_MAX - len(digest) - 1] + "#" + digest


def pagerduty(notice: Notice, routing_key: str) -> dict[str, Any]:
    custom = {"kind": notice.kind, "incident": notice.incident, "delivery_key": notice.delivery_key,
              **({"tenant": notice.tenant} if notice.tenant else {}),
              **({"node": notice.node} if notice.node else {}),
              **({"ref": str(notice.ref)} if notice.ref is not None else {}),
              **notice.details}
    body: dict[str, Any] = {
        "summary": notice.summary[:PAGERDUTY_SUMMARY_MAX],
        "source": notice.node or notice.tenant or SOURCE,
        "severity": notice.severity,  # ours (critical, warning, info) are three of PagerDuty's four
        "timestamp": rfc3339(notice.at),
        "component": notice.details.get("resource") or notice.node or SOURCE,
        "group": notice.tenant or SOURCE,
        "class": notice.details.get("event") or notice.details.get("op") or notice.kind,
        "custom_details": custom,
    }
    return {
        "routing_key": routing_key,
        "event_action": _pagerduty_action(notice),
        "dedup_key": dedup_key(notice.incident),
        "client": SOURCE,
        "payload": body,
    }


def _slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup: they must be sent escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLACK_MARK = {"critical": "[CRITICAL]", "warning": "[warning]", "info": "[info]"}


def slack_text(notice: Notice) -> str:
    return _slack_escape(f"{_SLACK_MARK.get(notice.severity, notice.severity)} {notice.summary} · {notice.kind} · "
                         f"{rfc3339(notice.at)} · key {notice.delivery_key}")


def slack(notice: Notice) -> dict[str, Any]:
    return {"text": slack_text(notice)}
