"""An RPO breach on the overview stands out in every theme and under
NO_COLOR, and says BREACH in words (colour is never the only sign); a tenant
within its RPO reads plain. Measured on what the console draws."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ksystui.ui.app import ControlRoomApp

from .conftest import FROZEN, MemoryAlerts, press_until, tenant_infos
from .test_look import open_view, rendered
from .test_snapshots import pinned_fleet


def lagging_fleet():
    """The pinned seed with customerA's copy 40 minutes behind at FROZEN (agreed RPO 15m)."""
    world, fleet = pinned_fleet((("replication_lag", "r7r3m116"),))
    snap = fleet.snapshots["r7r3m116"]
    point = (FROZEN - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    groups = tuple(replace(g, consistent_at=point) for g in snap.disk_groups)
    fleet.snapshots["r7r3m116"] = replace(snap, sections={
        **snap.sections, "disk_group": replace(snap.sections["disk_group"], items=groups)})
    for name in fleet.snapshots:  # read a second before FROZEN, polled every minute: fresh
        fleet.snapshots[name] = replace(fleet.snapshots[name], interval=60)
    return world, fleet


@pytest.fixture
def lagging():
    return lagging_fleet()


@pytest.mark.parametrize("theme, no_color", [("dark", False), ("light", False), ("high-contrast", False),
                                             ("dark", True)])
async def test_an_rpo_breach_stands_out_in_every_theme_and_under_no_color(lagging, monkeypatch, theme, no_color):
    """Why: "the measured RPO against its target: breach visible in every theme and under NO_COLOR"."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    world, fleet = lagging
    app = ControlRoomApp(fleet, tenant_infos(world), start_fleet=False, clock=lambda: FROZEN, tick_seconds=3600,
                         shared=MemoryAlerts(fleet), theme=theme)
    async with app.run_test(size=(220, 30)) as pilot:
        await open_view(pilot, "0", "overview")
        table = app.screen.table
        # the cursor on customerC: customerA's and customerB's rows as they are
        await press_until(pilot, lambda: table.cursor_key == table.visible_rows()[-1].key, "end")
        lines = rendered(app)

        def row_of(tenant: str):
            line = next(line for line in lines if "".join(s.text for s in line).lstrip().startswith(tenant))
            return "".join(s.text for s in line), [s for s in line if s.text.strip()]

        breach_text, breach = row_of("customerA")
        normal_text, normal = row_of("customerB")
        assert "BREACH 40m00s / 15m" in breach_text and "30m" in breach_text
        assert "ok 0s / 30m" in normal_text and "BREACH" not in normal_text
        assert all(s.style.bold for s in breach) and not any(s.style.bold for s in normal)
        assert not any(s.style.dim for s in breach)
        if no_color:
            assert all(s.style.reverse for s in breach)
