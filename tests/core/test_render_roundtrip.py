"""What the simulator prints (render) is what ksystui reads back (parse), and
the renderers reproduce the real layouts where IBM published one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import strategies as S
from hypothesis import given, settings
from hypothesis import strategies as st

from ksystui.core.ksysmgr import parse as P
from ksystui.core.ksysmgr import render as R
from ksystui.core.model import (
    Flavour,
    KsysEvent,
    ProgressSummary,
    SystemAttributes,
    SystemReport,
    Vm,
)
from ksystui.core.secrets import redact_output

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr"
ROUND_TRIP = settings(max_examples=200, deadline=None)
flavours = st.sampled_from(list(Flavour))


def nonempty(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(strategy, min_size=1, max_size=3)


@ROUND_TRIP
@given(nonempty(S.vms), flavours)
def test_vms(vms, flavour):
    assert P.parse_vm(R.render_vms(vms, flavour)) == vms


@ROUND_TRIP
@given(nonempty(S.sites), flavours)
def test_sites(sites, flavour):
    assert P.parse_site(R.render_sites(sites, flavour)) == sites


@ROUND_TRIP
@given(nonempty(S.hosts))
def test_hosts(hosts):
    assert P.parse_host(R.render_hosts(hosts)) == hosts


@ROUND_TRIP
@given(nonempty(S.hmcs))
def test_hmcs(hmcs):
    # a login is a credential: read back blanked (issue 15, core.secrets)
    assert P.parse_hmc(R.render_hmcs(hmcs)) == [_login_blanked(h) for h in hmcs]


@ROUND_TRIP
@given(nonempty(S.host_groups))
def test_host_groups(groups):
    assert P.parse_host_group(R.render_host_groups(groups)) == groups


@ROUND_TRIP
@given(nonempty(S.storage_agents))
def test_storage_agents(agents):
    assert P.parse_storage_agent(R.render_storage_agents(agents)) == [_login_blanked(a) for a in agents]


def _login_blanked(obj):
    return obj if obj.login is None else replace(obj, login="[redacted]")


@ROUND_TRIP
@given(nonempty(S.disk_groups), flavours)
def test_disk_groups(groups, flavour):
    assert P.parse_disk_group(R.render_disk_groups(groups, flavour)) == groups


@ROUND_TRIP
@given(nonempty(S.disk_pairs))
def test_disk_pairs(pairs):
    assert P.parse_disk_pair(R.render_disk_pairs(pairs)) == pairs


@ROUND_TRIP
@given(nonempty(S.disks))
def test_disks(disks):
    assert P.parse_disk(R.render_disks(disks)) == disks


@ROUND_TRIP
@given(nonempty(S.workgroups))
def test_workgroups(workgroups):
    assert P.parse_workgroup(R.render_workgroups(workgroups)) == workgroups


@ROUND_TRIP
@given(nonempty(S.events))
def test_event_records(events):
    assert P.parse_event(R.render_events(events)) == events


@ROUND_TRIP
@given(st.lists(S.catalogue_events, max_size=5), st.sampled_from(["Low", "Medium", "High"]))
def test_event_catalogue(events, level):
    assert P.parse_event(R.render_event_catalogue(events, level)) == events


@ROUND_TRIP
@given(S.notify_configs)
def test_notify(config):
    assert P.parse_notify(R.render_notify(config)) == config


@ROUND_TRIP
@given(S.system_attributes)
def test_system(attrs):
    assert P.parse_system(R.render_system(attrs)) == attrs


@ROUND_TRIP
@given(nonempty(S.clusters))
def test_cluster(clusters):
    assert P.parse_cluster(R.render_cluster(clusters)) == clusters


@ROUND_TRIP
@given(S.versions)
def test_version(version):
    assert P.parse_version(R.render_version(version)) == version


@ROUND_TRIP
@given(S.system_reports, st.booleans())
def test_report(report, verbose):
    expected = report if verbose else replace(report, environment=())
    assert P.parse_report(R.render_report(report, verbose)) == expected


@ROUND_TRIP
@given(S.progress_summaries)
def test_summary(summary):
    assert (
        P.parse_progress("Discovery has finished for X\n" + R.render_summary(summary))[1] == summary
    )


# --- layouts: the renderers print what IBM's samples show ---------------------


def sample(relative: str, *, drop_echo: bool = False) -> str:
    text = (FIXTURES / relative).read_text()
    if drop_echo:
        text = text.split("\n", 1)[1]
    return text


@pytest.mark.parametrize(
    ("relative", "render", "drop_echo"),
    [
        (
            "workgroup/query-workgroup.txt",
            lambda t: R.render_workgroups(P.parse_workgroup(t)),
            True,
        ),
        (
            "disk_group/query-disk-group.txt",
            lambda t: R.render_disk_groups(P.parse_disk_group(t), Flavour.POWERVS),
            False,
        ),
        ("disk/query-disk-vm.txt", lambda t: R.render_disks(P.parse_disk(t)), False),
        ("vm/query-vm-backup.txt", lambda t: R.render_vms(P.parse_vm(t), Flavour.POWERVS), False),
        (
            "cluster/query-cluster-private-padded.txt",
            lambda t: R.render_cluster(P.parse_cluster(t)),
            True,
        ),
        ("system/query-system-public.txt", lambda t: R.render_system(P.parse_system(t)), False),
        ("version/query-version.txt", lambda t: R.render_version(P.parse_version(t)), False),
        ("notify/query-notify.txt", lambda t: R.render_notify(P.parse_notify(t)), True),
        ("event/query-event-record-form.txt", lambda t: R.render_events(P.parse_event(t)), True),
    ],
)
def test_render_reproduces_verbatim_sample(relative, render, drop_echo):
    text = sample(relative, drop_echo=drop_echo)
    # the sample's masked api_key is read blanked, so it prints blanked (issue 15)
    assert render(text) == redact_output(text)


def test_system_with_only_a_header():
    attrs = SystemAttributes(header="System-Wide Persistent Attributes")
    assert P.parse_system(R.render_system(attrs)) == attrs


def test_report_layout_matches_sample_up_to_the_blank_line():
    # The sample's blank line is a lone space in the doc; we print an empty line.
    text = sample("report/report-system.txt")
    rendered = R.render_report(P.parse_report(text), verbose=False)
    assert [line.rstrip() for line in rendered.splitlines()] == [
        line.rstrip() for line in text.splitlines()
    ]


def test_onprem_vm_layout():
    vms = [
        Vm(
            name="custA_vm1",
            uuid="1234-abcd",
            host="pbrazos",
            state="READY_TO_MOVE",
            priority="Medium",
        ),
        Vm(name="custA_vm9", state="UNMANAGED"),
    ]
    assert R.render_vms(vms, Flavour.ONPREM) == (
        "Unmanaged VMs:\n"
        "    custA_vm9\n"
        "All VMs:\n"
        "Name:                custA_vm1\n"
        "UUID:                1234-abcd\n"
        "Host:                pbrazos\n"
        "State:               READY_TO_MOVE\n"
        "Priority:            Medium\n"
        "\n"
        "Name:                custA_vm9\n"
        "State:               UNMANAGED\n"
    )


def test_multi_valued_fields_continue_at_the_value_column():
    site = P.parse_site("Name: s\nWorkspaces: a, b, c\n")[0]
    assert R.render_sites([site], Flavour.ONPREM) == (
        "Name:                s\nWorkspaces:          a\n                     b\n                     c\n"
    )


def test_powervs_sites_end_with_ibms_note():
    out = R.render_sites(
        P.parse_site(sample("site/query-site-public-with-note.txt")), Flavour.POWERVS
    )
    assert out.endswith("but others can be.\n")
    assert out.startswith("Name:                us-east\n")


def test_event_catalogue_layout():
    events = [KsysEvent("DISCOVERY_FAILED", "error", "Discovery has failed.")]
    lines = R.render_event_catalogue(events).splitlines()
    assert lines[0] == "Current Notification Level: Low"
    assert lines[1].split() == ["Event", "Name", "Event", "Type", "Description"]
    assert lines[2] == "-" * 80
    assert lines[3].split(None, 2) == ["DISCOVERY_FAILED", "error", "Discovery has failed."]
    assert "  " in lines[3]  # columns are separated by 2+ spaces, as real output is


def test_event_catalogue_refuses_event_without_type():
    with pytest.raises(ValueError, match="NO_TYPE"):
        R.render_event_catalogue([KsysEvent("NO_TYPE")])


def test_none_fields_are_not_rendered():
    assert R.render_vms([Vm(name="a", state="INIT")], Flavour.POWERVS) == (
        "Name:                a\nState:               INIT\n"
    )


def test_report_verbose_prints_environment_and_counts():
    report = SystemReport(
        messages=("KSYS is ready to be issued a command",),
        ksysmgr_version="1.10.0.0",
        ksys_version="1.10.0.0",
        counts=(("Number of sites", "2"), ("Total managed memory", "40960.00 MB")),
        environment=("Home Site: Austin", "    Host_Group: HA_DR_HG"),
    )
    out = R.render_report(report, verbose=True)
    assert "Home Site: Austin\n    Host_Group: HA_DR_HG\nNumber of sites:2\n" in out
    assert out.endswith("Total managed memory: 40960.00 MB\n")
    assert "Home Site" not in R.render_report(report, verbose=False)


def test_summary_wording():
    assert (
        R.render_summary(ProgressSummary(3, 4, "verified"))
        == "3 out of 4 VMs have been successfully verified\n"
    )
    assert (
        R.render_summary(ProgressSummary(1, 1, "moved"))
        == "1 out of 1 managed VMs have been successfully moved\n"
    )


def test_empty_list_renders_empty_output():
    assert R.render_vms([], Flavour.POWERVS) == ""
    assert R.render_vms([], Flavour.ONPREM) == "Unmanaged VMs:\nAll VMs:\n"
    assert P.parse_vm(R.render_vms([], Flavour.ONPREM)) == []
