"""Per-VM steps read from a DR test / move / cleanup progress stream: the
verbatim KSYS samples (ksys-reference §2.4) and the simulator's lines as the
arbiter stores them (indented, ``HH:MM:SS`` stamp, arrival time in UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ksystui.core.drill_steps import COMPLETED, FAILED, STARTED, arrival, read_progress, vm_steps
from ksystui.core.op_detail import OutputLine

PROGRESS = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr" / "progress"
DAY = "2026-11-30"
_STAMP = re.compile(r"\s*([0-9]{2}:[0-9]{2}:[0-9]{2})")


def stored(text: str, day: str = DAY) -> list[OutputLine]:
    """Lines as the arbiter stores them: each with its arrival time (here the
    node's own stamp, or the previous line's when it printed none)."""
    out: list[OutputLine] = []
    last = "00:00:00"
    for raw in text.splitlines():
        m = _STAMP.match(raw)
        if m:
            last = m.group(1)
        out.append(OutputLine(f"{day} {last}", raw))
    return out


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"{DAY} {hms}").replace(tzinfo=UTC)


def names(vm) -> list[tuple[str, str]]:
    return [(s.name, s.state) for s in vm.steps]


def test_the_site_rehearsal_sample_gives_one_vm_with_each_step_and_its_duration():
    lines = stored((PROGRESS / "move-site-dr-test.txt").read_text(encoding="utf-8"))
    progress = read_progress(lines)
    [vm] = progress.vms
    assert vm.vm == "test"  # test_Rehearsal, test_BackUp and test_01_WG are the same VM's
    assert names(vm) == [
        ("Rehearsal VM creation", COMPLETED), ("Volumes clone", COMPLETED), ("Network configuration", COMPLETED),
        ("Volumes attachment", COMPLETED), ("Boot up", COMPLETED),
    ]
    assert not vm.failed and vm.running is None
    clone = vm.steps[1]
    assert (clone.started_at, clone.at, clone.duration) == (at("03:31:15"), at("03:32:41"), timedelta(seconds=86))
    assert vm.started_at == at("03:29:37")
    # the workgroup test_01_WG names no VM of the stream: an operation step, as is the site's
    assert [(s.name, s.subject, s.state) for s in progress.operation] == [
        ("dr_test move", "Site TargetSite", COMPLETED), ("dr_test move", "Workgroup test_01_WG", COMPLETED)]
    # the echoed command, the prompt and the "y" are kept, not lost
    assert any("initiating a failover rehearsal" in u.text for u in progress.unknown)


def test_the_workgroup_rehearsal_sample_attaches_the_workgroup_step_to_its_vm():
    [vm] = vm_steps(stored((PROGRESS / "move-workgroup-dr-test.txt").read_text(encoding="utf-8")))
    assert vm.vm == "test"
    assert ("dr_test move", COMPLETED) in names(vm)  # test_WG is the workgroup of VM test
    assert ("Boot up", COMPLETED) in names(vm)


def test_the_site_cleanup_sample_keeps_two_vms_apart_with_their_own_times():
    vms = vm_steps(stored((PROGRESS / "cleanup-site-dr-test.txt").read_text(encoding="utf-8")))
    assert [v.vm for v in vms] == ["test_VM2", "test_VM1"]
    vm2, vm1 = vms
    assert names(vm2) == [("VM removal", COMPLETED)]
    assert vm2.steps[0].duration == timedelta(minutes=12, seconds=54)
    assert names(vm1) == [("Volumes clone delete", COMPLETED), ("VM removal", COMPLETED)]


SIM_DR_TEST_FAILING = """\
15:00:00  Site dr_test move started for customerA_home to customerA_dr, this may take a few minutes...
        15:00:00  Rehearsal VM creation has started for VM vmA1
        15:00:06  Rehearsal VM vmA1_Rehearsal creation has completed
        15:00:06  VM Volumes clone with consistency has started for vmA1_BackUp
        15:00:08  VM Volumes clone with consistency has completed for vmA1_BackUp
        15:00:08  Boot up on customerA_dr Site has started for VM vmA1_Rehearsal
        15:00:13  Boot up on customerA_dr Site has completed for VM vmA1_Rehearsal
        15:00:13  Rehearsal VM creation has started for VM vmA2
        15:00:19  Rehearsal VM vmA2_Rehearsal creation has completed
        15:00:19  VM Volumes clone with consistency has started for vmA2_BackUp
        15:00:21  VM Volumes clone with consistency has failed for vmA2_BackUp: storage agent sa1 is unreachable
        15:00:21  Rehearsal VM creation has started for VM vmA3
