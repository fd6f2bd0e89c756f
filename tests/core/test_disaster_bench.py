"""bench/planner.py on a small fleet: it plans, refuses on its too-small
hosts, and ends with the line the benchmark is read by."""

from __future__ import annotations

import re

from bench.planner import fleet, main, plan


def test_the_synthetic_fleet_has_short_hosts_and_shared_ones():
    snaps, facts, busy = fleet(40, 4, seed=3)
    result = plan(snaps, facts, busy)
    assert len(result.outcomes) == 40 and {h.name for h in result.hosts} == {f"shared{i:02d}" for i in range(4)}
    assert any(not o.fits for o in result.outcomes) == any(not h.fits for h in result.hosts)


def test_the_last_line_is_the_one_the_benchmark_is_read_by(capsys):
    main(["--tenants", "20", "--hosts", "4", "--runs", "1"])
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"planner tenants=20 hosts=4 plan_ms=\d+\.\d", last)
