"""The two ways to type at the console: the ``:`` command line (with
completion) and the command palette (ctrl+p), which offers every ``:``
command and every action that acts in the view on screen. An action chosen
in the palette runs through the same guard as its key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol, cast

from textual.app import ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input

from ksystui.ui.actions import Action, display_key


class CommandHost(Protocol):
    """What the palette needs of the app it runs in."""

    def command_words(self) -> list[str]: ...

    def run_command(self, text: str) -> None: ...

    def palette_actions(self, view: str) -> Sequence[Action]: ...

    async def action_guarded(self, action_id: str, deferred: bool = False) -> None: ...


class CommandScreen(ModalScreen[str | None]):
    """``:`` — a k9s-style command line with completion."""

    DEFAULT_CSS = """
    CommandScreen { align: left bottom; background: transparent; }
    CommandScreen > Input { width: 100%; border: tall $accent; }
    """
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, words: list[str]):
        super().__init__()
        self.words = words

    def compose(self) -> ComposeResult:
        yield Input(placeholder=":vms  :events  :tenant NAME  :scope …  (Tab completes)", id="command",
                    suggester=SuggestFromList(self.words, case_sensitive=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip().lstrip(":"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConsoleCommands(Provider):
    """The command palette: every ``:`` command in scope, and the actions of
    the view it was opened on (by their description, with their key)."""

    def _entries(self) -> list[tuple[str, Callable[[], object], str]]:
        host = cast(CommandHost, self.app)
        out: list[tuple[str, Callable[[], object], str]] = [
            (f":{w}", partial(host.run_command, w), f"Run :{w}") for w in host.command_words()]
        view = getattr(self.screen, "view", "detail")
        for a in host.palette_actions(view):
            out.append((a.description, partial(host.action_guarded, a.id), f"key {display_key(a.key)}"))
        return out

    async def discover(self) -> Hits:
        for name, run, help_text in self._entries():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, run, help_text in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)
