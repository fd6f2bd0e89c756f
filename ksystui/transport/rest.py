"""REST client of a PowerVS KSYS node's DR Automation service broker API
(reference §6.1): one aiohttp session per node, TLS verified, bearer token.

Only GETs, all idempotent, so a connection error or a 5xx is retried
(``retries`` times, exponential backoff with jitter); a 4xx never is.
401/403 are :class:`AuthFailed` ("token rejected"). The token is held in a
wrapper whose ``repr`` hides it; it never appears in an exception, a log line
or the transport's ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from ksystui.transport.backoff import Backoff
from ksystui.transport.base import ClosedOnExit, TransportHealth
from ksystui.transport.errors import (
    AuthFailed,
    HttpError,
    Timeout,
    TransportError,
    Unreachable,
    one_line,
)

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]  # a JSON object as the service sent it (checked by its reader)

API = "/drautomation/v1"


class _Secret:
    """A string that does not show itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<hidden>"

    __str__ = __repr__


class _Retryable(Exception):
    """An attempt failed in a way worth another try; carries the final error."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(error.message)
        self.error = error


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # naive times are UTC
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class RestTransport(ClosedOnExit):
    """DR Automation service API of one PowerVS KSYS node."""

    def __init__(
        self,
        node: str,
        *,
        url: str,
        instance_id: str,
        token: str,
        ca_file: Path | None = None,
        timeout: float = 10,
        retries: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"{node}: the REST url must be https://host[:port] (got {url!r})")
        if not token or not token.strip():
            raise ValueError(f"{node}: empty REST token")
        if timeout <= 0:
            raise ValueError(f"{node}: REST timeout must be positive")
        if retries < 0:
            raise ValueError(f"{node}: REST retries must be 0 or more")
        self.node = node
        self.url = url.rstrip("/")
        self.instance_id = instance_id
        self.ca_file = Path(ca_file).expanduser() if ca_file is not None else None
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = backoff if backoff is not None else Backoff(0.5, 2, 8, 0.2)
        self._token = _Secret(token.strip())
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._last_latency_ms: float | None = None
        self._last_ok_at: datetime | None = None
        self._last_error: str | None = None
        self.attempts = 0  # HTTP requests sent, retries included

    def __repr__(self) -> str:
        return f"RestTransport(node={self.node!r}, url={self.url!r}, instance_id={self.instance_id!r})"

    # --- what the UI shows ----------------------------------------------------

    @property
    def last_latency_ms(self) -> float | None:
        return self._last_latency_ms

    @property
    def host_key_status(self) -> None:
        return None

    @property
    def next_attempt_at(self) -> None:
        return None

    @property
    def health(self) -> TransportHealth:
        return TransportHealth(
            node=self.node,
            connected=self._session is not None and not self._session.closed,
            last_latency_ms=self._last_latency_ms,
            host_key_status=None,
            next_attempt_at=None,
            last_error=self._last_error,
            last_ok_at=self._last_ok_at,
        )

    # --- the API --------------------------------------------------------------

    def _instance(self) -> str:
        return quote(self.instance_id, safe="")

    async def get_summary(self) -> JsonObject:
        return await self._get_dict(f"{API}/dr_summary/{self._instance()}")

    async def get_managed_vms(self) -> JsonObject:
        return await self._get_dict(f"{API}/dr_managed_vms/{self._instance()}")

    async def get_last_operation(self) -> JsonObject:
        return await self._get_dict(f"{API}/last_operation/{self._instance()}")

    async def get_events(
        self, from_time: datetime | None = None, to_time: datetime | None = None
    ) -> list[JsonObject]:
        """Events between ``from_time`` and ``to_time`` (naive datetimes are UTC)."""
        params: dict[str, str] = {}
        if from_time is not None:
            params["from_time"] = _iso(from_time)
        if to_time is not None:
            params["to_time"] = _iso(to_time)
        body = await self._get(f"{API}/service_instances/{self._instance()}/events", params)
        events = body.get("event", []) if isinstance(body, dict) else body
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise TransportError(self.node, "the events answer is not a list of events")
        return events

    async def get_event(self, event_id: str | int) -> JsonObject:
        eid = quote(str(event_id), safe="")
        return await self._get_dict(f"{API}/service_instances/{self._instance()}/events/{eid}")

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    # --- requests -------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            if self.ca_file is not None:
                return ssl.create_default_context(cafile=str(self.ca_file))
            return ssl.create_default_context()
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(
                self.node, f"cannot load the CA file {self.ca_file}: {exc.strerror or exc}"
            ) from None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransportError(self.node, "transport is closed")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl_context()),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                raise_for_status=False,
                trust_env=False,
            )
        return self._session

    async def _get_dict(self, path: str) -> JsonObject:
        body = await self._get(path)
        if not isinstance(body, dict):
            raise TransportError(self.node, f"{path}: expected a JSON object, got {type(body).__name__}")
        return body

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        session = self._get_session()
        backoff = self.backoff.fresh()
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                body = await self._attempt(session, path, params)
            except _Retryable as retry:
                err = retry.error
                if attempt > self.retries:
                    self._last_error = str(err)
                    raise err from None
                delay = backoff.next_delay()
                log.info(
                    "%s: GET %s failed (%s), retry %d/%d in %.2f s",
                    self.node, path, err.message, attempt, self.retries, delay,
                )
                await asyncio.sleep(delay)
                continue
            except TransportError as err:
                self._last_error = str(err)
                raise
            self._last_latency_ms = round((time.monotonic() - started) * 1000, 1)
            self._last_ok_at = datetime.now(UTC)
            return body

    async def _attempt(
        self, session: aiohttp.ClientSession, path: str, params: dict[str, str] | None
    ) -> Any:
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Accept": "application/json",
        }
        where = f"GET {path}"
        self.attempts += 1
        try:
            async with session.get(
                self.url + path,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,  # never carry the token to another place
            ) as resp:
                status = resp.status
                if status < 300:
                    try:
                        return await resp.json(content_type=None)
                    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                        raise TransportError(self.node, f"{where}: the answer is not JSON") from None
                detail = self._scrub(await self._error_text(resp))
        except TransportError:
            raise
        except aiohttp.ClientSSLError as exc:
            raise Unreachable(
                self.node, f"{where}: TLS with {self._hostport()} failed: {self._scrub(str(exc))}"
            ) from None
        except ssl.SSLError as exc:
            raise Unreachable(
                self.node, f"{where}: TLS with {self._hostport()} failed: {self._scrub(str(exc))}"
            ) from None
        except TimeoutError:
            raise Timeout(self.node, f"{where}: no answer within {self.timeout:g} s") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as exc:
            text = self._scrub(str(exc)) or type(exc).__name__
            raise _Retryable(
                Unreachable(self.node, f"{where}: cannot reach {self._hostport()}: {text}")
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(self.node, f"{where}: {self._scrub(str(exc))}") from None
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            raise AuthFailed(self.node, f"token rejected by the DR Automation service (HTTP {status}){suffix}")
        if status >= 500:
            raise _Retryable(HttpError(self.node, f"{where}: HTTP {status}{suffix}", status=status))
        raise HttpError(self.node, f"{where}: HTTP {status}{suffix}", status=status)

    @staticmethod
    async def _error_text(resp: aiohttp.ClientResponse) -> str:
        """The message of an IBM Cloud API error body, else the start of the body."""
        try:
            raw = await resp.text(errors="replace")
        except (aiohttp.ClientError, OSError, TimeoutError):
            return resp.reason or ""
        try:
            body = json.loads(raw)
        except ValueError:
            return one_line(raw, 200)
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                return one_line(str(errors[0].get("message") or errors[0].get("code") or ""), 200)
            for key in ("message", "error", "description"):
                if isinstance(body.get(key), str):
                    return one_line(body[key], 200)
        return one_line(raw, 200)

    def _scrub(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "<hidden>") if token else text

    def _hostport(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc
