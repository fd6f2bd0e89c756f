"""The ``:`` line as it keeps its word: Tab completes (to the one command
that fits, or to what every candidate shares, listing them; Tab again steps
through them), Up and Down walk the commands run before. The logic is the
core's (``core.completion``); this is the keys and the line of candidates."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from ksystui.core.completion import Completion, History, complete
from ksystui.ui.palette import CommandScreen


class CommandPrompt(CommandScreen):
    """``:`` with completion and history (a ``CommandScreen``: what waits
    for the command line finds it as before)."""

    DEFAULT_CSS = """
    CommandPrompt > #candidates { width: 100%; height: auto; max-height: 6; background: $surface;
                                  color: $text-muted; padding: 0 1; display: none; }
    CommandPrompt > #candidates.-shown { display: block; }
    """
    # Not priority bindings: those run as the key arrives, before the line has taken the keys
    # typed just ahead of it ("vm" then Tab in a real terminal completed "v", then added the "m").
    BINDINGS = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("up", "older", "Previous command", show=False),
        Binding("down", "newer", "Next command", show=False),
    ]

    def __init__(self, words: list[str], history: History | None = None):
        super().__init__(words)
        self.history = history if history is not None else History()
        self._last: Completion | None = None

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", id="candidates")

    @property
    def line(self) -> Input:
        return self.query_one("#command", Input)

    def _show(self, text: str) -> None:
        line = self.line
        line.value = text
        line.cursor_position = len(text)

    def _say(self, text: str) -> None:
        hint = self.query_one("#candidates", Static)
        hint.update(text)
        hint.set_class(bool(text), "-shown")

    def action_complete(self) -> None:
        done = complete(self.line.value, self.words, self._last)
        self._last = done
        self._show(done.text)
        if not done.candidates:
            self._say(f"no command starts with {done.text!r}")
        elif len(done.candidates) > 1:
            self._say("Tab: " + "  ".join(done.candidates))
        else:
            self._say("")

    def action_older(self) -> None:
        self._show(self.history.older(self.line.value))

    def action_newer(self) -> None:
        self._show(self.history.newer(self.line.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Textual then runs CommandScreen's own handler too, which closes the line with it
        self.history.add(event.value.strip().lstrip(":"))
