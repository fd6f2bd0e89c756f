"""Progress output of discover / verify / move / cleanup / resync / unmanage /
recover: times, nesting, classification and the summary line."""

from __future__ import annotations

from pathlib import Path

import pytest
import strategies as S
from hypothesis import given, settings
from hypothesis import strategies as st

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.parse import parse_progress
from ksystui.core.ksysmgr.render import render_progress_line, render_summary
from ksystui.core.model import ProgressLine, ProgressSummary

PROGRESS = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr" / "progress"


def load(name: str) -> tuple[list[ProgressLine], ProgressSummary | None]:
    return parse_progress((PROGRESS / name).read_text(encoding="utf-8"))


def classified(line: ProgressLine) -> tuple:
    return (line.step, line.phase, line.entity_kind, line.entity)


# --- the verbatim samples --------------------------------------------------------------


def test_discover_site():
    lines, summary = load("discover-site.txt")
    assert summary == ProgressSummary(1, 1, "discovered")
    assert len(lines) == 14  # the echoed command is not a progress line
    first, last = lines[0], lines[-1]
    assert (first.time, first.depth) == ("05:31:41", 0)
    assert classified(first) == ("Discovery", "started", "Site", None)
    assert (last.time, last.depth) == ("05:32:58", 0)
    assert classified(last) == ("Discovery", "finished", None, "DAL")
    nested = lines[1:-1]
    assert all(line.depth == 1 for line in nested)
    assert [classified(line) for line in nested[:3]] == [
        ("Discovery", "started", "Workgroup", "vmrm_rhel_WG"),
        ("Discovery", "started", "VM", "vmrm_rhel"),
        ("Discovery", "completed", "VM", "vmrm_rhel"),
    ]
    assert classified(nested[7]) == ("Backup VM creation", "completed", "VM", "vmrm_rhel_BackUp")
    assert classified(nested[11]) == ("Replication", "in_progress", None, None)


def test_discover_site_with_seven_space_indent_is_still_nested():
    lines, summary = load("discover-site-timestamps-two-workgroups.txt")
    odd = lines[4]
    assert odd.message == "Discovery for VM User_test is complete"
    assert (odd.depth, odd.time) == (1, "02:33:50")
    assert summary == ProgressSummary(2, 2, "discovered")
    assert sum(1 for line in lines if line.step is None) == 0  # every line of a discovery is known


def test_resync_starts_with_an_untimed_line():
    lines, summary = load("resync-workgroup.txt")
    assert summary is None
    assert (lines[0].time, lines[0].depth) == (None, 0)
    assert [classified(line) for line in lines] == [
        ("Resync", "started", "Workgroup", "vmrm_testvm_WG"),
        ("Shutdown", "started", "VM", "vmrm_testvm_BackUp"),
        ("Resync", "in_progress", "Workgroup", "vmrm_testvm_WG"),
        ("Shutdown", "completed", "VM", "vmrm_testvm_BackUp"),
        ("Resync", "completed", "Workgroup", "vmrm_testvm_WG"),
    ]


def test_move_workgroup_rehearsal_keeps_prompt_and_answer():
    lines, summary = load("move-workgroup-dr-test.txt")
    assert [line.message for line in lines[:3]] == [
        "You are initiating a failover rehearsal across sites",
        "Do you wish to proceed? [y/n]",
        "y",
    ]
    assert all(line.step is None and line.time is None for line in lines[:3])
    assert classified(lines[3]) == ("dr_test move", "started", "Workgroup", "test_WG")
    assert classified(lines[-1]) == ("dr_test move", "completed", "Workgroup", "test_WG")
    assert classified(lines[-3]) == ("Boot up", "completed", "VM", "test_Rehearsal")
    assert classified(lines[7]) == ("Volumes clone", "started", "VM", "test_BackUp")
    assert all(line.step is not None for line in lines[3:])


def test_move_site_rehearsal():
    lines, _ = load("move-site-dr-test.txt")
    timed = [line for line in lines if line.time]
    assert classified(timed[0]) == ("dr_test move", "started", "Site", "TargetSite")
    assert classified(lines[-1]) == ("dr_test move", "completed", "Site", "TargetSite")
    assert all(line.step is not None for line in timed)


def test_cleanup_samples():
    lines, _ = load("cleanup-site-dr-test.txt")
    assert classified(lines[0]) == ("dr_test cleanup", "started", "Site", "test")
    assert classified(lines[3]) == ("VM removal", "started", "VM", "test_VM2_Rehearsal")
    assert classified(lines[4]) == ("Volumes clone delete", "started", "VM", "test_VM1_Rehearsal")
    assert classified(lines[-1]) == ("dr_test cleanup", "completed", "Site", "test")
    lines, _ = load("cleanup-workgroup-dr-test.txt")
    assert all(line.step is not None for line in lines)


