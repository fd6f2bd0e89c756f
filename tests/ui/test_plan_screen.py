"""`:plan [FAIL,...]` (issue 14, deliverable 4): "a `:plan` view ... the order,
each tenant's predicted start and finish against its RTO, and whether each
recovery host can hold everyone; it flags tenants that would breach their RTO
or not fit, and shows what would change with another agreement order or more
capacity", and "a scoped console's hosts view and plan show no other tenant's
name". The plan comes from the arbiter's ``plan(fail, scope)``: here a fake
with the seed's figures (snorlax at 300 GB)."""

from __future__ import annotations

from tests.plan_fake import FakePlanner, late_plan

from .conftest import console, screen_text, showing, until
from .test_scoped import assert_clean


def rows(app) -> list[tuple[str, ...]]:
    return [tuple(r.cells) for r in app.screen.table.visible_rows()]


async def test_plan_shows_each_tenants_recovery_in_order_the_host_that_cannot_hold_everyone_and_the_what_ifs(
        world, polled):
    planner = FakePlanner()
    app = console(world, polled, arbiter=planner)
    async with app.run_test(size=(200, 50)) as pilot:
        app.run_command("plan pbrazos,raichu")
        await until(pilot, lambda: showing(app, "plan") and len(rows(app)) == 2)
        assert planner.asked[0] == (("pbrazos", "raichu"), None)
        (a, b) = rows(app)
        assert a[:4] == ("1", "customerA", "meets (9m00s to spare)", "30m") and a[6] == "r7r3m116"
        assert (a[4], a[5]) == ("+21m00s", "+0s")
        assert b[:2] == ("2", "customerB") and b[4:6] == ("-", "-")
        assert b[2] == "DOES NOT FIT short 180 GB on snorlax"
        text = screen_text(app)
        assert "If pbrazos, raichu: 2 nodes fail (2 production hosts) (times count from now" in text
        assert "2 recoveries: 1 meets its RTO, 1 does not fit" in text
        assert "snorlax: needs 480 GB, 30 CPU of 300 GB, 32 CPU: DOES NOT FIT, short 180 GB" in text
        assert "What if snorlax +180 GB, +0 CPU:" in text and "customerB: DOES NOT FIT -> meets" in text
        assert "What if order by RTO (earliest deadline first):" in text and "no recovery's verdict changes" in text
        assert "Disaster plan [pbrazos, raichu]" in text  # the breadcrumb says what fails
        await pilot.press("question_mark")  # ? lists the keys of the view
        await until(pilot, lambda: "Keys in the plan view" in screen_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: showing(app, "plan"))


async def test_plan_without_terms_fails_every_production_host_in_scope_and_flags_a_breach(world, polled):
    planner = FakePlanner(late_plan())
    app = console(world, polled, arbiter=planner)
    async with app.run_test(size=(200, 50)) as pilot:
        app.run_command("plan")
        await until(pilot, lambda: showing(app, "plan") and len(rows(app)) == 2)
        assert planner.asked[0] == ((), None)
        assert rows(app)[1][2] == "BREACH by 15m00s"
        assert "1 breaches its RTO" in screen_text(app)


async def test_a_scoped_plan_shows_its_own_recovery_and_another_tenant_never_a_name(world, polled):
    planner = FakePlanner()
    app = console(world, polled, scope="customerB", arbiter=planner)
    async with app.run_test(size=(200, 50)) as pilot:
        app.run_command("plan")
        await until(pilot, lambda: showing(app, "plan") and len(rows(app)) == 2)
        assert planner.asked[0] == ((), "customerB")
        (other, own) = rows(app)
        assert (other[1], other[6]) == ("another tenant", "-") and own[1] == "customerB"
        assert own[2] == "DOES NOT FIT short 180 GB on snorlax" and other[2] == "recovers"
        assert "2 recoveries (1 of other tenants): 0 meet their RTO, 1 does not fit" in screen_text(app)
        assert_clean(screen_text(app))


async def test_an_unknown_failure_domain_says_so_and_a_console_without_arbiter_has_no_plan(world, polled):
    planner = FakePlanner(error=ValueError("--fail 'atlantis': no host, site or tag of that name"))
    app = console(world, polled, arbiter=planner)
    async with app.run_test(size=(160, 40)) as pilot:
        assert "plan" in app.command_words()
        app.run_command("plan atlantis")
        await until(pilot, lambda: showing(app, "plan") and "No plan: --fail 'atlantis'" in screen_text(app))
    app = console(world, polled)
    async with app.run_test(size=(160, 40)) as pilot:
        app.run_command("plan")
        await until(pilot, lambda: showing(app, "plan") and "no arbiter" in screen_text(app))


