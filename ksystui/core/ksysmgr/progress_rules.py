"""What a progress message says: step, phase, entity kind and entity.

One regex per message template of ksys-reference §2.4 (wording sourced from
the S1 samples) plus the on-prem templates we INFERRED for verify, on-prem
discover, real (non-rehearsal) move, unplanned cleanup and recover (no public
sample shows them; the simulator prints exactly these). The first matching
rule wins, so more specific templates come before general ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KIND = r"(?P<kind>VM|Workgroup|Site|Host_Group|Host|Disk_Group)"
_ENT = r"(?P<entity>\S+?)"
_PH = r"(?P<phase>started|completed|failed)"
_TAIL = r", this may take a few minutes\.\.\."
# "Verification has failed for VM vm1: not enough memory" (INFERRED) - the reason.
_DETAIL = r"(?:: (?P<detail>.+))?"
_TARGET = r"\S+"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    step: str
    phase: str | None = None  # fixed phase when the template has no (?P<phase>)
    kind: str | None = None  # fixed entity kind when the template has no (?P<kind>)


def _r(template: str, step: str, phase: str | None = None, kind: str | None = None) -> Rule:
    return Rule(re.compile(template), step, phase, kind)


RULES: tuple[Rule, ...] = (
    # discover (S1); INFERRED: the on-prem per-host "for Host <host>" variant
    _r(rf"Running discovery on entire site{_TAIL}", "Discovery", "started", "Site"),
    _r(rf"Running discovery on {_KIND} {_ENT}{_TAIL}", "Discovery", "started"),
    _r(rf"Discovery has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Discovery"),
    _r(rf"Discovery for {_KIND} {_ENT} is complete", "Discovery", "completed"),
    _r(rf"Discovery has finished for {_ENT}", "Discovery", "finished"),
    _r(
        rf"Replication enablement for volumes has {_PH} for {_KIND} {_ENT}{_DETAIL}",
        "Replication enablement",
    ),
    _r(rf"Backup VM creation has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Backup VM creation"),
    _r(rf"Backup VM {_ENT} creation has {_PH}{_DETAIL}", "Backup VM creation", kind="VM"),
    _r(
        rf"Backup VM configuration update has {_PH} for {_KIND} {_ENT}{_DETAIL}",
        "Backup VM configuration update",
    ),
    _r(rf"Network Configuration has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Network configuration"),
    _r(r"Replication is going on in background\..*", "Replication", "in_progress"),
    # INFERRED: on-prem verify
    _r(
        rf"(?P<kind>Site|Host_Group) verification started for {_ENT}{_TAIL}",
        "Verification",
        "started",
    ),
    _r(rf"Verification has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Verification"),
    _r(rf"Verification for {_KIND} {_ENT} is complete", "Verification", "completed"),
    _r(rf"Verification has finished for {_ENT}", "Verification", "finished"),
    # resync (S1)
    _r(rf"Workgroup {_ENT} resync has {_PH}", "Resync", kind="Workgroup"),
    _r(rf"Resync is in progress for {_KIND} {_ENT}", "Resync", "in_progress"),
    _r(rf"Resync has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Resync"),
    # shutdown / boot (S1); INFERRED: "Shutdown on <site> Site" of a real move
    _r(rf"Shutdown(?: on {_TARGET} Site)? has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Shutdown"),
    _r(rf"Boot up on {_TARGET} Site has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Boot up"),
    # DR rehearsal move (S1)
    _r(
        rf"(?P<kind>Workgroup|Site|Host_Group) dr_test move started for {_ENT} to {_TARGET}{_TAIL}",
        "dr_test move",
        "started",
    ),
    _r(
        rf"(?:Workgroup|Site|Host_Group) dr_test move (?P<phase>completed|failed) for {_KIND} {_ENT} to {_TARGET}",
        "dr_test move",
    ),
    _r(rf"dr_test move has {_PH} for {_KIND} {_ENT}{_DETAIL}", "dr_test move"),
    _r(rf"Rehearsal VM creation has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Rehearsal VM creation"),
    _r(rf"Rehearsal VM {_ENT} creation has {_PH}{_DETAIL}", "Rehearsal VM creation", kind="VM"),
    _r(
        rf"VM Volumes clone with consistency delete has {_PH} for (?:VM )?{_ENT}{_DETAIL}",
        "Volumes clone delete",
        kind="VM",
    ),
    _r(
        rf"VM Volumes clone with consistency has {_PH} for (?:VM )?{_ENT}{_DETAIL}",
        "Volumes clone",
        kind="VM",
    ),
    _r(rf"Volumes attachment has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Volumes attachment"),
    # DR rehearsal cleanup (S1)
    _r(
        rf"(?P<kind>Workgroup|Site|Host_Group) dr_test cleanup started for {_ENT}{_TAIL}",
        "dr_test cleanup",
        "started",
    ),
    _r(
        rf"(?:Workgroup |Site |Host_Group )?dr_test cleanup has {_PH} for {_KIND} {_ENT}{_DETAIL}",
        "dr_test cleanup",
    ),
    _r(rf"VM Removal has {_PH} for {_KIND} {_ENT}{_DETAIL}", "VM removal"),
    # INFERRED: real (non-rehearsal) move, planned or unplanned
    _r(
        rf"(?P<kind>Site|Host_Group|Workgroup) move started for {_ENT} to {_TARGET}{_TAIL}",
        "Move",
        "started",
    ),
    _r(
        rf"(?P<kind>Site|Host_Group|Workgroup) move (?P<phase>completed|failed) from {_ENT} to {_TARGET}",
        "Move",
    ),
    _r(rf"Move has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Move"),
    _r(
        rf"Storage replication reversal has {_PH} for {_KIND} {_ENT}{_DETAIL}",
        "Storage replication reversal",
    ),
    # INFERRED: cleanup after an unplanned move
    _r(rf"(?P<kind>Site|Host_Group) cleanup started for {_ENT}{_TAIL}", "Cleanup", "started"),
    _r(rf"(?:Site |Host_Group )?[Cc]leanup has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Cleanup"),
    # INFERRED: recover
    _r(rf"Recovery has {_PH} for {_KIND} {_ENT}{_DETAIL}", "Recovery"),
    # unmanage / manage (S1)
    _r(rf"Unmanage vm has started{_TAIL}", "Unmanage", "started", "VM"),
    _r(rf"VM {_ENT} was successfully unmanaged\.?", "Unmanage", "completed", "VM"),
    _r(rf"VM {_ENT} was successfully managed\.?", "Manage", "completed", "VM"),
    _r(rf"{_ENT} Workgroup stop VG has {_PH}", "VG stop", kind="Workgroup"),
    _r(
        rf"Removal of VG disks from {_ENT} Workgroup has {_PH}",
        "VG disks removal",
        kind="Workgroup",
    ),
    _r(rf"Workgroup {_ENT} was removed", "Workgroup removal", "completed", "Workgroup"),
)


def classify(message: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(step, phase, entity_kind, entity, detail) of a message; all None if unknown."""
    for rule in RULES:
        m = rule.pattern.fullmatch(message)
        if m is None:
            continue
        groups = m.groupdict()
        phase = groups.get("phase") or rule.phase
        kind = groups.get("kind") or rule.kind
        return rule.step, phase, kind, groups.get("entity"), groups.get("detail")
    return None, None, None, None, None