def test_unmanage_vm():
    lines, _ = load("unmanage-vm.txt")
    assert [classified(line) for line in lines] == [
        ("Unmanage", "started", "VM", None),
        ("VG stop", "started", "Workgroup", "User_test_WG"),
        ("VG stop", "completed", "Workgroup", "User_test_WG"),
        ("VG disks removal", "started", "Workgroup", "User_test_WG"),
        ("VG disks removal", "completed", "Workgroup", "User_test_WG"),
        ("Workgroup removal", "completed", "Workgroup", "User_test_WG"),
        ("Unmanage", "completed", "VM", "User_test"),
    ]


def test_restore_snapshot_mixes_timed_and_untimed_lines_with_single_space():
    lines, _ = load("restore-snapshot.txt")
    removed = next(line for line in lines if line.message == "Removed tmp files successfully")
    assert removed.time == "01:15:44"
    assert lines[1].message == "Do you wish to proceed? [y|n]"


# --- the INFERRED on-prem templates the simulator prints ---------------------------------

ONPREM = [
    ("Site verification started for Austin, this may take a few minutes...", "Verification", "started", "Site", "Austin", None),
    ("Verification has started for VM custA_vm1", "Verification", "started", "VM", "custA_vm1", None),
    ("Verification for VM custA_vm1 is complete", "Verification", "completed", "VM", "custA_vm1", None),
    ("Verification has failed for VM custA_vm2: insufficient memory on snorlax", "Verification", "failed", "VM", "custA_vm2", "insufficient memory on snorlax"),
    ("Verification has finished for Austin", "Verification", "finished", None, "Austin", None),
    ("Running discovery on entire site, this may take a few minutes...", "Discovery", "started", "Site", None, None),
    ("Discovery has started for Host pbrazos", "Discovery", "started", "Host", "pbrazos", None),
    ("Discovery has started for VM custA_vm1", "Discovery", "started", "VM", "custA_vm1", None),
    ("Discovery for VM custA_vm1 is complete", "Discovery", "completed", "VM", "custA_vm1", None),
    ("Discovery has finished for Austin", "Discovery", "finished", None, "Austin", None),
    ("Site move started for Austin to Dallas, this may take a few minutes...", "Move", "started", "Site", "Austin", None),
    ("Shutdown on Austin Site has started for VM custA_vm1", "Shutdown", "started", "VM", "custA_vm1", None),
    ("Shutdown on Austin Site has completed for VM custA_vm1", "Shutdown", "completed", "VM", "custA_vm1", None),
    ("Storage replication reversal has started for Disk_Group DG1", "Storage replication reversal", "started", "Disk_Group", "DG1", None),
    ("Storage replication reversal has completed for Disk_Group DG1", "Storage replication reversal", "completed", "Disk_Group", "DG1", None),
    ("Boot up on Dallas Site has started for VM custA_vm1", "Boot up", "started", "VM", "custA_vm1", None),
    ("Boot up on Dallas Site has completed for VM custA_vm1", "Boot up", "completed", "VM", "custA_vm1", None),
    ("Boot up on Dallas Site has failed for VM custA_vm2", "Boot up", "failed", "VM", "custA_vm2", None),
    ("Site move completed from Austin to Dallas", "Move", "completed", "Site", "Austin", None),
    ("Site move failed from Austin to Dallas", "Move", "failed", "Site", "Austin", None),
    ("Site cleanup started for Austin, this may take a few minutes...", "Cleanup", "started", "Site", "Austin", None),
    ("VM Removal has started for VM custA_vm1", "VM removal", "started", "VM", "custA_vm1", None),
    ("VM Removal has completed for VM custA_vm1", "VM removal", "completed", "VM", "custA_vm1", None),
    ("Site cleanup has completed for Site Austin", "Cleanup", "completed", "Site", "Austin", None),
    ("Recovery has started for VM custA_vm2", "Recovery", "started", "VM", "custA_vm2", None),
    ("Recovery has completed for VM custA_vm2", "Recovery", "completed", "VM", "custA_vm2", None),
    ("Recovery has failed for VM custA_vm2", "Recovery", "failed", "VM", "custA_vm2", None),
]  # fmt: skip


@pytest.mark.parametrize(("message", "step", "phase", "kind", "entity", "detail"), ONPREM)
def test_onprem_templates_are_classified(message, step, phase, kind, entity, detail):
    (line,), _ = parse_progress(f"        12:00:00  {message}\n")
    assert (line.step, line.phase, line.entity_kind, line.entity, line.detail) == (
        step,
        phase,
        kind,
        entity,
        detail,
    )
    assert line.message == message


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("3 out of 4 VMs have been successfully verified", ProgressSummary(3, 4, "verified")),
        ("2 out of 2 managed VMs have been successfully moved", ProgressSummary(2, 2, "moved")),
        (
            "0 out of 5 managed VMs have been successfully discovered",
            ProgressSummary(0, 5, "discovered"),
        ),
    ],
)
def test_summary_lines(text, summary):
    assert parse_progress(f"Discovery has finished for X\n{text}\n") == (
        [
            ProgressLine(
                "Discovery has finished for X", step="Discovery", phase="finished", entity="X"
            )
        ],
        summary,
    )


