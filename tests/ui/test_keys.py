"""Keys that keep their word (issue 11, "Keys that surprise"): every
dangerous action asks first, the selection survives a view switch, `q`
waits for this console's running operations and says so (a second `q` or
Ctrl-C leaves them, saying that), `:` completes on Tab and remembers, and
Enter on a queue or audit row shows the whole of it. Driven by keys, as an
operator drives the console; every step waits for what the operator sees."""

from __future__ import annotations

import asyncio
import re

from textual.screen import ModalScreen
from textual.widgets import Input

from ksystui.core.lifecycle import Op
from ksystui.ui.audit_screen import AuditScreen
from ksystui.ui.command_prompt import CommandPrompt
from ksystui.ui.op_detail import OperationScreen
from ksystui.ui.operate import AskScreen, ConfirmScreen, QueueScreen, ReasonScreen
from ksystui.ui.screens import DetailScreen, TableScreen
from tests.waiting import eventually

from .conftest import console, press_until, screen_text, showing, until
from .test_operate import _state, armed, confirming  # noqa: F401 - the fixture, shared

TIME = re.compile(r"\d\d:\d\d:\d\d")


def cursor_tenant(app) -> str | None:
    row = app.screen.table.cursor_row if isinstance(app.screen, TableScreen) and app.screen.ready else None
    return row.data.tenant if row is not None else None


def queue_ready(app, rows: int = 1) -> bool:
    return isinstance(app.screen, QueueScreen) and app.screen.ready and app.screen.table.row_count >= rows \
        and app.screen.table.cursor_row is not None


# the ways an action may ask first: every operation key opens the confirmation (its exact command,
# and the tenant's name typed for a disaster move: tests/ui/test_operate.py), cancel asks yes or no,
# raising asks for a written reason, acting on an alert opens the confirmation pre-filled
ASKS_FIRST = {"operate": ConfirmScreen, "cancel_op": AskScreen, "raise_op": ReasonScreen,
              "recover_alert": ConfirmScreen}


async def test_every_dangerous_action_asks_first_cancel_included(world, armed):  # noqa: F811
    """Quote: "`x` in the queue view cancels at once although help marks it
    as asking first". Every action the registry marks dangerous asks first,
    and Esc there changes nothing."""
    fleet, queue, _, port = armed
    await port.submit(await port.preview("r7r3m108", Op.VERIFY))  # customerB's verify waits in the queue
    app = console(world, fleet, arbiter=port)
    dangerous = [a for a in app.actions if a.dangerous]
    assert {a.method.partition("(")[0] for a in dangerous} <= set(ASKS_FIRST)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: showing(app, "overview") and app.screen.selected() is not None)
        for key in ("v", "6", "x", "p"):  # an operation, then the queue's two
            if key == "6":
                await press_until(pilot, lambda: queue_ready(app), "6")
                continue
            await press_until(pilot, lambda: isinstance(app.screen, ModalScreen), key)
            method = app._action_by_id[next(a.id for a in dangerous if a.key == key)].method.partition("(")[0]
            assert isinstance(app.screen, ASKS_FIRST[method]), (key, app.screen)
            await press_until(pilot, lambda: not isinstance(app.screen, ModalScreen), "escape")
        await until(pilot, lambda: app.noted("nothing cancelled: #1 stays queued"))
        (op,) = await queue.operations()
        assert op.state.value == "queued" and not op.raised  # Esc, each time: nothing happened
        await press_until(pilot, lambda: isinstance(app.screen, AskScreen), "x")
        assert "Cancel #1? customerB verify on r7r3m108" in screen_text(app)
        await pilot.press("enter")
        await eventually(lambda: _state(queue, 1, "cancelled"))


