"""The `:plan` view as the operator sees it (new snapshots; regenerate with
``pytest --snapshot-update`` after a deliberate change and review the SVG
diff). The plan is a fake's (the seed with snorlax at 300 GB: customerB does
not fit), so the picture does not move with the planner's arithmetic."""

from __future__ import annotations

from tests.plan_fake import FakePlanner

from .conftest import screen_text, until
from .test_snapshots import app_for


def plan_app(**kw):
    return app_for(arbiter=FakePlanner(), **kw)


def open_plan(app, command: str = "plan pbrazos,raichu"):
    async def run(pilot):
        app.run_command(command)
        await until(pilot, lambda: getattr(app.screen, "view", None) == "plan" and app.screen.ready
                    and len(app.screen.table.visible_rows()) == 2 and "What if" in screen_text(app))

    return run


def test_plan_view(snap_compare):
    app = plan_app()
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_plan(app))


def test_scoped_plan_view(snap_compare):
    app = plan_app(scope="customerB")
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_plan(app, "plan"))
