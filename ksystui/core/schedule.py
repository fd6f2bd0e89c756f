"""Daily schedules: when does a KSYS node's automatic discovery run next.

``auto_discovery_time=hh:mm`` makes a KSYS node discover (and, on-prem,
verify) once a day at that local time [S1, SEED]. Pure functions: the
simulator's scheduler and ksystui's staggered-schedule planner share them.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    m = _HHMM.match(value)
    if not m:
        raise ValueError(f"expected hh:mm between 00:00 and 23:59, not {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def next_daily_run(now: datetime, hhmm: str) -> datetime:
    """The first moment strictly after ``now`` at local time ``hhmm``."""
    at = parse_hhmm(hhmm)
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += timedelta(days=1)
    return candidate
