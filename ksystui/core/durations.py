"""Durations as people write them in a configuration: ``"30m"``, ``"1h30m"``,
``"45s"``, ``"7d"``. Pure.

One spelling for every duration a configuration names (agreed RTO and RPO,
a hook's timeout, how long history is kept), so a typo is caught the same
way everywhere and reads back the same way (``core.age.format_age``)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_ORDER = "dhms"


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → 90 minutes. Units d, h, m, s, each at most once, largest
    first; no spaces, no fractions, more than zero. Raises ``ValueError`` with
    what is wrong and an example."""
    raw = text.strip() if isinstance(text, str) else text
    if not isinstance(raw, str) or not raw:
        raise ValueError('a duration is a string such as "30m", "1h30m" or "45s"')
    pos = 0
    seen: list[str] = []
    seconds = 0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        unit = match.group(2)
        if seen and _ORDER.index(unit) <= _ORDER.index(seen[-1]):
            raise ValueError(f'{raw!r}: units go largest first, each once (e.g. "1h30m")')
        seen.append(unit)
        seconds += int(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if pos != len(raw) or not seen:
        raise ValueError(f'{raw!r}: not a duration (write a number and a unit d, h, m or s, e.g. "30m" or "1h30m")')
    if seconds == 0:
        raise ValueError(f"{raw!r}: a duration must be more than zero")
    if seconds > 3650 * 86400:
        raise ValueError(f"{raw!r}: more than ten years")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: 5400 s → ``"1h30m"``."""
    left = int(value.total_seconds())
    parts = []
    for unit in _ORDER:
        n, left = divmod(left, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"
