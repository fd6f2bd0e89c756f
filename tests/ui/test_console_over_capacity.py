"""The console queues a move that does not fit only with the written
reason the confirmation took, and that reason reaches the queue (issue 14:
"unless an operator overrides with a written reason (audited). It is part
of the confirmation")."""

from __future__ import annotations

from ksystui.ui.operate import ConfirmScreen
from tests.waiting import eventually

from .conftest import console, screen_text, until
from .test_capacity_confirm import small_snorlax  # noqa: F401 (the fixture: snorlax at 300 GB, customerA queued)


async def test_a_reason_written_in_the_confirmation_queues_the_move_over_capacity_with_it(small_snorlax):  # noqa: F811
    world, fleet, queue, port = small_snorlax
    app = console(world, fleet, arbiter=port())
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("down", "m")  # customerB's planned move
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and "DOES NOT FIT" in screen_text(app))
        await pilot.press(*"CAB-1142 approved", "enter")
        await until(pilot, lambda: app.noted("queued"))

    async def overridden() -> bool:
        ops = {o.tenant: o for o in await queue.operations()}
        b = ops.get("customerB")
        return b is not None and b.capacity_override == "CAB-1142 approved"

    await eventually(overridden)
