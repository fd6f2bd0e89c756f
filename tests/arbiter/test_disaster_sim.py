"""The plan against a simulated disaster (issue 14's acceptance: "predicted
finish times for customerA and customerB match the simulated run within
20 %"): the queue remembers one disaster's unplanned moves; on a fresh seed
fleet with that history, the plan's predicted finishes are set against the
same disaster run through the arbiter."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from ksystui.arbiter.disaster import disaster_report
from ksystui.bootstrap import plan_context
from ksystui.core.lifecycle import Op
from ksystui.sim.world import SimWorld
from tests.arbiter.conftest import Rig, rig_on
from tests.arbiter.test_arbiter import queue_op, run_until_settled

SPEED = 12  # slow enough that a move (seconds) dwarfs the dispatcher's tick and the SSH round trips


def seed_fleet(tmp_path: Path, db: Path) -> contextlib.AbstractAsyncContextManager[Rig]:
    """A fresh seed world on loopback, ksystui's fleet on it, the queue in ``db``."""
    return rig_on(SimWorld.seed(speed=SPEED), tmp_path, db=db)


async def disaster(rig: Rig) -> dict[str, float]:
    """customerA's and customerB's unplanned moves through the arbiter, as a
    disaster queues them: seconds from the arbiter's first admission (the
    test starts its dispatcher only then: in a service it runs already) to
    each finish."""
    ids = {t: (await queue_op(rig, t, Op.MOVE_UNPLANNED)).id for t in ("customerB", "customerA")}
    ops = await run_until_settled(rig, list(ids.values()), timeout=120)
    assert all(o.state == "succeeded" for o in ops), [(o.tenant, o.outcome) for o in ops]
    at = min(o.admitted_at for o in ops)
    return {o.tenant: (o.finished_at - at).total_seconds() for o in ops}


async def test_predicted_finishes_match_a_simulated_disaster_within_20_percent(tmp_path):
    db = tmp_path / "k.db"
    async with seed_fleet(tmp_path / "first", db) as rig:
        await disaster(rig)  # the history the plan learns from
    async with seed_fleet(tmp_path / "second", db) as rig:
        report = await disaster_report(rig.queue, rig.fleet.snapshots, "pbrazos,raichu",
                                       context=plan_context(rig.cfg))
        predicted = {o.tenant: o.finish_s for o in report.plan.outcomes}
        assert [o.basis for o in report.plan.outcomes] == ["median of 1 past unplanned move"] * 2
        actual = await disaster(rig)
    assert set(predicted) == set(actual) == {"customerA", "customerB"}
    for tenant, seconds in actual.items():
        assert predicted[tenant] == pytest.approx(seconds, rel=0.2), (tenant, predicted, actual)
    assert predicted["customerB"] > predicted["customerA"]  # one after the other on snorlax