async def test_the_selection_stays_on_its_tenant_and_vm_across_views(world, armed):  # noqa: F811
    """Quote: "switching views (`6` then `0`) jumps the cursor back to the
    first tenant, so the next `m` would act on another tenant than the one
    just selected"."""
    fleet, _, _, port = armed
    app = console(world, fleet, arbiter=port)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: cursor_tenant(app) == "customerA")
        await press_until(pilot, lambda: cursor_tenant(app) == "customerB", "down")
        await press_until(pilot, lambda: isinstance(app.screen, QueueScreen), "6")
        await press_until(pilot, lambda: showing(app, "overview") and cursor_tenant(app) == "customerB", "0")
        await press_until(pilot, lambda: confirming(app), "m")
        assert "PLANNED MOVE for customerB" in screen_text(app)
        await press_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "escape")
        # a VM: the VMs view opens on the selected tenant's, and finds the same VM again
        await press_until(pilot, lambda: showing(app, "vms") and cursor_tenant(app) == "customerB", "1")
        first = app.screen.table.cursor_key
        await press_until(pilot, lambda: app.screen.table.cursor_key != first, "down")
        chosen = app.screen.table.cursor_key
        assert chosen[2].startswith("cB_")
        await press_until(pilot, lambda: showing(app, "overview") and cursor_tenant(app) == "customerB", "0")
        await press_until(pilot, lambda: showing(app, "vms") and app.screen.table.cursor_key == chosen, "1")


async def _running_verify(app, pilot, queue, port, dispatcher, world):
    """customerA's verify, confirmed and running in this console's dispatcher (slowly)."""
    world.speed = 1  # ~17 s: surely still running when q is pressed
    await port.submit(await port.preview("r7r3m116", Op.VERIFY))
    run = asyncio.create_task(dispatcher.run())
    # the dispatcher reads the node afresh before it starts the verify: under a loaded suite (4 workers on
    # 2 cores) that once took longer than 10 s; a wider bound costs a passing run nothing
    await eventually(lambda: _state(queue, 1, "running"), timeout=30)
    return run


async def test_q_exits_as_soon_as_this_consoles_running_operation_finishes(world, armed):  # noqa: F811
    """Quote: "`q` while this console runs an operation printed "waiting for
    1 running operation(s)" and was still hanging two minutes after the
    operation finished"."""
    fleet, queue, dispatcher, port = armed
    app = console(world, fleet, arbiter=port)
    async with app.run_test(size=(160, 45)) as pilot:
        run = await _running_verify(app, pilot, queue, port, dispatcher, world)
        await press_until(pilot, lambda: app.noted("Quitting as soon as #1 customerA verify finishes"), "q")
        assert app.is_running and app.noted("Press q again (or Ctrl-C) to leave it")
        world.speed = 1000  # the verify ends now
        await until(pilot, lambda: not app.is_running, timeout=20)
    assert app.farewell == "ksystui: #1 customerA verify succeeded: the console closed once it ended"
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)


async def test_a_second_q_or_ctrl_c_leaves_the_running_operation_and_says_so(world, armed):  # noqa: F811
    fleet, queue, dispatcher, port = armed
    for second in ("q", "ctrl+c"):
        app = console(world, fleet, arbiter=port)
        async with app.run_test(size=(160, 45)) as pilot:
            if second == "q":
                run = await _running_verify(app, pilot, queue, port, dispatcher, world)
            await press_until(pilot, lambda a=app: a.noted("Quitting as soon as #1"), "q")
            await pilot.press(second)
            await until(pilot, lambda a=app: not a.is_running)
        assert app.farewell.startswith("ksystui: left #1 customerA verify running: another dispatcher")
        assert "crash recovery" in app.farewell
    assert (await queue.get(1)).state.value == "running"
    world.speed = 1000
    await eventually(lambda: _state(queue, 1, "succeeded"), 20)
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)


async def test_tab_completes_and_up_down_walk_the_command_history(world, polled):
    """Quote: "Tab does not complete in `:` (the prompt says it does); no `:` history"."""
    app = console(world, polled)
    async with app.run_test(size=(120, 40)) as pilot:
        def line() -> Input | None:
            return app.screen.query_one(Input) if isinstance(app.screen, CommandPrompt) else None

        await press_until(pilot, lambda: line() is not None, "colon")
        await press_until(pilot, lambda: line().value == "replication", *"rep", "tab")
        await press_until(pilot, lambda: showing(app, "replication"), "enter")
        await press_until(pilot, lambda: line() is not None, "colon")
        await press_until(pilot, lambda: line().value == "theme ", *"th", "tab")
        assert "theme dark  theme light  theme high-contrast" in screen_text(app)  # the candidates
        await press_until(pilot, lambda: line().value == "theme dark", "tab")
        await press_until(pilot, lambda: line().value == "theme light", "tab")
        await press_until(pilot, lambda: line() is None and app.theme_name == "light", "enter")
        await press_until(pilot, lambda: line() is not None, "colon")
        for key, shown in (("up", "theme light"), ("up", "replication"), ("up", "replication"),
                           ("down", "theme light"), ("down", "")):
            await press_until(pilot, lambda s=shown: line().value == s, key)
        await press_until(pilot, lambda: line().value == "replication", "up", "up")
        await press_until(pilot, lambda: line() is None, "escape")


