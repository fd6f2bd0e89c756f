"""bench/service_scale.py's arithmetic: polls per node per interval from the
simulator's command times, whatever the phase of the polls in the window."""

from __future__ import annotations

import pytest

from bench.service_scale import pct, polls_per_interval


def stats_of(times_by_node: dict[str, list[tuple[float, int]]]) -> dict:
    return {"nodes": {node: {"times": [list(t) for t in times]} for node, times in times_by_node.items()}}


@pytest.mark.parametrize("phase", [0.0, 0.1, 15.0, 29.9])
def test_one_poller_is_one_poll_per_interval_whatever_its_phase(phase: float) -> None:
    times = [(1000 + phase + 30 * k, 5000) for k in range(10)]
    assert polls_per_interval(stats_of({"n1": times}), 1000, 1090, 30) == pytest.approx(1.0)


def test_five_pollers_of_one_node_are_five_polls_per_interval() -> None:
    times = sorted((1000 + 3 * port + 30 * k, port) for port in range(5) for k in range(6))
    assert polls_per_interval(stats_of({"n1": times}), 1000, 1180, 30) == pytest.approx(5.0)


def test_nodes_are_averaged_and_only_the_named_ones() -> None:
    fast = [(1000 + 15 * k, 1) for k in range(9)]  # twice per interval
    slow = [(1000 + 30 * k, 2) for k in range(5)]
    s = stats_of({"fast": fast, "slow": slow})
    assert polls_per_interval(s, 1000, 1120, 30) == pytest.approx(1.5)
    assert polls_per_interval(s, 1000, 1120, 30, {"slow"}) == pytest.approx(1.0)


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.95) == 95.0 and pct(values, 0.5) == 51.0 and pct([7.0], 0.95) == 7.0
