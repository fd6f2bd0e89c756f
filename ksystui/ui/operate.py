"""Starting operations from the console: the confirmation that says exactly
what will run where, the question before cancelling, the written reason for
raising a request, and the queue view (Enter on a row: the operation's whole
story). Everything goes through the arbiter port the app was given."""

from __future__ import annotations

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ksystui.core.capacity import DOES_NOT_FIT
from ksystui.core.drills import DRILL_OPS
from ksystui.core.readouts import Preview
from ksystui.ui.messages import CancelRequested, OperationDetailRequested, RaiseRequested
from ksystui.ui.screens import ArbiterTableScreen
from ksystui.ui.widgets.virtual_table import Row, VirtualTable


def preview_text(p: Preview) -> Text:
    t = Text()
    planned = p.planned
    t.append(f"{p.label.upper()} for {planned.tenant}\n\n", style="bold")
    t.append("command   ", style="bold")
    t.append(f"{planned.command}\n")
    t.append("node      ", style="bold")
    t.append(f"{planned.node}\n")
    t.append("needs     ", style="bold")
    t.append((", ".join(planned.host_names) or "only its own node") + "\n")
    t.append("queue     ", style="bold")
    t.append(f"position {p.position}, agreement priority {p.priority}\n")
    for h in p.holders:
        t.append(f"          {h}\n", style="yellow" if "held by" in h else "green")
    _capacity_text(t, p)
    for w in p.warnings:
        t.append(f"\n! would be refused now: {w}", style="bold red")
    return t


def _capacity_text(t: Text, p: Preview) -> None:
    """The capacity verdict, one line per recovery host (they name no tenant):
    green when it fits, red DOES NOT FIT with what is short, yellow where a
    host's size is not reported (not checked)."""
    verdict = p.capacity
    if verdict is None or not verdict.lines:
        return
    t.append("capacity  ", style="bold")
    if verdict.fits:
        t.append("fits" + (" (some hosts not checked)" if verdict.unchecked else "") + "\n", style="bold green")
    else:
        short = "; ".join(f"{s.name} short {s.short.short_text()}" for s in verdict.shortfalls)
        t.append(f"{DOES_NOT_FIT}: {short}\n", style="bold red")
    for line in verdict.lines:
        style = "red" if DOES_NOT_FIT in line else ("yellow" if "not checked" in line else "green")
        t.append(f"          {line}\n", style=style)


