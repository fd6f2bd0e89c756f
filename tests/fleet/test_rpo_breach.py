"""Acceptance (issue 13): "Replication lag injected in the simulator shows as
an RPO breach with its measured time" — over SSH and the PowerVS REST
service, with the configuration `ksystui sim` writes (its agreements
included), on-prem and PowerVS, every tenant of the seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ksystui.core.viewdefs import VIEWS
from ksystui.core.views import overview_rows
from ksystui.fleet.connect import build_fleet, close_fleet, tenant_infos
from tests.waiting import eventually

from .conftest import fast

RPO = [c.key for c in VIEWS["overview"].columns].index("rpo")


async def test_injected_lag_shows_as_an_rpo_breach_with_its_measured_time_onprem_and_powervs(served, config):
    runner, _ = served
    tenants = tenant_infos(config)
    assert {t.name: t.rpo for t in tenants} == {"customerA": timedelta(minutes=15),
                                               "customerB": timedelta(minutes=30),
                                               "customerC": timedelta(hours=1)}
    fleet = build_fleet(fast(config))
    fleet.start()
    try:
        def cells() -> dict[str, str]:
            return {r.tenant or "": r.cells[RPO] for r in overview_rows(fleet.snapshots, tenants, datetime.now(UTC))}

        await eventually(lambda: len(fleet.snapshots) == 3 and all(c.startswith("ok ") for c in cells().values()), 15)
        assert cells()["customerA"] == "ok 0s / 15m"  # in sync

        faults = runner.world.faults
        faults.inject("replication_lag", "r7r3m116", minutes=40)  # customerA, on-prem over SSH: 15m agreed
        faults.inject("replication_lag", "r7r3m108", minutes=10)  # customerB: 30m agreed, within it
        faults.inject("replication_lag", "ksysorch-dal12", minutes=90)  # customerC, PowerVS: 1h agreed
        await eventually(lambda: all(" 0s /" not in c for c in cells().values()), 15)
        now = cells()
        assert now["customerA"].startswith("BREACH 40m") and now["customerA"].endswith(" / 15m")
        assert now["customerB"].startswith("ok 10m") and now["customerB"].endswith(" / 30m")
        assert now["customerC"].startswith("BREACH 1h30m") and now["customerC"].endswith(" / 1h")
        rows = {r.tenant: r for r in overview_rows(fleet.snapshots, tenants, datetime.now(UTC))}
        assert rows["customerA"].style == "alert" and rows["customerC"].style == "alert"
        assert rows["customerB"].style is None

        # PowerVS: both sources say it, ksysmgr over SSH and the DR Automation service over REST
        def dal12():
            return fleet.snapshots["ksysorch-dal12"]

        assert all(g.consistent_at for g in dal12().disk_groups)
        await eventually(lambda: bool(dal12().managed_vms) and all(m.last_consistent_time for m in dal12().managed_vms), 15)

        faults.clear("replication_lag")
        await eventually(lambda: all(c.startswith("ok 0s / ") for c in cells().values()), 15)
    finally:
        await close_fleet(fleet)
