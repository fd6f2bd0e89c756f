"""Issue 15, deliverable 3: an output shape nobody described still raises the
typed error naming the line, and the rest of the node's snapshot is used."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ksystui.core.model import Flavour
from ksystui.core.snapshot import Freshness
from ksystui.fleet.monitor import NodeMonitor
from ksystui.transport.base import CommandResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr"


class ScriptedNode:
    """A transport answering each ksysmgr command with a fixture's text."""

    host_key_status = "verified"
    next_attempt_at = None

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    async def run(self, argv, *, timeout=None, input=None, check=True):
        text = self.answers.get(" ".join(argv[1:]), "")
        return CommandResult(tuple(argv), 0, text, "", 0.01)

    async def close(self) -> None:
        return None


async def test_one_unknown_shape_names_its_line_and_the_rest_is_used():
    answers = {
        "query vm": (FIXTURES / "vm/query-vm-backup.txt").read_text(),
        "query site": (FIXTURES / "site/variant-query-site-single-space-unindented.txt").read_text(),
        # a shape no version of the docs shows: a table where records belong
        "query workgroup": "WG NAME          STATE\n==============   =====\nvmrm_vm1_WG      READY\n",
        "query system": (FIXTURES / "system/variant-query-system-regions-list.txt").read_text(),
        "report system": (FIXTURES / "report/report-system.txt").read_text(),
    }
    monitor = NodeMonitor("n1", "t1", Flavour.POWERVS, ScriptedNode(answers), interval=10)
    snap = await monitor.poll_once()
    error = snap.sections["workgroup"].error or ""
    assert error.startswith("cannot read ksysmgr query workgroup: line 1: not a 'Key: value' line")
    assert snap.health.error_kind == "parse"
    now = datetime.now(UTC)
    assert snap.freshness(now) is Freshness.FRESH and snap.freshness(now, "vm") is Freshness.FRESH
    assert [v.name for v in snap.vms] == ["test_dh01_BackUp"]
    assert [s.name for s in snap.sites] == ["HomeSite", "TargetSite"]
    assert snap.system is not None and snap.system.regions == ("dal10", "wdc06", "lon04")
    assert snap.report is not None and dict(snap.report.counts)["Number of VMs"] == "34"


async def test_report_system_is_read_on_the_first_poll_then_rarely():
    from ksystui.fleet.monitor import REPORT_EVERY

    asked: list[str] = []
    node = ScriptedNode({"report system": (FIXTURES / "report/report-system.txt").read_text()})
    run = node.run

    async def counting(argv, **kw):
        asked.append(" ".join(argv[1:]))
        return await run(argv, **kw)

    node.run = counting
    monitor = NodeMonitor("n1", "t1", Flavour.ONPREM, node, interval=10)
    for _ in range(REPORT_EVERY + 1):
        snap = await monitor.poll_once()
    assert asked.count("report system") == 2  # poll 1 and poll REPORT_EVERY + 1
    assert asked.count("query vm") == REPORT_EVERY + 1
    assert snap.report is not None and snap.report.status is None
