"""`ksystui submit` checks capacity: with snorlax too small for both seed
tenants (300 GB; customerA 280 GB, customerB 200 GB), the second move is
refused with exit 2 and the numbers on stderr; ``--over-capacity REASON``
queues it anyway (audited); a scoped refusal names no other tenant."""

from __future__ import annotations

import pytest

from ksystui.sim.world import SimWorld
from ksystui.store.queue import Queue
from tests.sim.capacity_scenarios import ONLY_ONE_FITS_GB, world_with

from .conftest import aksystui

SHORT_B = "snorlax needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of 300 GB, 32 CPU: short 180 GB"


def queued(cfg) -> dict[str, str | None]:
    q = Queue.open(f"sqlite:///{cfg.parent.parent / 'k.db'}")
    try:
        return {o.tenant: o.capacity_override for o in q.operations()}
    finally:
        q.close()


@pytest.fixture
def world() -> SimWorld:
    """The seed with snorlax at 300 GB (served by ``served``): its nodes print that size."""
    return world_with(snorlax_memory_gb=ONLY_ONE_FITS_GB, speed=200.0)


@pytest.fixture
async def small(served):
    _, cfg = served
    first = await aksystui("submit", "move", "customerA", "--config", str(cfg))
    assert first.rc == 0, first.err
    return cfg


async def test_the_second_move_is_refused_with_the_numbers_and_exit_2(small, world):
    run = await aksystui("submit", "move", "customerB", "--config", str(small))
    assert run.rc == 2 and "Traceback" not in run.err
    assert f"not queued: does not fit: {SHORT_B}" in run.err
    assert "--over-capacity REASON" in run.err and run.out == ""
    assert queued(small) == {"customerA": None}
    assert world.capacity_failures.entries() == [] and not any("move" in a for a in world.nodes["r7r3m108"].command_log)


async def test_over_capacity_with_a_reason_queues_it_and_says_so(small):
    why = "customerB accepts half memory until Monday (CAB-1142)"
    run = await aksystui("submit", "move", "customerB", "--over-capacity", why, "--config", str(small))
    assert run.rc == 0, run.err
    assert "queued #2: ksysmgr -f -t move site from=customerB to=service_provider" in run.out
    assert f"queued over capacity (audited): {why}" in run.err
    assert queued(small) == {"customerA": None, "customerB": why}


async def test_an_empty_over_capacity_reason_is_refused(small):
    run = await aksystui("submit", "move", "customerB", "--over-capacity", "  ", "--config", str(small))
    assert run.rc == 2 and "--over-capacity needs the written reason" in run.err
    assert queued(small) == {"customerA": None}


async def test_a_scoped_refusal_names_no_other_tenant(small):
    run = await aksystui("--tenant", "customerB", "submit", "move", "--config", str(small))
    assert run.rc == 2 and SHORT_B in run.err
    assert "customerA" not in run.err and "r7r3m116" not in run.err
