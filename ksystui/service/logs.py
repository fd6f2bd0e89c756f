"""The service's log: one logfmt line per event on standard error,
``ts=2026-11-30T09:21:33.123Z level=info msg="took the lease" epoch=4``,
for journald, a log shipper or ``grep``.

Fields travel as ``extra={"fields": {...}}`` (see :func:`fields`); a value
with a space, a quote or an equals sign is quoted, so every line splits
back into the same keys and values.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TextIO

FIELDS = "fields"  # the LogRecord attribute that carries a line's key=value pairs
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@#+,")


def fields(**values: Any) -> dict[str, dict[str, Any]]:
    """``log.info("took the lease", extra=fields(epoch=4))``."""
    return {FIELDS: values}


def logfmt_value(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and all(c in _PLAIN for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """``ts=… level=… msg=… logger=… key=value…`` (an exception: ``error=``)."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        pairs: list[tuple[str, Any]] = [("ts", ts), ("level", record.levelname.lower()),
                                        ("msg", record.getMessage()), ("logger", record.name)]
        pairs += list((getattr(record, FIELDS, None) or {}).items())
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            pairs.append(("error", f"{type(exc).__name__}: {exc}"))
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs)


def log_to(stream: TextIO, level: int = logging.INFO) -> logging.Handler:
    """Send every log record to ``stream`` as logfmt lines: ksystui's (the
    service's, the fleet's, the dispatcher's) from ``level`` up, the
    libraries' (asyncssh, SQLAlchemy) from warnings up. Returns the handler,
    for :func:`stop_logging`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("ksystui").setLevel(level)
    return handler


def stop_logging(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()