async def test_enter_on_a_queue_row_shows_the_operation_and_on_an_audit_row_the_whole_record(world, armed):  # noqa: F811
    """Quote: "Enter on a queue or audit row does nothing (help says drill
    down), so an operation's output cannot be read"."""
    fleet, queue, dispatcher, port = armed
    await port.submit(await port.preview("r7r3m116", Op.VERIFY))
    run = asyncio.create_task(dispatcher.run())
    await eventually(lambda: _state(queue, 1, "succeeded"), 20)
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    output = await queue.progress(1)
    note = "shift handover: " + "the storage team is on site until 06:00, ask before any move " * 3
    await queue.record(port.actor, "note", tenant="customerA", detail={"text": note.strip()})
    app = console(world, fleet, arbiter=port)
    async with app.run_test(size=(160, 45)) as pilot:
        await press_until(pilot, lambda: queue_ready(app), "6")
        await press_until(pilot, lambda: isinstance(app.screen, OperationScreen) and app.screen.detail is not None,
                          "enter")
        text = screen_text(app)
        assert "VERIFY #1 for customerA: succeeded" in text
        assert "command     ksysmgr -t verify site customerA" in text and "exit code   0" in text
        assert f"Output ({len(output)} lines)" in text and len(output) > 2
        for out in output:  # every line, each with its time
            assert re.search(rf"{TIME.pattern}  {re.escape(out)}", text), out
        assert "Operation #1" in text  # the breadcrumb
        for action in ("submit", "admit", "start", "finish"):
            assert re.search(rf"{TIME.pattern}  \[\d+\] {action}\b", text), action
        await press_until(pilot, lambda: queue_ready(app), "escape")
        await press_until(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.ready
                          and app.screen.table.cursor_row is not None, "7")
        assert "…" in screen_text(app)  # the note, cut short in its row
        await press_until(pilot, lambda: isinstance(app.screen, DetailScreen), "enter")
        text = screen_text(app)
        assert note.strip() in text and "action:" in text and "note" in text and "hash:" in text


def test_help_says_enter_opens_a_queue_or_audit_row():
    from ksystui.ui.actions import ACTIONS, help_rows

    for view in ("queue", "audit"):
        assert ("Enter", "Drill down", "") in help_rows(ACTIONS, view, readonly=False), view


async def test_a_scoped_console_reads_only_its_tenants_operation_and_no_global_place(world, armed):  # noqa: F811
    from ksystui.arbiter.port import ArbiterPort

    fleet, queue, _, port = armed
    await port.submit(await port.preview("r7r3m116", Op.VERIFY))  # customerA: #1
    await port.submit(await port.preview("r7r3m108", Op.VERIFY))  # customerB: #2, its own #1
    scoped = ArbiterPort(queue, fleet, port.actor, port.priorities, scope="customerB")
    assert await scoped.operation(1) is None and await scoped.audit_record(1) is None  # customerA's
    mine = await scoped.operation(2)
    assert mine.line.shown == "#1" and mine.command == "ksysmgr -t verify site customerB"
    (submitted,) = mine.audit
    assert submitted.shown_seq == "" and submitted.hash == "" and submitted.shown_operation == "#1"
    assert not any(k in ("arrival", "fence") for k, _ in submitted.detail)
    whole = await scoped.audit_record(submitted.seq)
    assert whole is not None and "seq" not in dict(whole.pairs()) and "hash" not in dict(whole.pairs())
    assert (await port.audit_record(submitted.seq)).shown_seq == str(submitted.seq)  # the provider's console
