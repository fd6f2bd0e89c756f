"""Issue 15, deliverable 5: ``ksystui capture [--node N] FILE`` writes a
redacted bundle of raw outputs plus what ksystui understood of each;
``ksystui parse --bundle FILE`` reads one again; the bundles under
fixtures/captures/ are part of the suite."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ksystui.cli.capture import run_capture
from ksystui.cli.main import main
from ksystui.cli.sim import run_parse_bundle
from ksystui.core.capture import FORMAT

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_bundle_in_fixtures_reads_as_captured(path, capsys):
    assert main(["parse", "--bundle", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("0 read differently than when captured")


def test_the_fixture_bundles_cover_both_flavours_and_unreadable_output():
    nodes = [n for p in CAPTURES.glob("*.json") for n in json.loads(p.read_text())["nodes"]]
    assert {n["flavour"] for n in nodes} == {"onprem", "powervs"}
    errors = [o["error"] for n in nodes for o in n["outputs"] if o["error"]]
    assert errors and all(e.startswith("line ") for e in errors)  # each names the line
    assert any(r["call"] == "dr_managed_vms" and r["parsed"] for n in nodes for r in n["rest"])


def test_a_bundle_read_differently_today_says_so(tmp_path):
    data = json.loads((CAPTURES / "sim-seed-fleet.json").read_text())
    data["nodes"][0]["outputs"][0]["parsed"] = []
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    out, err = io.StringIO(), io.StringIO()
    assert run_parse_bundle(str(changed), out, err) == 1
    assert "CHANGED since capture" in out.getvalue() and "1 read differently" in out.getvalue()
    notabundle = tmp_path / "x.json"
    notabundle.write_text('{"hello": 1}')
    assert run_parse_bundle(str(notabundle), out, err) == 2
    assert "not a ksystui capture bundle" in err.getvalue()


async def test_capture_one_node_writes_a_redacted_bundle_that_reads_back(served, world, tmp_path):
    _runner, cfg = served
    world.nodes["ksysorch-dal12"].state.system["api_key"] = "#####CANARYKEY0123456789ABCDEF"
    target = tmp_path / "bug.json"
    out, err = io.StringIO(), io.StringIO()
    assert await run_capture(cfg, "ksysorch-dal12", None, target, out, err) == 0, err.getvalue()
    assert "ksysorch-dal12: 10 outputs (0 not understood), 4 service answers" in out.getvalue()
    raw = target.read_text()
    assert "CANARYKEY" not in raw and "[redacted]" in raw
    assert target.stat().st_mode & 0o077 == 0  # an operator's file, not the world's
    data = json.loads(raw)
    assert data["format"] == FORMAT and [n["node"] for n in data["nodes"]] == ["ksysorch-dal12"]
    kinds = {o["kind"] for o in data["nodes"][0]["outputs"]}
    assert {"vm", "system", "report", "workgroup", "cluster"} <= kinds
    assert run_parse_bundle(str(target), io.StringIO(), io.StringIO()) == 0


async def test_capture_of_an_unknown_node_is_one_sentence(served, tmp_path):
    from ksystui.bootstrap import StartupError

    with pytest.raises(StartupError, match="no node 'nope'"):
        await run_capture(served[1], "nope", None, tmp_path / "x.json", io.StringIO(), io.StringIO())
