"""Quitting without surprise: ``q`` exits at once, unless operations run in
this process (the console's own dispatcher, or the demo's provider service,
which stops with it). Then the console says it will exit as soon as they
finish, and does; a second ``q`` (or Ctrl-C) leaves them to another
dispatcher or to crash recovery, and says that. Whatever it says as it goes
is printed once the terminal is the shell's again."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from textual import work
from textual.app import App

from ksystui.core.readouts import QueueLine
from ksystui.ui.ports import ArbiterClient

QUIT_POLL_SECONDS = 0.5  # how often a quitting console looks whether its operations ended
OTHERS = "another tenant's"  # the tenant of an operation a scoped console may not name


def _name(line: QueueLine) -> str:
    return "another tenant's operation" if line.tenant == OTHERS else f"{line.shown} {line.tenant} {line.op}"


def _named(lines: Sequence[QueueLine]) -> str:
    return ", ".join(_name(line) for line in lines)


class QuitDesk(App[None]):
    """How the control room quits (a base of ``ControlRoomApp``, which sets
    ``arbiter`` and ``scope``)."""

    arbiter: ArbiterClient | None
    # quitting: None, or the operations running in this process that the console waits for
    _quitting: tuple[QueueLine, ...] | None = None
    farewell: str | None = None  # what the console says as it exits (printed after it)

    @property
    def scope(self) -> str | None:
        raise NotImplementedError

    async def action_quit(self) -> None:
        """``q``: exit now, or, while operations run in this process, as soon
        as they finish, saying so. A second ``q`` (or Ctrl-C) leaves them,
        saying that."""
        if self._quitting is not None:
            self._leave_now()
            return
        self._quitting = ()
        self._quit_when_done()

    def action_help_quit(self) -> None:
        """Ctrl-C: quit as ``q`` does (the second leaves at once)."""
        self.run_worker(self.action_quit(), group="quit-key")

    async def _running_here(self) -> list[QueueLine]:
        running_here = getattr(self.arbiter, "running_here", None)  # a watch-only console runs nothing
        if running_here is None:
            return []
        try:
            return list(await running_here(self.scope))
        except Exception as exc:  # the database went away: nothing can be waited for
            self.notify(f"cannot tell what still runs: {exc}", severity="warning")
            return []

    @work(group="quit", exclusive=True)
    async def _quit_when_done(self) -> None:
        running = await self._running_here()
        if not running:
            self.exit()
            return
        self._quitting = tuple(running)
        one = len(running) == 1
        self.notify(f"Quitting as soon as {_named(running)} {'finishes' if one else 'finish'} (running in "
                    f"this console). Press q again (or Ctrl-C) to leave {'it' if one else 'them'} to another "
                    "dispatcher or crash recovery.", title="Quitting", severity="warning", timeout=24 * 3600)
        while running:
            await asyncio.sleep(QUIT_POLL_SECONDS)
            running = await self._running_here()
            known = {line.id for line in self._quitting}  # started here meanwhile: waited for too
            self._quitting += tuple(line for line in running if line.id not in known)
        ended = [await self._ended(line) for line in self._quitting]
        self._exit_saying(f"ksystui: {'; '.join(ended)}: the console closed once "
                          f"{'it' if len(ended) == 1 else 'they'} ended")

    async def _ended(self, line: QueueLine) -> str:
        operation = getattr(self.arbiter, "operation", None)
        detail = None
        if operation is not None and line.tenant != OTHERS:
            try:
                detail = await operation(line.id, self.scope)
            except Exception:  # said as "ended": the database went away meanwhile
                detail = None
        return f"{_name(line)} {detail.line.state if detail is not None else 'ended'}"

    def _leave_now(self) -> None:
        running = self._quitting or ()
        if not running:
            self.exit()
            return
        self._exit_saying(
            f"ksystui: left {_named(running)} running: another dispatcher (a provider service standing by) or "
            "crash recovery at the next start judges it from its node (`ksystui queue` shows it)")

    def _exit_saying(self, farewell: str) -> None:
        self.farewell = farewell
        self.exit(message=farewell)
