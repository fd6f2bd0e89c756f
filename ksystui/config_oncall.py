"""The configuration's on-call sections: ``[[notify]]`` hooks, ``[service]``
(the metrics endpoint, how long history is kept), and the duration type
agreements use. ``config.Config`` includes them; they live here so the file
that reads tenants and nodes stays about tenants and nodes.

A hook's URL may carry a token and a PagerDuty routing key is one: both come
from the environment (``url_env``, ``routing_key_env``) or a file
(``url_file``, ``routing_key_file``) and are read when a delivery is made,
never stored. ``url`` written inline is for receivers without a secret in
their address (a local Alertmanager); the delivery log names the hook,
never its URL.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ksystui.core.durations import parse_duration


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError('a duration is a string such as "30m", "1h30m" or "45s"')
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]

NotifyEvent = Literal["alert.raised", "alert.acknowledged", "alert.resolved", "operation.finished"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("alert.raised", "alert.acknowledged", "alert.resolved",
                                          "operation.finished")
Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
NotifyFormat = Literal["generic", "alertmanager", "pagerduty", "slack"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
_LISTEN = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotifyConfig(_Section):
    """One notification hook (``[[notify]]``)."""

    name: str = Field(pattern=_NAME)
    kind: Literal["webhook", "exec"]
    format: NotifyFormat = "generic"
    url: str | None = None  # inline: only for an address with no secret in it
    url_env: str | None = None
    url_file: Path | None = None
    command: list[str] | None = Field(default=None, min_length=1)  # an argv, never a shell string
    routing_key_env: str | None = None  # PagerDuty Events API v2 routing key
    routing_key_file: Path | None = None
    # the authority that signed a webhook receiver's certificate, for a receiver behind a private CA
    # (PEM; relative to the configuration's directory); the system's authorities when none
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=10)
    max_attempts: int = Field(default=8, ge=1, le=100)
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS), min_length=1)
    tenants: list[str] = []  # empty: every tenant
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1)

    @model_validator(mode="after")
    def _where_it_goes(self) -> NotifyConfig:
        urls = [x for x in (self.url, self.url_env, self.url_file) if x is not None]
        if self.kind == "webhook":
            if len(urls) != 1:
                raise ValueError("a webhook hook needs exactly one of url, url_env or url_file")
            if self.command is not None:
                raise ValueError("command is for kind = \"exec\"; a webhook has a url")
            if self.url is not None and not self.url.startswith(("http://", "https://")):
                raise ValueError("url: an http:// or https:// address")
        else:
            if self.command is None:
                raise ValueError("an exec hook needs command = [\"program\", \"arg\", …]")
            if self.ca_file is not None:
                raise ValueError("ca_file is for kind = \"webhook\" (the authority of its receiver's certificate)")
            if urls:
                raise ValueError("url is for kind = \"webhook\"; an exec hook has a command")
        keys = [x for x in (self.routing_key_env, self.routing_key_file) if x is not None]
        if len(keys) > 1:
            raise ValueError("give routing_key_env or routing_key_file, not both")
        if self.format == "pagerduty" and not keys:
            raise ValueError("the pagerduty format needs a routing key: routing_key_env or routing_key_file")
        if self.format != "pagerduty" and keys:
            raise ValueError("a routing key is for format = \"pagerduty\"")
        return self


class ServiceConfig(_Section):
    """``[service]``: what ``ksystui serve`` offers besides its work."""

    metrics_listen: str | None = None  # "127.0.0.1:9464": Prometheus /metrics; off unless set
    history_retention: Duration = timedelta(days=14)  # the record ``replay`` and ``incident export`` read

    @field_validator("metrics_listen")
    @classmethod
    def _a_listen_address(cls, v: str | None) -> str | None:
        if v is not None:
            match = _LISTEN.match(v)
            if match is None or not 1 <= int(match.group("port")) <= 65535:
                raise ValueError('HOST:PORT, e.g. "127.0.0.1:9464"')
        return v

    def metrics_address(self) -> tuple[str, int] | None:
        """(host, port) to listen on, or None when metrics are off."""
        if self.metrics_listen is None:
            return None
        host, _, port = self.metrics_listen.rpartition(":")
        return host.strip("[]"), int(port)
