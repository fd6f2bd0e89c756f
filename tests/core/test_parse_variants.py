"""Issue 15, deliverable 3: every layout variant IBM's docs have shown is
accepted (one fixture and test each, fixtures/ksysmgr/VARIANTS.md), and a
shape nobody described still raises the typed error naming the line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ksystui.cli.sim import run_parse
from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.parse import (
    parse_disk,
    parse_notify,
    parse_progress,
    parse_site,
    parse_snapshot,
    parse_system,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr"
VARIANTS = sorted(FIXTURES.glob("*/variant-*.txt"))


def load(relative: str) -> str:
    return (FIXTURES / relative).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ksystui_parse_reads_every_variant(path):
    out, err = io.StringIO(), io.StringIO()
    assert run_parse(path.parent.name, str(path), io.StringIO(), out, err) == 0, err.getvalue()
    assert '"records"' in out.getvalue() or '"lines"' in out.getvalue()


def test_every_variant_is_listed_in_variants_md():
    listed = load("VARIANTS.md")
    assert len(VARIANTS) >= 9
    for path in VARIANTS:
        assert f"{path.parent.name}/{path.name}" in listed


# --- -t progress: flat or indented, one or two spaces after the time ---------------------
@pytest.mark.parametrize("name", ["variant-discover-flat-one-space.txt", "variant-discover-indented-one-space.txt",
                                  "discover-site-timestamps-two-workgroups.txt"])
def test_timestamped_progress_flat_or_indented_one_or_two_spaces(name):
    lines, summary = parse_progress(load(f"progress/{name}"))
    assert lines[0].time == "02:33:39" and lines[0].step == "Discovery" and lines[0].phase == "started"
    assert all(line.time for line in lines)
    assert not any(line.message[:1].isspace() for line in lines)
    assert summary is not None and summary.verb == "discovered"
    finished = [line for line in lines if line.phase == "finished"]
    assert finished and finished[0].entity == "us-east" and finished[0].depth == 0


def test_indentation_gives_the_step_depth():
    flat, _ = parse_progress(load("progress/variant-discover-flat-one-space.txt"))
    nested, _ = parse_progress(load("progress/variant-discover-indented-one-space.txt"))
    assert {line.depth for line in flat} == {0}
    assert [line.depth for line in nested][1:3] == [1, 1]
    assert [(x.step, x.phase, x.entity) for x in flat] == [(x.step, x.phase, x.entity) for x in nested]


# --- query system: Region pairs, Regions list, SatelliteLocations -------------------------
def test_query_system_region_pairs():
    attrs = parse_system(load("system/query-system-public.txt"))
    assert attrs.regions[0] == "eu-de-2 - mad04" and len(attrs.regions) == 11


def test_query_system_regions_list_one_per_line():
    attrs = parse_system(load("system/variant-query-system-regions-list.txt"))
    assert attrs.regions == ("dal10", "wdc06", "lon04")
    assert attrs.header == "System-Wide Persistent Attributes"
    assert attrs.value("auto_discovery_time") == "02:30 hours"
    assert attrs.get("api_key") == "[redacted]"


def test_query_system_satellite_locations_on_a_private_cloud():
    attrs = parse_system(load("system/variant-query-system-private-satellite.txt"))
    assert attrs.satellite_locations == ("sat-dallas-01", "sat-austin-02")
    assert attrs.regions == ()
    assert attrs.value("quick_discovery") == "disable"


# --- key: value with one space; unindented continuation lines -------------------------------
def test_single_space_and_unindented_continuations():
    home, target = parse_site(load("site/variant-query-site-single-space-unindented.txt"))
    assert home.workspaces == ("drawpclon-Lon04-power-workspace", "Test_WS_LON_04", "customwsLON04")
    assert home.active_workgroups == ("test_WG", "test_02_WG", "test_03_WG")
    assert (target.name, target.region, target.workspaces) == ("TargetSite", "lon06", ("Test_workspace_lon06_new",))


def test_an_unindented_line_after_a_single_valued_field_is_still_an_error():
    with pytest.raises(KsysmgrParseError) as e:
        parse_site("Name: HomeSite\nSitetype: ACTIVE\nlon06\n")
    assert e.value.problem is ParseProblem.TRUNCATED and e.value.line_no == 3
    with pytest.raises(KsysmgrParseError) as e:
        parse_site("Name: HomeSite\nlon06\nRegion: lon04\n")
    assert e.value.problem is ParseProblem.NOT_A_RECORD and e.value.line_no == 2


# --- query disk: Volume Details as a pipe table -------------------------------------------
def test_query_disk_volume_details_pipe_table():
    (disk,) = parse_disk(load("disk/variant-query-disk-volume-details-pipe-table.txt"))
    assert disk.disk_ids[0] == "2d5ff23a-13bb-43d8-b354-51603dee5e50 -> Unmanaged"
    assert disk.volumes == (
        ("volume-aix_vol3-6a958988-9745 <-> aux_volume-aix_vol3-6a958988-974...", "consistent_copying", "100"),
        ("volume-vmrm_aix_vm2-bc477fa9-00046b90-boot-0 <-> aux_volume-vmrm_aix_vm2-bc477fa9-0...",
         "consistent_copying", "99.5"),
    )
    assert disk.extra == ()


def test_pipe_table_after_a_blank_line_and_aligned_columns():
    text = load("disk/variant-query-disk-volume-details-pipe-table.txt")
    spaced = text.replace("Volume Details:\n", "Volume Details:\n\n")
    assert parse_disk(spaced) == parse_disk(text)
    aligned = ("VM: a <-> a_BackUp\nVolume Details:\n    Volume        State                 Progress (%)\n"
               "    v1 <-> v1b    consistent_copying    100\n")
    assert parse_disk(aligned)[0].volumes == (("v1 <-> v1b", "consistent_copying", "100"),)


@pytest.mark.parametrize("row, problem", [
    ("| v1 <-> v1b | consistent_copying |", ParseProblem.BAD_TABLE),
    ("| v1 <-> v1b | melting | 100 |", ParseProblem.UNKNOWN_STATE),
    ("| v1 <-> v1b | consistent_copying | lots |", ParseProblem.BAD_VALUE),
])
def test_a_broken_volume_row_names_its_line(row, problem):
    text = "VM: a <-> a_BackUp\nVolume Details:\n| Volume | State | Progress (%) |\n|---|---|---|\n" + row + "\n"
    with pytest.raises(KsysmgrParseError) as e:
        parse_disk(text)
    assert (e.value.problem, e.value.line_no) == (problem, 5)


# --- query notify: several bindings ----------------------------------------------------------
def test_query_notify_several_script_event_bindings():
    cfg = parse_notify(load("notify/variant-query-notify-several-bindings.txt"))
    assert cfg.contacts == (("User", "user.test.com"), ("oncall", "oncall@example.com"))
    assert cfg.scripts == (
        ("/User_test/a.sh", "DISCOVERY_STARTED"),
        ("/User_test/a.sh", "MOVE_FAILED"),
        ("/User_test/b.sh", "VM_BOOTUP_FAILED"),
    )


def test_query_notify_one_script_several_event_lines():
    cfg = parse_notify(load("notify/variant-query-notify-script-several-events.txt"))
    assert cfg.scripts == tuple(("/User_test/a.sh", e) for e in ("DISCOVERY_STARTED", "MOVE_FAILED", "VG_STOP_FAILED"))


# --- snapshots with a real date ------------------------------------------------------------------
def test_snapshot_with_a_real_date():
    snap = parse_snapshot(load("snapshot/variant-query-snapshot-real-date.txt"))
    assert (snap.vmrm_version, snap.date, snap.time) == ("1.8.0.1", "2024-07-29", "06:35:30")
    assert snap.file == "/var/ksys/snapshots/oldclust_DETAILED_2024-07-29_06:35:30.xml"
    assert snap.section("Cluster") == {"Name": "pvs_dr", "Node": "ksys804p.aus.stglabs.ibm.com", "Type": "IBM_PVS_DR"}


def test_snapshot_with_the_zero_date_has_no_date():
    snap = parse_snapshot(load("snapshot/query-snapshot.txt"))
    assert (snap.vmrm_version, snap.date, snap.time) == ("1.9.0.2", None, "00:14:30")
    assert snap.section("Cluster")["Name"] == "test_cluster"


def test_snapshot_with_a_bad_date_names_the_line():
    text = load("snapshot/variant-query-snapshot-real-date.txt").replace("2024-07-29\n", "29/07/2024\n")
    with pytest.raises(KsysmgrParseError) as e:
        parse_snapshot(text)
    assert (e.value.problem, e.value.line_no) == (ParseProblem.BAD_VALUE, 4)
