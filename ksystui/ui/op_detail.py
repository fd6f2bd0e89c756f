"""Enter on a queue row: the operation's whole story. Its full ksysmgr
command, where it runs and what it needs, when it was submitted, admitted,
started and finished, every output line with its time, the exit code and
the outcome, and its audit records, each whole. Read through the arbiter
port, again every second while the operation can still change. ``e`` writes
its report (HTML, and PDF when Chromium is there) and says where."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Static

from ksystui.core.op_detail import OperationDetail
from ksystui.core.report import foreign_names
from ksystui.core.tenants import TenantInfo
from ksystui.report.files import report_dir, save_report
from ksystui.report.gather import gather_report
from ksystui.ui.ports import ArbiterClient
from ksystui.ui.screens import BaseScreen

_LABEL = 12


def _field(t: Text, label: str, value: str) -> None:
    t.append(f"{label:<{_LABEL}}", style="bold")
    t.append(f"{value}\n")


def operation_text(d: OperationDetail) -> Text:
    line = d.line
    t = Text()
    t.append(f"{line.op.upper()} {line.shown} for {line.tenant}: {line.state}\n\n", style="bold")
    _field(t, "command", d.command)
    _field(t, "node", line.node)
    if d.site or d.to_site:
        _field(t, "site", f"{d.site or '-'}" + (f" → {d.to_site}" if d.to_site else ""))
    _field(t, "needs", ", ".join(d.host_names) or "only its own node")
    _field(t, "state", f"{line.state}" + (f" ({line.detail})" if line.detail else ""))
    _field(t, "submitted", f"{d.submitted_at} by {d.submitted_by}")
    _field(t, "admitted", d.admitted_at)
    _field(t, "started", d.started_at)
    _field(t, "finished", d.finished_at)
    _field(t, "exit code", "-" if d.rc is None else str(d.rc))
    _field(t, "outcome", d.outcome or "-")
    if d.raise_reason:
        _field(t, "raised", d.raise_reason)
    t.append(f"\nOutput ({len(d.output)} line{'' if len(d.output) == 1 else 's'})\n", style="bold")
    if not d.output:
        t.append("  nothing yet\n" if d.active else "  none\n", style="dim")
    for out in d.output:
        t.append(f"  {out.at}  ", style="dim")
        t.append(f"{out.text}\n")
    t.append(f"\nAudit records ({len(d.audit)})\n", style="bold")
    for rec in d.audit:
        t.append(f"  {rec.at}  ", style="dim")
        if rec.shown_seq:
            t.append(f"[{rec.shown_seq}] ", style="dim")
        t.append(f"{rec.action:<10} ", style="bold")
        t.append(f"{rec.actor}  {rec.summary()}\n")
    return t


class OperationScreen(BaseScreen):
    """One operation, whole (a detail: only the global keys act here)."""

    view = "detail"
    REFRESH_SECONDS = 1.0
    BINDINGS = [Binding("e", "report", "Write report")]

    def __init__(self, arbiter: ArbiterClient, op_id: int, shown: str, scope: str | None):
        super().__init__()
        self.arbiter = arbiter
        self.op_id = op_id
        self.shown = shown
        self.scope = scope
        self.detail: OperationDetail | None = None
        self._timer: Timer | None = None

    def crumb(self) -> str:
        return f"Operation {self.shown}"

    def compose(self) -> ComposeResult:
        yield from self.compose_frame()
        with VerticalScroll(id="detail"):
            yield Static("reading the operation…", id="operation")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self._timer = self.set_interval(self.REFRESH_SECONDS, self.reload)

    @work(exclusive=True, group="operation-reload")
    async def reload(self) -> None:
        detail = await self.arbiter.operation(self.op_id, self.scope)
        if not self.is_mounted:
            return
        body = self.query_one("#operation", Static)
        if detail is None:
            body.update(f"Operation {self.shown} is not there (or not this console's to show).")
            return
        self.detail = detail
        body.update(operation_text(detail))
        if not detail.active and self._timer is not None:
            self._timer.stop()  # it ended: nothing more will change
            self._timer = None

    def action_report(self) -> None:
        self.write_report()

    @work(exclusive=True, group="operation-report")
    async def write_report(self) -> None:
        """The operation's report, filed where the notification says."""
        self.notify(f"writing the report of operation {self.shown}…", timeout=3)
        tenants: list[TenantInfo] = list(getattr(self.app, "tenants", ()))
        detail = self.detail or await self.arbiter.operation(self.op_id, self.scope)
        mine = next((t for t in tenants if detail is not None and t.name == detail.line.tenant), None)
        fleet = getattr(self.app, "fleet", None)  # the snapshots this console reads
        snapshots = list(getattr(fleet, "snapshots", {}).values())
        others = foreign_names(detail.line.tenant, [(t.name, t.nodes) for t in tenants], snapshots) \
            if detail is not None else []
        report = await gather_report(self.arbiter, self.op_id, scope=self.scope,
                                     agreed_rto=mine.rto if mine else None, agreed_rpo=mine.rpo if mine else None,
                                     foreign_names=others)
        if report is None:
            self.notify(f"Operation {self.shown} is not there (or not this console's to report).", severity="error")
            return
        where = report_dir()
        try:
            saved = await save_report(report, where)
        except OSError as exc:
            self.notify(f"the report could not be written to {where}: {exc.strerror or exc}", severity="error",
                        timeout=15)
            return
        self.notify(saved.message, title=f"Report of {report.operation} {report.ref}", timeout=20)
