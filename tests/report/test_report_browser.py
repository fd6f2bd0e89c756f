"""Issue 13.3 and 13.5 acceptance: a DR test of customerA on the seed
scenario, run through the arbiter, reported by `ksystui report`; the report
printed to PDF and PNG by a real headless Chromium. One simulator run, one
browser start for the PDF and one for the PNG."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import zlib
from pathlib import Path

import pytest

from ksystui.report import html_to_png
from ksystui.store.queue import Queue
from tests.cli.conftest import aksystui

TENANT = "customerA"
OTHERS = ("customerB", "customerC", "r7r3m108", "ksysorch-dal12", "cB_db2core", "cC_aixerp01")


def in_ci() -> bool:
    """CI (any that sets $CI, and `.ci/run`): a missing browser fails the test."""
    return bool(os.environ.get("CI") or os.environ.get("KSYSTUI_REQUIRE_BROWSER"))


def browser_or_skip() -> None:
    """The browser tests are skipped only where Chromium is absent and this is
    not CI (`.ci/run` installs it; in CI its absence fails)."""
    if shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome"):
        return
    if in_ci():
        pytest.fail("CI must have Chromium: .ci/run installs Debian's chromium")
    pytest.skip("no Chromium on this machine (not CI)")


def agree(cfg: Path, tenant: str, rto: str, rpo: str) -> None:
    """The tenant's agreement in the simulator's config (unless it already has one)."""
    text = cfg.read_text()
    table = f'name = "{tenant}"\n'
    start = text.index(table)
    end = text.find("[[tenants]]", start)
    if "rto =" not in text[start:end if end != -1 else len(text)]:
        text = text.replace(table, f'{table}rto = "{rto}"\nrpo = "{rpo}"\n', 1)
    cfg.write_text(text)


def pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        if in_ci():
            pytest.fail("CI must have pdftotext: .ci/run installs Debian's poppler-utils")
        pytest.skip("no pdftotext on this machine (not CI)")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def ink(png: Path) -> float:
    """The share of the picture's bytes that are neither white nor an empty
    difference, read without an imaging library: 0 for a blank page."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    return (len(raw) - raw.count(0) - raw.count(255)) / len(raw)


async def test_a_customerA_drill_reports_rto_vms_confirmation_and_an_anchor_the_trail_verifies(served, tmp_path):
    browser_or_skip()
    runner, cfg = served
    agree(cfg, TENANT, "30m", "15m")
    vms = [v.name for v in runner.world.nodes["r7r3m116"].state.managed_vms()]
    for op in ("dr-test", "cleanup"):
        run = await aksystui("submit", op, TENANT, "--wait", "--config", str(cfg))
        assert run.rc == 0 and "succeeded" in run.out, (op, run.out, run.err)

    run = await aksystui("report", "1", "--format", "json", "--config", str(cfg))
    assert run.rc == 0, run
    data = json.loads(run.out)
    assert data["operation"] == "DR test" and data["tenant"] == TENANT and data["state"] == "succeeded"
    assert data["agreed_rto"] == "30m 00s" and data["rto_verdict"] == "met"
    assert 0 <= data["measured_rto_seconds"] < 30 * 60  # the simulator drills in about a second
    assert [v["vm"] for v in data["vms"]] == vms and {v["outcome"] for v in data["vms"]} == {"completed"}
    assert all(s["duration"] != "-" for v in data["vms"] for s in v["steps"])
    assert data["confirmed_by"] == data["requested_by"] != "-"
    assert data["cleanup"]["ref"] == "#2" and data["cleanup"]["state"] == "succeeded"
    anchor = data["anchor"]
    assert anchor.startswith("hmac-sha256:") and data["verify_command"] == f"ksystui audit verify --anchor {anchor}"

    # the tenant's own report, as its auditor gets it: PDF through Chromium, nothing of another tenant
    pdf = tmp_path / "drill.pdf"
    run = await aksystui("report", "1", "--tenant", TENANT, "-o", str(pdf), "--config", str(cfg))
    assert run.rc == 0 and str(pdf) in run.out, run
    text = pdf_text(pdf)
    flat = " ".join(text.split())
    assert f"Measured RTO {data['measured_rto']}" in flat and "RTO met" in flat
    assert all(vm in text for vm in vms) and data["confirmed_by"].split("/")[0] in flat
    assert re.sub(r"\s", "", anchor) in re.sub(r"\s", "", text)  # the anchor, wrapped over lines as it may be
    html = tmp_path / "drill.html"
    run = await aksystui("report", "1", "--tenant", TENANT, "-o", str(html), "--config", str(cfg))
    assert run.rc == 0, run
    page = html.read_text()
    for other in OTHERS:
        assert other not in page and other not in text, other
    assert "<script" not in page and "http://" not in page and "https://" not in page  # self-contained

    png = await html_to_png(page, tmp_path / "drill.png")
    assert ink(png) > 0.005, "the rendered page is blank"

    # the anchor holds; an edit of any row it covers is named (each in turn, in process), and by the verb
    assert (await aksystui("audit", "verify", "--anchor", anchor, "--config", str(cfg))).rc == 0
    db = Path(str(cfg.read_text()).split('url = "sqlite:///', 1)[1].split('"', 1)[0])
    covered = await asyncio.to_thread(each_covered_edit_is_named, db, anchor, (1, 2))
    assert {int(a["seq"]) for a in data["audit"]} <= set(covered), covered  # progress records too
    await asyncio.to_thread(sql, db, "UPDATE audit SET actor = 'someone-else' WHERE operation = 1 AND action = 'submit'")
    run = await aksystui("audit", "verify", "--anchor", anchor, "--config", str(cfg))
    assert run.rc == 1 and "TAMPERED" in run.out, run


def sql(db: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(statement, args)
    finally:
        conn.close()


def each_covered_edit_is_named(db: Path, anchor: str, operations: tuple[int, ...]) -> list[int]:
    """Edit each audit row of ``operations`` in turn (its actor), check the
    anchor is refused, put it back and check it holds again; the seqs tried."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(f"SELECT seq, actor FROM audit WHERE operation IN ({','.join('?' * len(operations))}) "
                            "ORDER BY seq", operations).fetchall()
    finally:
        conn.close()
    queue = Queue.open(f"sqlite:///{db}")
    try:
        assert queue.audit.verify(anchor) == []
        for seq, actor in rows:
            sql(db, "UPDATE audit SET actor = ? WHERE seq = ?", "someone-else", seq)
            assert queue.audit.verify(anchor) != [], f"an edit of seq {seq} went unnoticed"
            sql(db, "UPDATE audit SET actor = ? WHERE seq = ?", actor, seq)
        assert queue.audit.verify(anchor) == []
    finally:
        queue.close()
    return [seq for seq, _ in rows]