def test_unknown_messages_are_kept_unclassified():
    (line,), summary = parse_progress("Stopping KSYS subsystem ...\n")
    assert (line.message, line.step, line.phase) == ("Stopping KSYS subsystem ...", None, None)
    assert summary is None


def test_last_summary_wins_and_earlier_ones_stay_as_lines():
    text = "1 out of 1 managed VMs have been successfully discovered\nx\n2 out of 3 VMs have been successfully verified\n"
    lines, summary = parse_progress(text)
    assert summary == ProgressSummary(2, 3, "verified")
    assert [line.message for line in lines] == [
        "1 out of 1 managed VMs have been successfully discovered",
        "x",
    ]


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        ("05:31:41  ok\n24:00:00  Discovery has started for VM a\n", 2),
        ("05:61:00  Discovery has started for VM a\n", 1),
        ("a\n        05:31  Discovery has started for VM a\n", 2),
        ("05:31:41\n", 1),
    ],
)
def test_bad_time_stamps(text, line_no):
    with pytest.raises(KsysmgrParseError) as info:
        parse_progress(text)
    assert (info.value.problem, info.value.line_no) == (ParseProblem.BAD_PROGRESS, line_no)


# --- rendering and the round trip ----------------------------------------------------------


def test_render_progress_line_layouts():
    top = ProgressLine(
        "Running discovery on entire site, this may take a few minutes...", time="05:31:41"
    )
    step = ProgressLine("Discovery has started for VM vmrm_rhel", time="05:31:59", depth=1)
    assert (
        render_progress_line(top, with_time=True)
        == "05:31:41  Running discovery on entire site, this may take a few minutes...\n"
    )
    assert (
        render_progress_line(step, with_time=True)
        == "        05:31:59  Discovery has started for VM vmrm_rhel\n"
    )
    assert (
        render_progress_line(step, with_time=False)
        == "        Discovery has started for VM vmrm_rhel\n"
    )


def test_rendered_discovery_reads_back_like_the_sample():
    text = (PROGRESS / "discover-site.txt").read_text()
    lines, summary = parse_progress(text)
    assert summary is not None
    rendered = "".join(
        render_progress_line(line, with_time=True) for line in lines
    ) + render_summary(summary)
    assert rendered == text.split("\n", 1)[1]  # identical but for the echoed command


_TEMPLATES = [(m, s, p, k, e, d) for m, s, p, k, e, d in ONPREM] + [
    ("Workgroup {n} resync has started", "Resync", "started", "Workgroup", "{n}", None),
    (
        "Rehearsal VM creation has started for VM {n}",
        "Rehearsal VM creation",
        "started",
        "VM",
        "{n}",
        None,
    ),
    (
        "Network Configuration has failed for VM {n}",
        "Network configuration",
        "failed",
        "VM",
        "{n}",
        None,
    ),
    ("Move has completed for Host_Group {n}", "Move", "completed", "Host_Group", "{n}", None),
]
_FREE_WORDS = st.lists(
    st.sampled_from(["Waiting", "for", "update", "of", "Workspaces", "...", "KSYS", "ok"]),
    min_size=1,
    max_size=5,
)


@st.composite
def progress_lines(draw) -> ProgressLine:
    time = draw(
        st.none()
        | st.builds(
            "{:02d}:{:02d}:{:02d}".format,
            st.integers(0, 23),
            st.integers(0, 59),
            st.integers(0, 59),
        )
    )
    depth = draw(st.integers(0, 2))
    if draw(st.booleans()):
        message, step, phase, kind, entity, detail = draw(st.sampled_from(_TEMPLATES))
        name = draw(S.names)
        message, entity = message.replace("{n}", name), entity and entity.replace("{n}", name)
        return ProgressLine(message, time, depth, step, phase, kind, entity, detail)
    return ProgressLine(" ".join(draw(_FREE_WORDS)), time, depth)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(progress_lines(), min_size=1, max_size=6),
    st.none() | S.progress_summaries,
    st.booleans(),
)
def test_progress_round_trip(lines, summary, with_time):
    text = "".join(render_progress_line(line, with_time) for line in lines)
    if summary is not None:
        text += render_summary(summary)
    expected = (
        lines if with_time else [ProgressLine(**{**line.__dict__, "time": None}) for line in lines]
    )
    assert parse_progress(text) == (expected, summary)