def sized(fleet, snorlax_gb: str = "300") -> None:
    """The seed's snapshots with snorlax's size printed (INFERRED keys of
    ``query host``): at 300 GB only customerA's 280 GB fits."""
    from dataclasses import replace

    for name, snap in list(fleet.snapshots.items()):
        if "host" in snap.sections:
            hosts = tuple(replace(h, memory_capacity=snorlax_gb, processors="32") if h.name == "snorlax" else h
                          for h in snap.hosts)
            fleet.snapshots[name] = replace(snap, sections={**snap.sections,
                                                            "host": replace(snap.sections["host"], items=hosts)})


def real_port(tmp_path, fleet, world, scope=None):
    """The arbiter's port on an empty queue, with the seed's agreements and
    both on-prem nodes tagged ``city=austin`` (one failure domain)."""
    from ksystui.arbiter.disaster import PlanContext
    from ksystui.arbiter.port import ArbiterPort
    from ksystui.core.actor import Actor
    from ksystui.store.queue import Queue
    from ksystui.store.queue_async import AsyncQueue

    from .conftest import tenant_infos

    queue = Queue.open(f"sqlite:///{tmp_path / 'q.db'}")
    port = ArbiterPort(AsyncQueue(queue), fleet, Actor("operator", "noc1", "console-1"),
                       {t.name: t.priority for t in world.tenants.values()}, scope=scope)
    port.plan_context = PlanContext(tuple(tenant_infos(world)),
                                    {"r7r3m116": {"city": "austin"}, "r7r3m108": {"city": "austin"}})
    return port


async def test_the_arbiter_plans_the_seed_disaster_customerB_does_not_fit_a_300_gb_snorlax(world, polled, tmp_path):
    """Acceptance, through the console: "the planner says which tenant does
    not fit and by how much"; scoped, no other tenant's name."""
    import pytest

    pytest.importorskip("ksystui.arbiter.disaster", reason="arbiter.disaster (PLANCLI) is not merged yet")
    sized(polled)
    app = console(world, polled, arbiter=real_port(tmp_path, polled, world))
    async with app.run_test(size=(200, 50)) as pilot:
        app.run_command("plan pbrazos,raichu")
        await until(pilot, lambda: showing(app, "plan") and len(rows(app)) == 2, timeout=20)
        by_tenant = {r[1]: r for r in rows(app)}
        assert "DOES NOT FIT short 180 GB on snorlax" == by_tenant["customerB"][2]
        assert by_tenant["customerA"][2].startswith("meets")  # 30m agreed, first in agreement order
        assert "snorlax: needs 480 GB, 30 CPU of 300 GB, 32 CPU: DOES NOT FIT, short 180 GB" in screen_text(app)
    scoped = console(world, polled, scope="customerB", arbiter=real_port(tmp_path, polled, world, "customerB"))
    async with scoped.run_test(size=(200, 50)) as pilot:
        scoped.run_command("plan city=austin")  # a failure domain both tenants are in
        await until(pilot, lambda: showing(scoped, "plan") and len(rows(scoped)) == 2, timeout=20)
        (other, own) = rows(scoped)
        assert other[1] == "another tenant" and own[1] == "customerB"
        assert own[2] == "DOES NOT FIT short 180 GB on snorlax"
        assert_clean(screen_text(scoped))
        # alone, customerB fits (the default: every production host in its scope fails)
        scoped.run_command("plan")
        await until(pilot, lambda: showing(scoped, "plan") and len(rows(scoped)) == 1
                    and rows(scoped)[0][2].startswith("meets"), timeout=20)


async def test_a_replayed_console_plans_from_the_snapshots_at_its_cursor(world, polled):
    """A replay's `:plan`: the disaster as it would have read at the cursor
    (the snapshots then, the queue's history then); a record without
    snapshots says it has nothing to plan from."""
    import pytest

    pytest.importorskip("ksystui.arbiter.disaster", reason="arbiter.disaster (PLANCLI) is not merged yet")
    from types import SimpleNamespace

    from ksystui.arbiter.replay import ReplayArbiter
    from tests.ui.conftest import FROZEN

    sized(polled)
    record = SimpleNamespace(at=FROZEN, scope=None, snapshots=dict(polled.snapshots),
                             operations=SimpleNamespace(at=lambda at: []))
    report = await ReplayArbiter(record).plan(["pbrazos", "raichu"])
    assert report.at == FROZEN
    # no agreements known to this record: whoever goes first takes snorlax, the other is short
    assert sorted(o.fits for o in report.plan.outcomes) == [False, True]
    bare = SimpleNamespace(at=FROZEN, scope=None, operations=SimpleNamespace(at=lambda at: []))
    with pytest.raises(Exception, match="not in a replay"):
        await ReplayArbiter(bare).plan()
