"""Bad ksysmgr output is refused with a KsysmgrParseError naming the line and
the problem, and nothing a parser is fed makes it raise anything else."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.parse import PARSERS

MALFORMED = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr" / "malformed"
EXPECTED = tomllib.loads((MALFORMED / "EXPECTED.toml").read_text(encoding="utf-8"))


def test_every_malformed_file_has_an_expectation_and_vice_versa():
    assert {p.name for p in MALFORMED.glob("*.txt")} == set(EXPECTED)


def test_malformed_set_covers_the_problems():
    problems = {ParseProblem(e["problem"]) for e in EXPECTED.values()}
    assert len(EXPECTED) >= 12
    assert problems >= {
        ParseProblem.EMPTY,
        ParseProblem.BINARY,
        ParseProblem.TRUNCATED,
        ParseProblem.DUPLICATE_KEY,
        ParseProblem.UNKNOWN_STATE,
        ParseProblem.MISSING_KEY,
        ParseProblem.NOT_A_RECORD,
        ParseProblem.ORPHAN_CONTINUATION,
        ParseProblem.BAD_VALUE,
        ParseProblem.BAD_TABLE,
        ParseProblem.BAD_PROGRESS,
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_output_names_line_and_problem(name):
    expected = EXPECTED[name]
    text = (MALFORMED / name).read_bytes().decode("utf-8", errors="replace")
    with pytest.raises(KsysmgrParseError) as info:
        PARSERS[expected["kind"]](text)
    assert (info.value.line_no, info.value.problem.value) == (expected["line"], expected["problem"])
    assert str(info.value).startswith(f"line {expected['line']}: {expected['problem']}")


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize("text", ["", "  \n\t\n", "\x00\x00\x00", "# ksysmgr query vm\n"])
def test_every_parser_refuses_nothing_and_binary(kind, text):
    with pytest.raises(KsysmgrParseError) as info:
        PARSERS[kind](text)
    assert info.value.problem in (ParseProblem.EMPTY, ParseProblem.BINARY)
    assert info.value.line_no == 1


def _only_parse_errors(kind: str, text: str) -> None:
    try:
        PARSERS[kind](text)
    except KsysmgrParseError as exc:
        assert exc.line_no >= 1
        assert "\n" not in str(exc)  # `ksystui parse` prints it as one line


# Text built from the pieces ksysmgr output is made of, so the fuzzer reaches
# deep into the parsers instead of stopping at the first line.
_PIECES = st.sampled_from(
    [
        "Name:", "State:", "Dr Test State:", "Progress:", "CGState:", "ActiveVM:", "Event Name:",
        "Event Type:", "User:", "Contact:", "Script:", "Event:", "WGName:", "VM:", "Unmanaged VMs:",
        "All VMs:", "Contact details:", "Script details:", "Managed Host List:", "Note:", "Status:",
        "Ksysmgr version:", "Current environment:", "Number of sites:", "Current Notification Level:",
        "Event Name Event Type Description", "-" * 80, "=====", "Host Name   Uuid", " ", "  ", "        ",
        "\t", "\n", "\r\n", "\r", "\u00a0", ":", ",", "<->", "->", "READY_TO_MOVE", "INIT", "error",
        "consistent_copying", "99.0", "yes", "nan", "x", "DISCOVERY_FAILED", "05:31:41", "25:99:99",
        "Discovery has started for VM ", "1 out of 2 managed VMs have been successfully discovered",
        "# ksysmgr q vm", "Thu Apr  9 08:48:23 CDT 2026", "(0) root @ node: /", "...", "\ufffd", "\x00",
    ]
)  # fmt: skip
ksysmgr_like = st.lists(_PIECES | st.text(max_size=5), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PARSERS)), st.text())
def test_fuzz_arbitrary_text(kind, text):
    _only_parse_errors(kind, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PARSERS)), st.binary())
def test_fuzz_bytes_decoded_with_replacement(kind, data):
    _only_parse_errors(kind, data.decode("utf-8", errors="replace"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PARSERS)), ksysmgr_like)
def test_fuzz_ksysmgr_like_text(kind, text):
    _only_parse_errors(kind, text)
