"""`:audit` — who did what, when and why: the arbiter's hash-chained trail,
newest first, with whether the chain still holds; Enter shows a record
whole. Read through the arbiter port like the queue; a scoped console sees
its tenant's records only."""

from __future__ import annotations

from textual import work

from ksystui.ui.messages import AuditRecordRequested
from ksystui.ui.screens import ArbiterTableScreen
from ksystui.ui.widgets.virtual_table import Row, VirtualTable

# records that deserve a second look (a console acting on a hold it lost, an
# operator settling an operation in doubt) stand out; output lines recede
_ALERT = {"refused", "resolve", "rejudge"}  # what an operator should read: refusals, verdicts
_QUIET = {"progress"}
SHOWN = 500  # the newest records on screen; `ksystui audit export` has them all


class AuditScreen(ArbiterTableScreen):
    view = "audit"
    poll_seconds = 2.0
    without_arbiter = "there is no trail to show."
    _newest: int | None = None  # the newest record when the chain was last verified

    @work(exclusive=True, group="audit-reload")
    async def reload(self) -> None:
        port, scope = self.arbiter, self.scope
        if port is None:
            return
        lines = await port.audit(scope, SHOWN)
        if not self.ready:  # switched away while reading: the table is gone
            return
        self.table.set_rows(
            Row(line.seq, (line.shown_seq, line.at, line.actor, line.action, line.shown_operation, line.tenant,
                           line.node, line.what),
                style="alert" if line.action in _ALERT else ("stale" if line.action in _QUIET else None),
                data=line)
            for line in lines)
        newest = lines[0].seq if lines else 0
        if newest != self._newest:  # verify again only when the trail grew (it reads every record)
            self._newest = newest
            status = await port.audit_status(scope)
            if not self.ready:
                return
            shown = f"the newest {len(lines)} records" if len(lines) >= SHOWN else (
                "1 record" if len(lines) == 1 else f"{len(lines)} records")
            self.note(
                f"  Who did what, newest first ({shown}). {status[0].upper()}{status[1:]}.")

    def action_open(self) -> None:
        line = self.selected()
        if line is not None:
            self.post_message(AuditRecordRequested(line.seq, line.shown_seq))

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_open()
