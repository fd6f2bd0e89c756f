"""The arbiter played forward (pure): when will each waiting request start?

``core.arbitration`` admits a waiting request when no running operation
holds any of its claims and no request ahead of it in the order shares one.
With nothing new arriving and nothing pre-empted, that has a closed form: a
request starts once every operation running on its claims is done and the
last request ahead of it on each of its claims has finished (requests that
share a claim run one after the other, in order, so the last one ahead is
the last to finish). One pass over the queue in the arbiter's order, instead
of an admission decision at every finish; the tests hold it to the
event-by-event replay through ``arbitration.decide``.

The queue view's predicted starts and the disaster planner both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ksystui.core.arbitration import Claim, Request, ordered

NEVER = float("inf")  # behind an operation of unknown length: no predicted start


@dataclass(frozen=True)
class Busy:
    """What already holds resources when the play starts: a running
    operation, its recovery resources (CEC UUIDs / ``workspace:...``; its
    node is claimed too) and how long it still runs."""

    id: int
    tenant: str
    node: str
    claims: frozenset[str]
    remaining_s: float


def node_and_resources(node: str, resources: Iterable[str]) -> frozenset[Claim]:
    """The arbiter's claims of an operation on ``node`` working on ``resources``."""
    return frozenset({Claim("node", node), *(Claim("host", r) for r in resources)})


def release_times(busy: Sequence[Busy]) -> dict[Claim, float]:
    """When each claim held by a running operation is free (seconds from
    now; one past its estimate is taken to end now)."""
    out: dict[Claim, float] = {}
    for b in busy:
        at = max(0.0, b.remaining_s)
        for c in node_and_resources(b.node, b.claims):
            out[c] = max(out.get(c, 0.0), at)
    return out


def play(queue: Iterable[tuple[frozenset[Claim], float | None]],
         released: Mapping[Claim, float]) -> list[tuple[float | None, float | None]]:
    """(start, finish) of every request of ``queue`` — given in the arbiter's
    order, each as its claims and its duration (None: unknown). An unknown
    duration never ends as far as the forecast goes: whatever waits behind
    it on a claim gets no start either."""
    free_at: dict[Claim, float] = dict(released)
    out: list[tuple[float | None, float | None]] = []
    for claims, seconds in queue:
        start = 0.0
        for c in claims:
            at = free_at.get(c, 0.0)
            if at > start:
                start = at
        finish = NEVER if start == NEVER or seconds is None else start + max(0.0, seconds)
        for c in claims:
            free_at[c] = finish
        out.append((None if start == NEVER else start, None if finish == NEVER else finish))
    return out


def predicted_starts(busy: Sequence[Busy], waiting: Sequence[Request],
                     seconds: Mapping[int, float]) -> dict[int, float | None]:
    """Every waiting request's predicted start (seconds from now): ``busy``
    holds its claims for its remaining time, and each request lasts
    ``seconds[id]`` (missing: unknown)."""
    queue = ordered(waiting)
    times = play(((r.claims, seconds.get(r.id)) for r in queue), release_times(busy))
    return {r.id: start for r, (start, _finish) in zip(queue, times, strict=True)}