something a newer KSYS prints that no rule knows
"""


def test_a_failed_step_keeps_its_reason_and_a_running_step_shows_as_running():
    progress = read_progress(stored(SIM_DR_TEST_FAILING))
    vm1, vm2, vm3 = progress.vms
    assert [v.vm for v in progress.vms] == ["vmA1", "vmA2", "vmA3"]
    assert not vm1.failed and [s.state for s in vm1.steps] == [COMPLETED] * 3
    assert vm2.failed and progress.failed == (vm2,)
    failure = vm2.failure
    assert failure is not None and failure.name == "Volumes clone" and failure.state == FAILED
    assert failure.detail == "storage agent sa1 is unreachable"
    assert failure.duration == timedelta(seconds=2)
    assert vm3.running is not None and vm3.running.name == "Rehearsal VM creation"
    assert vm3.steps[0].duration is None
    assert [u.text for u in progress.unknown] == ["something a newer KSYS prints that no rule knows"]


SIM_POWERVS_AND_MOVE = """\
15:10:00  Site move started for home to dr, this may take a few minutes...
        15:10:00  Shutdown on home Site has started for VM db1
        15:10:03  Shutdown on home Site has completed for VM db1
        15:10:03  Storage replication reversal has started for Disk_Group dg1
        15:10:07  Storage replication reversal has completed for Disk_Group dg1
        15:10:07  Boot up on dr Site has started for VM db1
        15:10:12  Boot up on dr Site has failed for VM db1: host h9 is not operating (state Failed)
        15:10:12  dr_test move has started for Workgroup app1_WG
        15:10:12  Rehearsal VM creation has started for VM app1
        15:10:13  Operation has failed for VM web1: recovery host h2 is busy with another operation
15:10:14  Site move failed from home to dr
0 out of 1 managed VMs have been successfully moved
"""


def test_moves_powervs_workgroups_and_unknown_step_lines_of_the_same_shape():
    progress = read_progress(stored(SIM_POWERVS_AND_MOVE))
    by = {v.vm: v for v in progress.vms}
    assert names(by["db1"]) == [("Shutdown", COMPLETED), ("Boot up", FAILED)]
    assert by["db1"].failure is not None and by["db1"].failure.detail.startswith("host h9")
    assert names(by["app1"]) == [("dr_test move", STARTED), ("Rehearsal VM creation", STARTED)]
    # a line no template knows but shaped like every step line: still the VM's failure
    assert by["web1"].failed and by["web1"].steps[0].name == "Operation"
    assert ("Storage replication reversal", COMPLETED) in [(s.name, s.state) for s in progress.operation]
    assert ("Move", FAILED) in [(s.name, s.state) for s in progress.operation]


def test_nothing_in_a_stream_makes_it_fail():
    garbage = [OutputLine("-", ""), OutputLine("not a time", "99:99:99  bad stamp"), OutputLine("-", "\x00\x01"),
               OutputLine("2026-11-30 10:00:00", "        10:00:00  Boot up on s Site has completed for VM v")]
    progress = read_progress(garbage)
    [vm] = progress.vms
    assert vm.steps[0].state == COMPLETED and vm.steps[0].started_at is None and vm.steps[0].duration is None
    assert len(progress.unknown) == 2
    assert vm_steps([]) == []


def test_arrival_times_are_utc():
    assert arrival("2026-11-30 10:00:00") == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert arrival("-") is None and arrival("") is None and arrival("yesterday") is None
    assert arrival(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
