"""The confirmation of a move or DR test says whether it fits its recovery
hosts: green when it does; red DOES NOT FIT with what is short when it does
not, and then it is queued only with a written reason why it must run
anyway (audited); Enter with no reason queues nothing and says so. A scoped
console's verdict names no other tenant."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input

from ksystui.arbiter.dispatcher import Dispatcher
from ksystui.arbiter.port import ArbiterPort
from ksystui.core.capacity import CapacityVerdict, Shortfall, Size
from ksystui.core.lifecycle import Op
from ksystui.core.operations import PlannedOp
from ksystui.core.readouts import Preview
from ksystui.store.audit_log import current_actor
from ksystui.store.queue import Queue
from ksystui.store.queue_async import AsyncQueue
from ksystui.ui.operate import ConfirmScreen, preview_text
from tests.sim.capacity_scenarios import ONLY_ONE_FITS_GB, world_with
from tests.waiting import eventually

from .conftest import console, local_fleet, screen_text, until

SHORT = Shortfall("u-snorlax", "snorlax", Size(200, 12.5), Size(20, 14.5), Size(300, 32))
NO_FIT = CapacityVerdict(False, ("snorlax: needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of 300 GB, 32 CPU "
                                 "(280 GB, 17.5 CPU in use or queued): DOES NOT FIT, short 180 GB",), (SHORT,))
FITS = CapacityVerdict(True, ("snorlax: needs 200 GB, 12.5 CPU; 232 GB, 14.5 CPU free of 512 GB, 32 CPU "
                              "(280 GB, 17.5 CPU in use or queued): fits",))


def preview(op: Op, verdict: CapacityVerdict | None) -> Preview:
    planned = PlannedOp(op, "r7r3m108", "customerB", ("ksysmgr", "-t", "move", "site", "from=customerB",
                                                      "to=service_provider"),
                        "customerB", "service_provider", ("u-snorlax",), ("snorlax",))
    return Preview(planned, "planned move", 2, 1, (), (), op is Op.MOVE_UNPLANNED, capacity=verdict)


class Host(App[None]):
    """Just the confirmation, and what it was dismissed with."""

    def __init__(self, p: Preview):
        super().__init__()
        self.p = p
        self.notes: list[str] = []
        self.result: list[str | None] = []
        self.confirm = ConfirmScreen(p)

    def on_mount(self) -> None:
        self.push_screen(self.confirm, self.result.append)

    def notify(self, message, **kw) -> None:
        self.notes.append(str(message))
        super().notify(message, **kw)


def test_the_verdict_is_green_when_it_fits_and_red_with_the_shortfall_when_not():
    fits = preview_text(preview(Op.MOVE_PLANNED, FITS))
    assert "capacity  fits" in fits.plain and "free of 512 GB, 32 CPU" in fits.plain
    assert any(span.style == "bold green" for span in fits.spans)
    short = preview_text(preview(Op.MOVE_PLANNED, NO_FIT))
    assert "capacity  DOES NOT FIT: snorlax short 180 GB" in short.plain
    assert "20 GB, 14.5 CPU free of 300 GB, 32 CPU" in short.plain
    assert any(span.style == "bold red" for span in short.spans)
    assert "capacity" not in preview_text(preview(Op.VERIFY, None)).plain


async def test_it_fits_enter_queues_it_without_a_reason():
    app = Host(preview(Op.MOVE_PLANNED, FITS))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert not app.screen.query("#capacity-reason")
        await pilot.press("enter")
        await until(pilot, lambda: app.result == [""])
        assert app.confirm.capacity_reason is None


async def test_over_capacity_an_empty_reason_queues_nothing_and_says_so_a_written_one_confirms():
    app = Host(preview(Op.MOVE_PLANNED, NO_FIT))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "DOES NOT FIT: snorlax short 180 GB" in text and "why it must run anyway (audited)" in text
        await pilot.press("enter", "w")  # neither Enter nor "w" confirms without the reason
        await until(pilot, lambda: any("write why it must run anyway" in n for n in app.notes))
        assert app.result == [] and isinstance(app.screen, ConfirmScreen)
        await pilot.press("backspace", *"CAB-1142 approved", "enter")
        await until(pilot, lambda: app.result == [""])
        assert app.confirm.capacity_reason == "CAB-1142 approved" and not app.confirm.and_watch


async def test_an_unplanned_move_over_capacity_takes_the_reason_and_the_name():
    app = Host(preview(Op.MOVE_UNPLANNED, NO_FIT))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused is app.screen.query_one("#capacity-reason", Input)
        await pilot.press(*"site lost, half memory accepted", "enter")
        await until(pilot, lambda: app.screen.focused is app.screen.query_one("#typed", Input))
        assert app.result == []
        await pilot.press(*"customerB", "enter")
        await until(pilot, lambda: app.result == ["customerB"])
        assert app.confirm.capacity_reason == "site lost, half memory accepted"


@pytest.fixture
async def small_snorlax(tmp_path):
    """A console on the seed with snorlax at 300 GB, customerA's move queued."""
    world = world_with(snorlax_memory_gb=ONLY_ONE_FITS_GB, speed=200.0)  # the UI tests' usual speed
    fleet = local_fleet(world)
    await fleet.refresh_all()
    queue = AsyncQueue(Queue.open(f"sqlite:///{tmp_path}/q.db"))
    actor = current_actor("ui-test")
    transports = {n: m.transport for n, m in fleet.monitors.items()}
    priorities = {t.name: t.priority for t in world.tenants.values()}
    dispatcher = Dispatcher(queue, fleet, transports, actor, tick=0.1)
    first = await ArbiterPort(queue, fleet, actor, priorities).preview("r7r3m116", Op.MOVE_PLANNED)
    await ArbiterPort(queue, fleet, actor, priorities).submit(first)
    yield world, fleet, queue, lambda scope=None: ArbiterPort(queue, fleet, actor, priorities, dispatcher, scope=scope)
    await dispatcher.stop()
    await fleet.stop()
    await queue.close()


@pytest.mark.parametrize("scope", [None, "customerB"])
async def test_the_console_shows_the_second_move_does_not_fit_and_queues_nothing_without_a_reason(
        small_snorlax, scope):
    world, fleet, queue, port = small_snorlax
    app = console(world, fleet, arbiter=port(scope), scope=scope)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press(*(["down"] if scope is None else []), "m")  # customerB's planned move
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and "ksysmgr" in screen_text(app))
        text = screen_text(app)
        assert "PLANNED MOVE for customerB" in text
        assert "DOES NOT FIT: snorlax short 180 GB" in text and "20 GB, 14.5 CPU free of 300 GB, 32 CPU" in text
        if scope is not None:
            assert "customerA" not in text and "r7r3m116" not in text
        await pilot.press("enter")
        await until(pilot, lambda: app.noted("write why it must run anyway"))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await eventually(lambda: _only_customerA(queue))


async def _only_customerA(queue) -> bool:
    return [o.tenant for o in await queue.operations()] == ["customerA"]
