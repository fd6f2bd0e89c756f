"""Per-VM steps of a DR test, a move or a cleanup, read from the operation's
progress stream (the output lines the arbiter stored with their arrival time).

KSYS prints one line when a step starts and one when it ends ("Rehearsal VM
creation has started for VM vm1" … "Rehearsal VM vm1_Rehearsal creation has
completed"); the message templates are classified by
``ksysmgr.progress_rules`` (sourced from ksys-reference §2.4; the real move,
unplanned cleanup and recover wording is INFERRED there). Here the two lines
of a step become one ``Step`` with its start and end, and the entities a step
names are brought back to the VM they belong to: a rehearsal clone
``<vm>_Rehearsal``, a backup ``<vm>_BackUp`` and, on PowerVS, the per-VM
workgroup ``<vm>_WG`` (INFERRED: the samples pair workgroup test_WG with VM
test and the simulator names workgroups so, but a real workgroup may hold
several VMs; a workgroup that names no VM of the stream stays an operation
step).

Times: the arrival time of the line (UTC, with its date) — the node's own
``HH:MM:SS`` stamp is in the node's local time and has no date.

A line no rule knows is kept in ``DrillProgress.unknown`` as it came: KSYS
prints many one-off lines, and a newer release may print new ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ksystui.core.ksysmgr.errors import KsysmgrParseError
from ksystui.core.ksysmgr.lines import split_lines
from ksystui.core.ksysmgr.parse_progress import parse_progress_line
from ksystui.core.op_detail import OutputLine

STARTED, COMPLETED, FAILED = "started", "completed", "failed"

# Clones and backups KSYS names after the VM (ksys-reference §2.4).
_VM_SUFFIXES = ("_Rehearsal", "_BackUp")
_WG_SUFFIX = "_WG"
# A step line no template knows, in the shape every known one has: the
# simulator's "Operation has failed for VM vm1: <reason>" of a contended host.
_GENERIC = re.compile(
    r"(?P<step>[A-Z][A-Za-z _-]*?) has (?P<phase>started|completed|failed) for "
    r"(?:(?P<kind>VM|Workgroup|Site|Host_Group|Host|Disk_Group) )?(?P<entity>\S+?)(?:: (?P<detail>.+))?"
)
_PHASES = {"started": STARTED, "in_progress": STARTED, "completed": COMPLETED, "finished": COMPLETED,
           "failed": FAILED}


@dataclass(frozen=True)
class Step:
    """One step of one VM (or of the operation): its latest state and when
    it reached it; ``started_at`` is when its "started" line came, if one did."""

    name: str  # e.g. "Rehearsal VM creation", "Volumes clone", "Boot up"
    state: str  # started | completed | failed
    at: datetime | None  # when the step reached ``state`` (UTC)
    detail: str = ""  # the reason a step failed, as the node printed it
    started_at: datetime | None = None
    subject: str = ""  # what the line named, e.g. "Disk_Group dg1", "VM vm1_Rehearsal"

    @property
    def duration(self) -> timedelta | None:
        """How long the step took (None while it runs or when a time is missing)."""
        if self.state == STARTED or self.started_at is None or self.at is None:
            return None
        return self.at - self.started_at

    @property
    def running(self) -> bool:
        return self.state == STARTED


@dataclass(frozen=True)
class VmSteps:
    """Every step of one VM, in the order they started."""

    vm: str
    steps: tuple[Step, ...]
    failed: bool

    @property
    def started_at(self) -> datetime | None:
        times = [t for s in self.steps if (t := s.started_at or s.at) is not None]
        return min(times) if times else None

    @property
    def running(self) -> Step | None:
        """The step now under way, if any."""
        return next((s for s in reversed(self.steps) if s.running), None)

    @property
    def failure(self) -> Step | None:
        return next((s for s in self.steps if s.state == FAILED), None)


@dataclass(frozen=True)
class DrillProgress:
    """The whole stream read: per-VM steps, the steps that name no VM (the
    site, a disk group's replication reversal, a workgroup of several VMs),
    and the lines no rule knows, kept as they came."""

    vms: tuple[VmSteps, ...]
    operation: tuple[Step, ...]
    unknown: tuple[OutputLine, ...]

    @property
    def failed(self) -> tuple[VmSteps, ...]:
        return tuple(v for v in self.vms if v.failed)


@dataclass(frozen=True)
class _Read:
    """One classified line: the step, its phase, what it names, when it came."""

    step: str
    phase: str
    kind: str | None
    entity: str
    detail: str
    at: datetime | None


def vm_steps(lines: Sequence[OutputLine]) -> list[VmSteps]:
    """Per VM, its steps from the progress stream, VMs in the order they first appear."""
    return list(read_progress(lines).vms)


def read_progress(lines: Sequence[OutputLine]) -> DrillProgress:
    """Read a DR test / move / cleanup stream whole; never fails on a line."""
    reads: list[_Read] = []
    unknown: list[OutputLine] = []
    for line in lines:
        read = _read(line)
        if read is None:
            if line.text.strip():
                unknown.append(line)
        else:
            reads.append(read)
    vms = _vm_names(reads)
    per_vm: dict[str, list[Step]] = {}
    operation: list[Step] = []
    for r in reads:
        vm = _owner(r, vms)
        if vm is None:  # steps of different sites, workgroups, disk groups stay apart
            _apply(operation, r, by_subject=True)
        else:  # a VM's step starts on "VM vm1" and ends on "vm1_Rehearsal": one step
            _apply(per_vm.setdefault(vm, []), r, by_subject=False)
    return DrillProgress(
        vms=tuple(VmSteps(vm, tuple(steps), any(s.state == FAILED for s in steps)) for vm, steps in per_vm.items()),
        operation=tuple(operation),
        unknown=tuple(unknown),
    )


def arrival(at: object) -> datetime | None:
    """An output line's arrival time as stored ("YYYY-MM-DD HH:MM:SS", UTC)."""
    if isinstance(at, datetime):
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    if not isinstance(at, str) or not at.strip() or at.strip() == "-":
        return None
    try:
        parsed = datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _read(line: OutputLine) -> _Read | None:
    try:
        found = [x for x in split_lines(line.text) if x.content]
    except KsysmgrParseError:
        return None
    if len(found) != 1:
        return None
    first = found[0]
    try:
        parsed = parse_progress_line(first.stripped, first.indent, first.no, first.text)
    except KsysmgrParseError:
        return None
    at = arrival(line.at)
    if parsed.step is not None and parsed.entity is not None and parsed.phase in _PHASES:
        return _Read(parsed.step, _PHASES[parsed.phase], parsed.entity_kind, parsed.entity, parsed.detail or "", at)
    if parsed.step is not None:
        return None  # a known line that names nothing ("Replication is going on in background")
    generic = _GENERIC.fullmatch(parsed.message)
    if generic is None:
        return None
    return _Read(generic["step"], _PHASES[generic["phase"]], generic["kind"], generic["entity"],
                 generic["detail"] or "", at)


def _base_vm(entity: str) -> str:
    for suffix in _VM_SUFFIXES:
        if entity.endswith(suffix) and len(entity) > len(suffix):
            return entity[: -len(suffix)]
    return entity


def _vm_names(reads: Sequence[_Read]) -> set[str]:
    return {_base_vm(r.entity) for r in reads if r.kind == "VM"}


def _owner(r: _Read, vms: set[str]) -> str | None:
    """The VM a line is about, or None for an operation-level line."""
    if r.kind == "VM":
        return _base_vm(r.entity)
    if r.kind == "Workgroup" and r.entity.endswith(_WG_SUFFIX):
        vm = r.entity[: -len(_WG_SUFFIX)]
        return vm if vm in vms else None
    return None


def _apply(steps: list[Step], r: _Read, *, by_subject: bool) -> None:
    """Fold one line into a list of steps: a start opens a step, an end closes
    the open step of the same name (or stands alone when no start was seen)."""
    subject = f"{r.kind} {r.entity}" if r.kind else r.entity
    open_at = next((i for i in range(len(steps) - 1, -1, -1)
                    if steps[i].name == r.step and steps[i].state == STARTED
                    and (not by_subject or steps[i].subject == subject)), None)
    if r.phase == STARTED:
        if open_at is None:  # a repeated "started" line (the samples have some) is the same step
            steps.append(Step(r.step, STARTED, r.at, r.detail, started_at=r.at, subject=subject))
        return
    if open_at is None:
        steps.append(Step(r.step, r.phase, r.at, r.detail, subject=subject))
        return
    steps[open_at] = replace(steps[open_at], state=r.phase, at=r.at, detail=r.detail)
