"""A disaster plan shaped as ``core.disaster`` makes it (the PLANNER's
contract: Outcome, HostNeed, WhatIf, DisasterPlan with ``for_tenant``), and
a planner port that hands it out: for the ``:plan`` view's tests, which
must not depend on how the planner computes it.

The seed with snorlax at 300 GB: customerA (280 GB) recovers first and
meets its 30m RTO; customerB (200 GB) does not fit, short 180 GB; with
180 GB more both fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ksystui.core.capacity import Shortfall, Size

ANOTHER = "another tenant"
SNORLAX = "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10"
AT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    tenant: str
    node: str
    position: int
    start_s: float | None
    finish_s: float | None
    rto: timedelta | None
    breach_s: float | None
    fits: bool
    shortfalls: tuple[Shortfall, ...]
    basis: str


@dataclass(frozen=True)
class HostNeed:
    uuid: str
    name: str
    total: Size | None
    before: Size
    needed: Size
    fits: bool
    short: Size


@dataclass(frozen=True)
class WhatIf:
    title: str
    outcomes: tuple[Outcome, ...]
    better: tuple[str, ...]


def _anonymous(o: Outcome, tenant: str) -> Outcome:
    return o if o.tenant == tenant else replace(o, tenant=ANOTHER, node="", basis="")


@dataclass(frozen=True)
class DisasterPlan:
    outcomes: tuple[Outcome, ...]
    hosts: tuple[HostNeed, ...]
    what_ifs: tuple[WhatIf, ...]

    def for_tenant(self, tenant: str) -> DisasterPlan:
        def hide(text: str) -> str:
            for o in self.outcomes:
                if o.tenant != tenant:
                    text = text.replace(o.tenant, ANOTHER)
            return text

        return DisasterPlan(
            tuple(_anonymous(o, tenant) for o in self.outcomes), self.hosts,
            tuple(WhatIf(hide(w.title), tuple(_anonymous(o, tenant) for o in w.outcomes),
                         tuple(hide(b) for b in w.better)) for w in self.what_ifs))


@dataclass(frozen=True)
class Failure:
    terms: tuple[str, ...]
    nodes: int

    def text(self) -> str:
        return f"{', '.join(self.terms)}: {self.nodes} nodes fail ({self.nodes} production hosts)"


@dataclass(frozen=True)
class DisasterReport:
    plan: DisasterPlan
    failure: Failure
    at: datetime = AT


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
    """The arbiter's ``plan(fail, scope)`` with a plan of our choosing;
    remembers what it was asked."""

    plan_value: DisasterPlan = field(default_factory=seed_plan)
    error: Exception | None = None
    asked: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)

    async def plan(self, fail: Sequence[str] = (), scope: str | None = None) -> DisasterReport:
        self.asked.append((tuple(fail), scope))
        if self.error is not None:
            raise self.error
        terms = tuple(fail) or ("every production host",)
        plan = self.plan_value if scope is None else self.plan_value.for_tenant(scope)
        return DisasterReport(plan, Failure(terms, len(plan.outcomes)))
