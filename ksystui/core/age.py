"""One way to say how long ago something was, or how long something took.

Every screen, report and command line spells a duration the same way, so an
operator comparing the queue's "running 4m05s" with a node's "stale 4m05s"
reads the same unit. Pure.
"""

from __future__ import annotations

TWO_DAYS = 172_800


def format_age(seconds: float | None, *, missing: str = "never") -> str:
    """``45s``, ``4m05s``, ``3h07m``, ``5d``; ``<1s`` for a positive
    sub-second span (it did take time: "0s" would read as nothing); ``missing``
    when there is no value at all. A negative span (clock skew) reads 0s."""
    if seconds is None:
        return missing
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return "<1s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < TWO_DAYS:
        return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
    return f"{whole // 86400}d"
