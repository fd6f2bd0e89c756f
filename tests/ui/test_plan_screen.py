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
