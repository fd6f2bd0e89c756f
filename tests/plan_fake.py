"""A disaster plan of our choosing, built from the planner's own values
(``core.disaster``, ``core.disaster_report``), and a planner port that hands
it out: for the ``:plan`` view's tests, whose figures must not move with
the planner's arithmetic.

The seed with snorlax at 300 GB: customerA (280 GB) recovers first and
meets its 30m RTO; customerB (200 GB) does not fit, short 180 GB; with
180 GB more both fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ksystui.core.capacity import Shortfall, Size
from ksystui.core.disaster import DisasterPlan, HostNeed, Outcome, WhatIf
from ksystui.core.disaster_report import DisasterReport
from ksystui.core.failure_domains import FailedNode, Failure

SNORLAX = "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10"
AT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
NODES = (FailedNode("customerA", "r7r3m116", "customerA", ("pbrazos",), ("pbrazos",)),
         FailedNode("customerB", "r7r3m108", "customerB", ("raichu",), ("raichu",)))

__all__ = ["AT", "DisasterPlan", "FakePlanner", "HostNeed", "late_plan", "seed_plan"]


def seed_plan() -> DisasterPlan:
    short = Shortfall(SNORLAX, "snorlax", Size(200, 12.5), Size(20, 14.5), Size(300, 32))
    a = Outcome("customerA", "r7r3m116", 1, 0.0, 1260.0, timedelta(minutes=30), None, True, (),
                "median of 3 past unplanned moves")
    b = Outcome("customerB", "r7r3m108", 2, None, None, timedelta(hours=1), None, False, (short,),
                "no past run: 15m assumed")
    b_fits = replace(b, start_s=1260.0, finish_s=2160.0, fits=True, shortfalls=())
    return DisasterPlan(
        (a, b),
        (HostNeed(SNORLAX, "snorlax", Size(300, 32), Size(), Size(480, 30), False, Size(180, 0)),),
        (WhatIf("order by RTO (earliest deadline first)", (a, b), ()),
         WhatIf("snorlax +180 GB, +0 CPU", (a, b_fits), ("customerB: DOES NOT FIT -> meets (finish +36m00s)",))),
    )


def late_plan() -> DisasterPlan:
    """Both fit; customerB's recovery waits for customerA's and breaches its RTO."""
    a = Outcome("customerA", "r7r3m116", 1, 0.0, 1260.0, timedelta(minutes=30), None, True, (), "median of 3")
    b = Outcome("customerB", "r7r3m108", 2, 1260.0, 4500.0, timedelta(hours=1), 900.0, True, (), "median of 2")
    return DisasterPlan((a, b), (HostNeed(SNORLAX, "snorlax", Size(512, 32), Size(), Size(480, 30), True, Size()),),
                        ())


@dataclass
class FakePlanner:
    """The arbiter's ``plan(fail, scope)`` with a plan of our choosing, told
    as the real port tells it (scoped: ``for_tenant``); remembers what it
    was asked."""

    plan_value: DisasterPlan = field(default_factory=seed_plan)
    error: Exception | None = None
    asked: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)

    async def plan(self, fail: Sequence[str] = (), scope: str | None = None) -> DisasterReport:
        self.asked.append((tuple(fail), scope))
        if self.error is not None:
            raise self.error
        failure = Failure(tuple(fail) or ("every production host",), NODES)
        plan = self.plan_value
        if scope is not None:
            plan, failure = plan.for_tenant(scope), failure.for_tenant(scope)
        return DisasterReport(failure, plan, AT, scope)
