"""`ksystui report` without a browser or a node: scope, unknown operations,
formats, and a missing or hanging browser said in one sentence."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ksystui.report import BrowserFailed, BrowserMissing, html_to_pdf
from ksystui.report.browser import BROWSER_ENV
from tests.cli.conftest import ksystui
from tests.waiting import eventually


def test_another_tenants_operation_is_no_operation_and_an_unknown_one_neither(quiet):
    quiet.seed(("customerA", "nodeA"), ("customerB", "nodeB"))
    for args in (["2", "--tenant", "customerA"], ["99"]):
        run = ksystui("report", *args, "--config", str(quiet.config))
        assert run.rc == 2 and "no such operation" in run.err and "Traceback" not in run.err, run
        assert "customerB" not in run.out + run.err


def test_a_queued_operation_reports_what_is_not_measured_yet_in_html_and_json(quiet, tmp_path):
    quiet.seed(("customerA", "nodeA"), ("customerB", "nodeB"))
    run = ksystui("report", "1", "--config", str(quiet.config))
    assert run.rc == 0 and run.out.startswith("<!DOCTYPE html>") and "never started" in run.out, run
    assert "customerB" not in run.out and "nodeB" not in run.out
    out = tmp_path / "r.json"  # the format from the file's suffix
    run = ksystui("report", "1", "-o", str(out), "--tenant", "customerA", "--config", str(quiet.config))
    assert run.rc == 0 and f"written to {out}" in run.out, run
    data = json.loads(out.read_text())
    assert data["state"] == "queued" and data["measured_rto_seconds"] is None and data["scoped"] is True
    assert data["anchor"].startswith("hmac-sha256:")  # a tenant's report carries the anchor all the same


def test_a_pdf_without_a_browser_is_one_sentence(quiet, tmp_path, monkeypatch):
    quiet.seed(("customerA", "nodeA"))
    monkeypatch.setenv(BROWSER_ENV, str(tmp_path / "no-chromium"))
    run = ksystui("report", "1", "--format", "pdf", "-o", str(tmp_path / "r.pdf"), "--config", str(quiet.config))
    assert run.rc == 1 and "Traceback" not in run.err and not (tmp_path / "r.pdf").exists(), run
    assert run.err.startswith(f"ksystui report: {BROWSER_ENV}=") and "no such executable" in run.err, run


async def test_a_browser_that_hangs_is_stopped_at_the_time_limit(tmp_path, monkeypatch):
    monkeypatch.delenv(BROWSER_ENV, raising=False)
    hangs = tmp_path / "chromium"
    pid_file = tmp_path / "pid"
    hangs.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    hangs.chmod(hangs.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(BrowserFailed, match=r"did not finish within 1s"):
        await html_to_pdf("<p>x</p>", tmp_path / "r.pdf", browser=str(hangs), timeout=1)
    pid = int(pid_file.read_text())
    await eventually(lambda: not Path(f"/proc/{pid}").exists(), timeout=10)  # it and its children are gone
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BrowserMissing, match="install it"):
        await html_to_pdf("<p>x</p>", tmp_path / "r.pdf")
