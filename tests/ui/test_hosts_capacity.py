"""The hosts view in the console shows capacity (issue 14): "per recovery
host, used and free CPU and memory by tenant; a scoped console sees its own
share and an anonymous "other tenants" total", and "a scoped console's hosts
view ... show[s] no other tenant's name"."""

from __future__ import annotations

from dataclasses import replace

from .conftest import console, screen_text, showing, until
from .test_scoped import assert_clean


def sized_and_failed_over(fleet, snorlax_gb: str = "300") -> None:
    """The seed's snapshots with snorlax's size printed (as ``query host``
    prints it, INFERRED keys) and customerA's VMs moved onto it."""
    for name, snap in list(fleet.snapshots.items()):
        if snap.flavour.value != "onprem" or "host" not in snap.sections:
            continue
        hosts = tuple(replace(h, memory_capacity=snorlax_gb, processors="32") if h.name == "snorlax" else h
                      for h in snap.hosts)
        sections = {**snap.sections, "host": replace(snap.sections["host"], items=hosts)}
        if snap.tenant == "customerA":
            sites = tuple(replace(s, sitetype="BACKUP" if s.sitetype == "ACTIVE" else "ACTIVE") for s in snap.sites)
            vms = tuple(replace(v, host="snorlax", state="MOVED") for v in snap.vms)
            sections |= {"site": replace(snap.sections["site"], items=sites),
                         "vm": replace(snap.sections["vm"], items=vms)}
        fleet.snapshots[name] = replace(snap, sections=sections)


async def test_the_hosts_view_shows_how_full_snorlax_is_and_whose_use_it_is(world, polled):
    sized_and_failed_over(polled)
    app = console(world, polled)
    async with app.run_test(size=(220, 40)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: showing(app, "hosts") and "280/300 GB" in screen_text(app))
        text = screen_text(app)
        for column in ("MEM", "CPU", "FREE", "SHARE"):
            assert column in text
        assert "17.5/32" in text and "20 GB, 14.5 CPU" in text
        assert "customerA (runs VMs: 280 GB, 17.5 CPU)" in text  # on customerB's row, named unscoped


async def test_a_scoped_hosts_view_sums_the_other_tenants_and_names_none(world, polled):
    sized_and_failed_over(polled)
    app = console(world, polled, scope="customerB")
    async with app.run_test(size=(220, 40)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: showing(app, "hosts") and "280/300 GB" in screen_text(app))
        text = screen_text(app)
        assert "1 other tenant: 280 GB, 17.5 CPU" in text and "20 GB, 14.5 CPU" in text
        assert_clean(text)
        # and its detail (Enter opens the node's VMs): still only customerB
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, "vms"))
        assert_clean(screen_text(app))


async def test_a_host_nobody_sizes_reads_not_reported(world, polled):
    for name, snap in list(polled.snapshots.items()):  # a KSYS that prints no size (older levels)
        if "host" not in snap.sections:
            continue
        hosts = tuple(replace(h, memory_capacity=None, processors=None) for h in snap.hosts)
        polled.snapshots[name] = replace(snap, sections={**snap.sections,
                                                         "host": replace(snap.sections["host"], items=hosts)})
    app = console(world, polled)
    async with app.run_test(size=(220, 40)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: showing(app, "hosts") and "snorlax" in screen_text(app))
        assert "not reported" in screen_text(app) and "/512 GB" not in screen_text(app)
