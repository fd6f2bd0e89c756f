"""The generic ``Key: value`` reader: what it tolerates and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.records import norm_key, read_records

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr"


def pairs(text: str, **kw) -> list[list[tuple[str, tuple[str, ...]]]]:
    doc = read_records(text, **kw)
    return [[(f.key, f.values) for f in r.fields] for r in doc.records]


def problem_of(text: str, **kw) -> tuple[ParseProblem, int]:
    with pytest.raises(KsysmgrParseError) as info:
        read_records(text, **kw)
    return info.value.problem, info.value.line_no


@pytest.mark.parametrize(
    "line",
    [
        "Name: x",
        "Name:x",
        "Name:                x",
        "Name:\tx",
        "Name:   x   ",
        "Name:\u00a0\u00a0x\u00a0",
    ],
)
def test_any_padding_between_colon_and_value(line):
    assert pairs(line + "\n") == [[("Name", ("x",))]]


def test_value_keeps_colons_after_the_first():
    assert pairs("Ksysnodes: test.dev.com:1:Online\n") == [
        [("Ksysnodes", ("test.dev.com:1:Online",))]
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline):
    text = newline.join(["Name: a", "State: INIT", "", "Name: b", "State: DISCOVERED"]) + newline
    assert pairs(text) == [
        [("Name", ("a",)), ("State", ("INIT",))],
        [("Name", ("b",)), ("State", ("DISCOVERED",))],
    ]


def test_line_numbers_count_crlf_as_one_line():
    doc = read_records("Name: a\r\nState: INIT\r\n\r\nName: b\r\n")
    assert [f.line_no for r in doc.records for f in r.fields] == [1, 2, 4]


def test_continuation_lines_extend_the_field_above_even_with_colons():
    doc = read_records((FIXTURES / "workspace" / "query-workspace.txt").read_text())
    (record,) = doc.records
    network_pair = record.get(norm_key("Network pair"))
    assert network_pair is not None
    assert network_pair.values == (
        "dal12_network01 - wdc06_network01 (Workspace: powervs-dr-wdc06)",
        "dal12-network01 - dal12-network01 (Workspace: powervs-dr-wdc06)",
    )
    assert network_pair.value_lines == (13, 14)
    vms = record.get("vms")
    assert vms is not None and vms.values == (
        "ksysnode, vmrm_IBMi1, test03, test01",
        "test02, DEV_TEST2_BackUp, test05, test04",
    )
    status = record.get("status")
    assert status is not None and status.values == ()  # "Status:" printed empty
    assert record.get(norm_key("CRN")).values[0].endswith(":1d6118b5-xx77-4100-x655-754453558x9x:")


def test_tab_indented_continuation():
    assert pairs("Region:\teu-de-2 - mad04\n\ttok04 - osa21\n") == [
        [("Region", ("eu-de-2 - mad04", "tok04 - osa21"))]
    ]


def test_records_back_to_back_split_when_the_first_key_returns():
    doc = read_records((FIXTURES / "site" / "query-site-private-back-to-back.txt").read_text())
    assert [r.first.values for r in doc.records] == [("TargetSite",), ("HomeSite",)]
    assert [r.line_no for r in doc.records] == [1, 5]


def test_noise_lines_are_skipped():
    text = (
        "(0) root @ ksys804p: /\n"
        "# ksysmgr query vm\n"
        "Thu Apr  9 08:48:23 CDT 2026\n"
        "Name: a\n"
        "State: INIT\n"
        "> ksysmgr q vm\n"
        "Mon Dec 29 23:01:02 2025\n"
        "Name: b\n"
    )
    assert pairs(text) == [[("Name", ("a",)), ("State", ("INIT",))], [("Name", ("b",))]]


def test_date_line_is_not_read_as_a_key():
    doc = read_records("Thu Apr  9 08:48:23 CDT 2026\nName: a\n")
    assert [f.key for r in doc.records for f in r.fields] == ["Name"]


def test_version_key_is_not_mistaken_for_an_echoed_command():
    assert pairs("Ksysmgr version: 1.8.0.0\n") == [[("Ksysmgr version", ("1.8.0.0",))]]


def test_ansi_colour_codes_are_dropped():
    assert pairs("\x1b[1mName:\x1b[0m   a\n") == [[("Name", ("a",))]]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HomeWorkSpace", "HomeWorkspace"),
        ("memory_capacity", "Memory_capacity"),
        ("Dr Test State", "DrTestState"),
    ],
)
def test_key_matching_ignores_case_spaces_underscores(a, b):
    assert norm_key(a) == norm_key(b)


def test_notes_are_kept_apart_from_records():
    doc = read_records((FIXTURES / "site" / "query-site-public-with-note.txt").read_text())
    assert len(doc.records) == 1
    assert [f.key for f in doc.records[0].fields] == [
        "Name",
        "Region",
        "Workspaces",
        "ActiveWorkgroups",
    ]
    (note,) = doc.notes
    assert note.text.startswith("Active indicates the site")


def test_sections_stand_alone():
    text = (
        "Unmanaged VMs:\n    vm9\n    vm8\nAll VMs:\nName: a\nState: INIT\nName: b\nState: INIT\n"
    )
    assert pairs(text, sections=frozenset({"unmanagedvms", "allvms"})) == [
        [("Unmanaged VMs", ("vm9", "vm8"))],
        [("All VMs", ())],
        [("Name", ("a",)), ("State", ("INIT",))],
        [("Name", ("b",)), ("State", ("INIT",))],
    ]


def test_tables_take_the_lines_without_colons_that_follow():
    text = "Name: h\nManaged Host List:\nHost Name   Uuid\n=========   ====\npbrazos   1234\nName: h2\n"
    assert pairs(text, tables=frozenset({"managedhostlist"})) == [
        [
            ("Name", ("h",)),
            ("Managed Host List", ("Host Name   Uuid", "=========   ====", "pbrazos   1234")),
        ],
        [("Name", ("h2",))],
    ]


def test_title_is_allowed_only_when_asked_and_only_first():
    doc = read_records("System-Wide Persistent Attributes\nBaseUrl: x\n", allow_title=True)
    assert doc.title == "System-Wide Persistent Attributes"
    assert problem_of("System-Wide Persistent Attributes\nBaseUrl: x\n") == (
        ParseProblem.NOT_A_RECORD,
        1,
    )


def test_duplicate_key_names_the_second_occurrence():
    assert problem_of("Name: a\nUUID: 1\nState: INIT\nuuid: 2\n") == (ParseProblem.DUPLICATE_KEY, 4)


def test_orphan_continuation():
    assert problem_of("\n   lonely\nName: a\n") == (ParseProblem.ORPHAN_CONTINUATION, 2)
    assert problem_of("Name: a\n\n   lonely\n") == (ParseProblem.ORPHAN_CONTINUATION, 3)


def test_line_without_colon_inside_output():
    assert problem_of("Name: a\nRegion us-east\nState: INIT\n") == (ParseProblem.NOT_A_RECORD, 2)


def test_line_without_colon_at_the_end_of_a_record_is_truncation():
    assert problem_of("Name: a\nState: INIT\nDr Te") == (ParseProblem.TRUNCATED, 3)


def test_progress_output_is_not_records():
    assert problem_of("05:31:41  Running discovery on entire site\n") == (
        ParseProblem.NOT_A_RECORD,
        1,
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t \r\n\u00a0\n", "# ksysmgr query vm\n"])
def test_nothing_to_read_is_empty(text):
    assert problem_of(text) == (ParseProblem.EMPTY, 1)


def test_nul_bytes_are_binary_naming_the_line():
    assert problem_of("Name: a\nState: INIT\nType: \x00\x00x\n") == (ParseProblem.BINARY, 3)


def test_mostly_control_characters_is_binary():
    assert problem_of("Name: a\n" + "\x01\x02\x03\ufffd\ufffd\x7f" * 20 + "\n") == (
        ParseProblem.BINARY,
        2,
    )


def test_a_stray_replacement_character_is_not_binary():
    # One undecodable byte in a long listing is a mangled name, not binary data.
    text = "Name: caf\ufffd_vm\n" + "".join(f"Key{i}: value {i}\n" for i in range(20))
    assert read_records(text).records[0].first.values == ("caf\ufffd_vm",)