class ConfirmScreen(ModalScreen[str | None]):
    """Enter confirms (returns "" or the typed name); Esc cancels (None). A
    DR test or a move can be queued and watched: "w" (or, where the tenant's
    name is typed, a name ending in " w") confirms it and sets ``and_watch``.

    A move or DR test that does not fit its recovery hosts is queued only
    with a written reason why it must run anyway: typed in the reason field,
    kept in ``capacity_reason`` for the submit (audited); Enter with the
    field empty queues nothing and says so."""

    BINDINGS = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 100; height: auto; max-height: 90%; border: thick $warning;
                               background: $surface; padding: 1 2; }
    ConfirmScreen Input { margin-top: 1; }
    """

    def __init__(self, preview: Preview):
        super().__init__()
        self.preview = preview
        self.and_watch = False  # confirmed with "w": open the live drill view once it is queued
        self.capacity_reason: str | None = None  # over capacity: why it must run anyway (for the submit)

    @property
    def watchable(self) -> bool:
        return self.preview.planned.op in DRILL_OPS

    @property
    def _asks(self) -> bool:
        """Confirmed in a field (a name, a reason), not with a key."""
        return self.preview.needs_typed_confirmation or self.preview.over_capacity

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(preview_text(self.preview), id="preview")
            if self.preview.over_capacity:
                yield Static("\nIt does not fit its recovery hosts: the boots that do not fit would fail. To queue "
                             "it anyway, write why it must run anyway (audited)"
                             + (", then type the tenant's name below" if self.preview.needs_typed_confirmation
                                else "") + ", and press Enter; Esc cancels.", id="capacity-help")
                yield Input(placeholder="why it must run anyway (audited)", id="capacity-reason")
            if self.preview.needs_typed_confirmation:
                watch = " (end with \" w\" to watch it live in the drill view)" if self.watchable else ""
                yield Static(f"\nThis is a disaster move. Type the tenant's name ({self.preview.planned.tenant}) "
                             f"and press Enter to queue it{watch}; Esc cancels.", id="typed-help")
                yield Input(placeholder="tenant name", id="typed")
            elif self.watchable:
                yield Static("\nEnter queues it through the arbiter · w queues it and watches it live (the drill "
                             "view); Esc cancels.", id="confirm-help")
            else:
                yield Static("\nEnter queues it through the arbiter; Esc cancels.", id="confirm-help")

    def on_mount(self) -> None:
        if self._asks:
            self.query(Input).first().focus()

    def key_enter(self, event: events.Key) -> None:
        if not self._asks:
            # Stop the key here: left to bubble, it reaches the app after the dismiss and
            # the app's Enter (drill down) would act on the view behind the dialog.
            event.stop()
            self.dismiss("")

    def key_w(self, event: events.Key) -> None:
        if self.watchable and not self._asks:
            event.stop()
            self.and_watch = True
            self.dismiss("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.preview.over_capacity:
            reason = self.query_one("#capacity-reason", Input).value.strip()
            if not reason:
                self.notify("it does not fit: write why it must run anyway (audited); nothing queued",
                            severity="warning")
                return
            self.capacity_reason = reason
            if not self.preview.needs_typed_confirmation:
                self.dismiss("")
                return
            if event.input.id == "capacity-reason":
                self.query_one("#typed", Input).focus()  # the reason is written: now the name
                return
        typed = self.query_one("#typed", Input).value.strip()
        if self.watchable and typed.endswith(" w"):
            typed, self.and_watch = typed[:-2].strip(), True
        if typed != self.preview.planned.tenant:
            self.and_watch = False
            self.notify("the name does not match: nothing queued", severity="warning")
            return
        self.dismiss(typed)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskScreen(ModalScreen[bool]):
    """A question before a dangerous action: Enter does it, Esc does not."""

    BINDINGS = [("escape", "no", "No")]
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 90; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    """

    def __init__(self, question: str, consequence: str):
        super().__init__()
        self.question = question
        self.consequence = consequence

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"), id="question")
            yield Static(f"\n{self.consequence}", id="consequence")

    def key_enter(self, event: events.Key) -> None:
        event.stop()  # not to the view behind the dialog (its Enter opens the row)
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class ReasonScreen(ModalScreen[str | None]):
    """A written reason, required (raising a request over others is audited)."""

    BINDINGS = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ReasonScreen { align: center middle; }
    ReasonScreen > Vertical { width: 90; height: auto; border: thick $accent; background: $surface; padding: 1 2; }
    """

    def __init__(self, prompt: str):
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.prompt)
            yield Input(placeholder="reason (recorded in the audit trail)", id="reason")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.notify("a written reason is required", severity="warning")
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class QueueScreen(ArbiterTableScreen):
    """Per shared host: what runs (elapsed, ETA) and what waits (position,
    priority, and why)."""

    view = "queue"
    poll_seconds = 1.0
    without_arbiter = "it watches, it queues nothing."

    @work(exclusive=True, group="queue-reload")
    async def reload(self) -> None:
        port, scope = self.arbiter, self.scope
        if port is None:
            return
        lines = await port.lines(scope)
        left = await port.rehearsals_left(scope)
        if not self.ready:  # switched away while reading: the table is gone
            return
        # set_rows, not keyed upserts: the lines come in queue order, and a raise reorders them
        self.table.set_rows(
            Row(line.id, (line.place, line.shown, line.host, line.tenant,
                          line.node, line.op, line.state, str(line.tier_priority), line.detail),
                style="alert" if line.state in ("in_doubt", "failed") else ("stale" if line.ended else None),
                data=line)
            for line in lines)
        note = "  Operations per shared recovery host, in the order they will run."
        if left:
            note += "\n  ! " + "\n  ! ".join(left)
        if not any(line.state in ("queued", "admitted", "running", "in_doubt") for line in lines):
            note += "\n  Nothing runs or waits now."
        self.note(note)

    def action_cancel_op(self) -> None:
        line = self.selected()
        if line is None or line.state != "queued":
            self.notify("select a queued operation", severity="warning")
            return
        where = f"position {line.position}" if line.position else line.state
        self.post_message(CancelRequested(line.id, line.shown, f"{line.tenant} {line.op} on {line.node} "
                                                               f"({where}): {line.command}"))

    def action_open(self) -> None:
        line = self.selected()
        if line is not None:
            self.post_message(OperationDetailRequested(line.id, line.shown))

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_open()

    def action_raise_op(self) -> None:
        line = self.selected()
        if line is None or line.state != "queued":
            self.notify("select a queued operation", severity="warning")
            return
        self.post_message(RaiseRequested(line.id, line.shown))
