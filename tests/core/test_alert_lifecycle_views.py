"""What the alerts view and the overview show of an alert's lifecycle: its
state (OPEN, ACKED, RESOLVED) and how each hook's notifications went."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ksystui.core.alerts import AlertRecord, notified_text
from ksystui.core.lifecycle import Op
from ksystui.core.viewdefs import VIEWS
from ksystui.core.views import alert_rows, open_alert_counts

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
OPEN = AlertRecord(1, "n1:1@", "customerA", "n1", "HOST_FAILURE", "1", "2026-11-30T08:00:00Z", None, "hostA",
                   Op.MOVE_UNPLANNED, AT, None, None, None)
ACKED = replace(OPEN, id=2, identity="n1:2@", acked_by="alice@noc1/c1", acked_at=AT, ack_reason="paging")
RESOLVED = replace(OPEN, id=3, identity="n2:3@", node="n2", resolved_at=AT, resolved_why="host hostA is Operating again",
                   notified=("chat ✓", "pager ✗ 8 tries: HTTP 500"))


def cell(row, key: str) -> str:
    keys = [c.key for c in VIEWS["alerts"].columns]
    return row.cells[keys.index(key)]


def test_the_alerts_view_shows_each_alert_s_state_and_whom_the_hooks_told():
    rows = {r.data.id: r for r in alert_rows([OPEN, ACKED, RESOLVED])}
    assert [cell(rows[i], "state") for i in (1, 2, 3)] == ["OPEN", "ACKED", "RESOLVED"]
    assert cell(rows[3], "notified") == "chat ✓, pager ✗ 8 tries: HTTP 500" and cell(rows[1], "notified") == "-"
    # only what still needs someone is drawn as an alert
    assert [rows[i].style for i in (1, 2, 3)] == ["alert", None, None]
    assert len(VIEWS["alerts"].columns) == len(rows[1].cells)


def test_the_overview_counts_only_alerts_nobody_acknowledged_that_did_not_resolve():
    assert open_alert_counts([OPEN, ACKED, RESOLVED]) == {"n1": 1}
    assert open_alert_counts([OPEN], scope="customerB") == {}


def test_one_hook_s_notifications_of_an_alert_in_a_few_characters():
    assert notified_text("pager", [("delivered", 2, "HTTP 202"), ("delivered", 1, "HTTP 202")]) == "pager ✓"
    assert notified_text("pager", [("delivered", 1, "HTTP 202"), ("pending", 1, "HTTP 500")]) == \
        "pager … 1 try: HTTP 500"
    assert notified_text("slack", [("gave_up", 3, "HTTP 500"), ("pending", 0, None)]) == "slack ✗ 3 tries: HTTP 500"
    assert notified_text("chat", [("pending", 0, None)]) == "chat …"
