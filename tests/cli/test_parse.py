"""``ksystui parse KIND [FILE]`` as an operator uses it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ksystui.cli.sim import run_parse
from ksystui.core.ksysmgr.parse import PARSERS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr"


class BinaryStdin(io.TextIOWrapper):
    """A text stdin whose .buffer holds raw bytes, as sys.stdin does."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data), encoding="utf-8")


def run(
    kind: str, path: str | None = None, stdin: io.TextIOBase | None = None
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run_parse(kind, path, stdin or io.StringIO(""), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_file_to_json_records():
    rc, out, err = run("vm", str(FIXTURES / "vm" / "query-vm-backup.txt"))
    assert (rc, err) == (0, "")
    doc = json.loads(out)
    assert doc["kind"] == "vm"
    (vm,) = doc["records"]
    assert (vm["name"], vm["state"], vm["active_vm"]) == ("test_dh01_BackUp", "DISCOVERED", False)
    assert vm["ip_addresses"] == ["3x.x0.xx.72"]
    assert (vm["dedicated_host"], vm["extra"]) == ("dedicated_host1", {})
    assert out.startswith('{\n  "kind": "vm",')  # indent 2


def test_single_object_kinds_are_one_record():
    rc, out, _ = run("system", str(FIXTURES / "system" / "query-system-public.txt"))
    assert rc == 0
    (attrs,) = json.loads(out)["records"]
    assert attrs["attributes"][0] == ["BaseUrl", ["cloud.ibm.com"]]


def test_progress_has_lines_and_summary():
    rc, out, _ = run("progress", str(FIXTURES / "progress" / "discover-site.txt"))
    assert rc == 0
    doc = json.loads(out)
    assert set(doc) == {"kind", "lines", "summary"}
    assert doc["summary"] == {"succeeded": 1, "total": 1, "verb": "discovered"}
    assert doc["lines"][1]["entity"] == "vmrm_rhel_WG"


def test_progress_without_summary_is_null():
    rc, out, _ = run("progress", str(FIXTURES / "progress" / "resync-workgroup.txt"))
    assert rc == 0 and json.loads(out)["summary"] is None


@pytest.mark.parametrize("path", [None, "-"])
def test_reads_stdin(path):
    data = (FIXTURES / "workgroup" / "query-workgroup.txt").read_bytes()
    rc, out, _ = run("workgroup", path, BinaryStdin(data))
    assert rc == 0
    assert json.loads(out)["records"][0]["cg_name"] == "rccg-33fd-209b3"


def test_plain_text_stdin_without_buffer():
    rc, out, _ = run(
        "version", "-", io.StringIO("Ksysmgr version: 1.8.0.0\nKsys version: 1.8.0.0\n")
    )
    assert rc == 0
    assert json.loads(out)["records"] == [
        {"ksysmgr_version": "1.8.0.0", "ksys_version": "1.8.0.0", "extra": {}}
    ]


def test_unparseable_input_is_one_line_on_stderr():
    rc, out, err = run("vm", str(FIXTURES / "malformed" / "vm-duplicate-key.txt"))
    assert (rc, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("ksystui parse: line 4: duplicate key")


def test_binary_input_reaches_the_binary_check():
    rc, _, err = run("vm", None, BinaryStdin(bytes(range(256)) * 4))
    assert rc == 1
    assert err.startswith("ksystui parse: line 1: binary data")
    assert err.count("\n") == 1


def test_unknown_kind_lists_valid_kinds():
    rc, out, err = run("vms")
    assert (rc, out) == (2, "")
    assert err.count("\n") == 1
    assert "'vms'" in err
    assert all(kind in err for kind in PARSERS)


def test_unreadable_file_names_it(tmp_path):
    missing = tmp_path / "nope.txt"
    rc, out, err = run("vm", str(missing))
    assert (rc, out) == (1, "")
    assert err.count("\n") == 1
    assert str(missing) in err


def test_directory_is_unreadable(tmp_path):
    rc, _, err = run("vm", str(tmp_path))
    assert rc == 1 and str(tmp_path) in err
