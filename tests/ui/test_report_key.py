"""Issue 13.3: "a key in the operation detail" writes the operation's report
and says where. The arbiter here is a stand-in that hands the screen one
DR test (tests/core/test_report.py's); no browser (the PDF is printed in
tests/report/test_report_browser.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ksystui.ui.op_detail import OperationScreen
from tests.core.test_report import STREAM, detail

from .conftest import Console, local_fleet, tenant_infos, until


class OneOperation:
    """The part of the arbiter client the detail screen and the report read."""

    def __init__(self, op) -> None:
        self.op = op

    async def operation(self, op_id, scope=None):
        return self.op if op_id == 7 else None

    async def lines(self, scope=None):
        return []


async def test_e_in_the_operation_detail_writes_the_report_and_says_where(world, tmp_path, monkeypatch):
    monkeypatch.setenv("KSYSTUI_REPORT_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("KSYSTUI_BROWSER", str(tmp_path / "no-browser"))  # said, not hidden: "no PDF: …"
    tenants = [replace(t, rto=timedelta(minutes=30)) if t.name == "customerA" else t for t in tenant_infos(world)]
    drill = detail(state="failed", output=STREAM)
    app = Console(local_fleet(world), tenants, start_fleet=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(OperationScreen(OneOperation(drill), 7, "#7", None))
        await until(pilot, lambda: isinstance(app.screen, OperationScreen) and app.screen.detail is not None)
        await pilot.press("e")
        await until(pilot, lambda: app.noted("report written:"))
    [html] = (tmp_path / "reports").glob("customerA-DR-test-7-*.html")
    assert app.noted(f"report written: {html} (no PDF: ")
    page = html.read_text()
    assert "RTO missed" in page and "30m 00s" in page and "vm1" in page and "vm2" in page
    assert "customerB" not in page and "customerC" not in page
