"""ksysmgr output -> model objects: one ``parse_<kind>(text)`` per ksysmgr class.

Every parser raises :class:`KsysmgrParseError` (naming the line) and nothing
else, whatever the input. The record kinds share the reader in records.py and
the key tables in layouts.py; events, report and progress have their own
modules because their output is not (only) records. ``PARSERS`` maps the kind
names used by ``ksystui parse KIND`` to the functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from ksystui.core.ksysmgr import layouts
from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.jsonable import to_jsonable
from ksystui.core.ksysmgr.parse_events import parse_event
from ksystui.core.ksysmgr.parse_progress import parse_progress
from ksystui.core.ksysmgr.parse_report import parse_report
from ksystui.core.ksysmgr.parse_snapshot import parse_snapshot
from ksystui.core.ksysmgr.records import Document, Field, Record, norm_key, read_records
from ksystui.core.ksysmgr.schema import M, RecordSchema
from ksystui.core.model import (
    CG_STATES,
    Cluster,
    Disk,
    DiskGroup,
    DiskPair,
    Hmc,
    Host,
    HostGroup,
    NotifyConfig,
    Site,
    StorageAgent,
    SystemAttributes,
    Version,
    Vm,
    Workgroup,
)
from ksystui.core.secrets import REDACTED

__all__ = [
    "PARSERS",
    "parse_cluster",
    "parse_disk",
    "parse_disk_group",
    "parse_disk_pair",
    "parse_event",
    "parse_hmc",
    "parse_host",
    "parse_host_group",
    "parse_notify",
    "parse_progress",
    "parse_report",
    "parse_site",
    "parse_snapshot",
    "parse_storage_agent",
    "parse_system",
    "parse_version",
    "parse_vm",
    "parse_workgroup",
    "to_jsonable",
]


def _build_all(schema: RecordSchema[M], doc: Document) -> list[M]:
    return [schema.build(r, doc.last_line_no) for r in doc.records]


def parse_vm(text: str) -> list[Vm]:
    """``query vm``: PowerVS records, or the on-prem form with ``Unmanaged VMs:``
    (names only) and ``All VMs:`` (records) sections (INFERRED, §2.5)."""
    doc = read_records(text, sections=layouts.VM_SECTIONS)
    unmanaged: list[str] = []
    vms: list[Vm] = []
    for record in doc.records:
        if record.first.norm == norm_key("Unmanaged VMs"):
            unmanaged.extend(n for v in record.first.values for n in v.replace(",", " ").split())
        elif record.first.norm != norm_key("All VMs"):
            vms.append(layouts.VM.build(record, doc.last_line_no))
    listed = {vm.name for vm in vms}
    # A VM named only under "Unmanaged VMs:" still exists: keep it, state UNMANAGED.
    vms.extend(
        Vm(name=name, state="UNMANAGED") for name in dict.fromkeys(unmanaged) if name not in listed
    )
    return vms


def parse_site(text: str) -> list[Site]:
    """``query site``. The trailing ``Note:`` is a remark about the listing, not a field."""
    return _build_all(layouts.SITE, read_records(text))


def parse_host(text: str) -> list[Host]:
    return _build_all(layouts.HOST, read_records(text))


_HMC_TABLE = norm_key(layouts.HMC_TABLE_KEY)
_HMC_HEADER = re.compile(r"Host\s*Name\s+Uuid", re.IGNORECASE)
_HMC_RULE = re.compile(r"=+\s+=+")


def _managed_hosts(field: Field) -> tuple[tuple[str, str], ...]:
    rows = list(zip(field.value_lines, field.values, strict=True))
    if rows and _HMC_HEADER.fullmatch(rows[0][1]):
        rows.pop(0)
        if rows and _HMC_RULE.fullmatch(rows[0][1]):
            rows.pop(0)
    hosts: list[tuple[str, str]] = []
    for no, row in rows:
        cells = row.split(None, 1)
        if len(cells) != 2 or _HMC_RULE.fullmatch(row):
            raise KsysmgrParseError(
                ParseProblem.BAD_TABLE, no, row, "expected '<host name> <uuid>'"
            )
        hosts.append((cells[0], cells[1].strip()))
    return tuple(hosts)


def parse_hmc(text: str) -> list[Hmc]:
    """``query hmc`` (INFERRED layout, §2.5) with its ``Managed Host List:`` sub-table."""
    doc = read_records(text, tables=frozenset({_HMC_TABLE}))
    hmcs = []
    for record in doc.records:
        table = record.get(_HMC_TABLE)
        rest = Record(tuple(f for f in record.fields if f.norm != _HMC_TABLE))
        hosts = _managed_hosts(table) if table else ()
        if not rest.fields:
            raise KsysmgrParseError(
                ParseProblem.MISSING_KEY, record.line_no, record.first.line, "no 'Name'"
            )
        hmcs.append(layouts.HMC.build(rest, doc.last_line_no, managed_hosts=hosts))
    return hmcs


def parse_host_group(text: str) -> list[HostGroup]:
    return _build_all(layouts.HOST_GROUP, read_records(text))


def parse_storage_agent(text: str) -> list[StorageAgent]:
    """``query storage_agent`` (INFERRED layout). The login, printed ``Login:``
    or ``User:``, is a credential: blanked here (``Login:`` already is, by
    the line reader; core.secrets)."""
    agents = _build_all(layouts.STORAGE_AGENT, read_records(text))
    return [a if a.login in (None, REDACTED) else replace(a, login=REDACTED) for a in agents]


def parse_workgroup(text: str) -> list[Workgroup]:
    return _build_all(layouts.WORKGROUP, read_records(text))


def parse_disk_group(text: str) -> list[DiskGroup]:
    """``query disk_group`` (PowerVS ``WGName:`` records, or on-prem ``Name:`` records)."""
    doc = read_records(text)
    groups = []
    for record in doc.records:
        group = layouts.DISK_GROUP.build(record, doc.last_line_no)
        if group.name is None and group.workgroup is None:
            raise KsysmgrParseError(
                ParseProblem.MISSING_KEY, record.line_no, record.first.line, "no 'WGName' or 'Name'"
            )
        groups.append(group)
    return groups


def parse_disk_pair(text: str) -> list[DiskPair]:
    return _build_all(layouts.DISK_PAIR, read_records(text))


_VOLUME_TABLE = norm_key("Volume Details")
_PIPE_RULE = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")
_VOLUME_HEADER = ("volume", "state", "progress(%)")


def _pipe_cells(row: str) -> list[str]:
    body = row.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def _volume_rows(field: Field) -> tuple[tuple[str, str, str], ...]:
    """``Volume Details:`` as a Markdown-style pipe table (one doc version) or
    whitespace-aligned columns: ``| Volume | State | Progress (%) |``, an
    optional ``|---|`` rule, then one row per volume pair."""
    rows: list[tuple[str, str, str]] = []
    for no, row in zip(field.value_lines, field.values, strict=True):
        if _PIPE_RULE.fullmatch(row.strip()):
            continue
        cells = _pipe_cells(row) if "|" in row else re.split(r"\s{2,}", row.strip())
        if [c.lower().replace(" ", "") for c in cells] == list(_VOLUME_HEADER):
            continue
        if len(cells) != 3 or not all(cells):
            raise KsysmgrParseError(
                ParseProblem.BAD_TABLE, no, row, "expected '| <volume> | <state> | <progress> |'"
            )
        volume, state, progress = cells
        if state not in CG_STATES:
            raise KsysmgrParseError(ParseProblem.UNKNOWN_STATE, no, row, f"volume state {state!r}")
        if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", progress):
            raise KsysmgrParseError(ParseProblem.BAD_VALUE, no, row, "progress is not a number")
        rows.append((volume, state, progress))
    return tuple(rows)


def _join_table_after_blank(text: str) -> str:
    """A blank line between ``Volume Details:`` and its first ``|`` row (how a
    Markdown table is written) would end the record: drop it, keeping the line
    count (the blank becomes a lone pipe rule)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if norm_key(line.split(":", 1)[0]) == _VOLUME_TABLE and line.rstrip().endswith(":"):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j].lstrip().startswith("|"):
                for k in range(i + 1, j):
                    lines[k] = "|---|"
    return "\n".join(lines)


def parse_disk(text: str) -> list[Disk]:
    """``query disk vm=<vm>``: ``VM: <vm> <-> <backup vm>`` then the disks, and
    after an unmanaged disk a ``Volume Details:`` table (pipe or aligned)."""
    doc = read_records(_join_table_after_blank(text), tables=frozenset({_VOLUME_TABLE}))
    disks = []
    for record in doc.records:
        table = record.get(_VOLUME_TABLE)
        if table is not None:
            record = Record(tuple(f for f in record.fields if f.norm != _VOLUME_TABLE))
        disk = layouts.DISK.build(record, doc.last_line_no)
        if table is not None:
            disk = replace(disk, volumes=_volume_rows(table))
        vm, sep, partner = disk.vm.partition("<->")
        if sep:
            disk = replace(disk, vm=vm.strip(), partner_vm=partner.strip() or None)
        if not disk.vm:
            field = record.get(norm_key("VM"))
            assert field is not None  # required by the schema
            raise KsysmgrParseError(ParseProblem.BAD_VALUE, field.line_no, field.line, "no VM name")
        disks.append(disk)
    return disks


def parse_cluster(text: str) -> list[Cluster]:
    return _build_all(layouts.CLUSTER, read_records(text))


def _single(doc: Document) -> Record:
    """All fields of a one-object listing as one record; a key seen twice is an error."""
    fields: list[Field] = []
    seen: set[str] = set()
    for record in doc.records:
        for f in record.fields:
            if f.norm in seen:
                raise KsysmgrParseError(
                    ParseProblem.DUPLICATE_KEY, f.line_no, f.line, f"{f.key!r} again"
                )
            seen.add(f.norm)
            fields.append(f)
    if not fields:
        raise KsysmgrParseError(ParseProblem.EMPTY, 1, "", "no 'Key: value' lines")
    return Record(tuple(fields))


def parse_version(text: str) -> Version:
    """``query version``: ``Ksysmgr version:`` and ``Ksys version:``."""
    doc = read_records(text)
    return layouts.VERSION.build(_single(doc), doc.last_line_no)


def parse_system(text: str) -> SystemAttributes:
    """``query system``: every attribute as printed, multi-line values (``Region``)
    one entry per line, masked secrets (``#####...``) kept verbatim."""
    doc = read_records(text, allow_title=True)
    if not doc.records:
        return SystemAttributes(header=doc.title)
    record = _single(doc)
    return SystemAttributes(
        attributes=tuple((f.key, f.values) for f in record.fields), header=doc.title
    )


_CONTACT_SECTION = norm_key("Contact details")
_SCRIPT_SECTION = norm_key("Script details")
_USER, _CONTACT, _SCRIPT, _EVENT = (norm_key(k) for k in ("User", "Contact", "Script", "Event"))


def _required(record: Record, norm: str, name: str, last_line_no: int) -> Field:
    f = record.get(norm)
    if f is None:
        raise KsysmgrParseError(
            ParseProblem.MISSING_KEY, record.line_no, record.first.line, f"no {name!r}"
        )
    if not f.values:
        problem = ParseProblem.TRUNCATED if f.line_no == last_line_no else ParseProblem.BAD_VALUE
        raise KsysmgrParseError(problem, f.line_no, f.line, f"{name} has no value")
    return f


def parse_notify(text: str) -> NotifyConfig:
    """``query notify``: ``Contact details:`` (User/Contact pairs) and ``Script
    details:`` (Script/Event pairs; a script bound to several events may list
    them comma-separated or on continuation lines)."""
    # One script bound to several events: "Script:" once, then one "Event:" per
    # binding, or one "Script:"/"Event:" pair per binding (addendum).
    doc = read_records(
        text,
        sections=frozenset({_CONTACT_SECTION, _SCRIPT_SECTION}),
        repeatable=frozenset({_EVENT}),
    )
    last = doc.last_line_no
    contacts: list[tuple[str, str]] = []
    scripts: list[tuple[str, str]] = []
    extra: list[tuple[str, str]] = []
    known = {_USER, _CONTACT, _SCRIPT, _EVENT}
    for record in doc.records:
        if record.first.norm in (_CONTACT_SECTION, _SCRIPT_SECTION):
            continue
        if record.get(_USER) or record.get(_CONTACT):
            user = _required(record, _USER, "User", last).text
            contacts.append((user, _required(record, _CONTACT, "Contact", last).text))
        if record.get(_SCRIPT) or record.get(_EVENT):
            script = _required(record, _SCRIPT, "Script", last).text
            _required(record, _EVENT, "Event", last)
            for event_field in record.all(_EVENT):
                if not event_field.values:
                    raise KsysmgrParseError(
                        ParseProblem.BAD_VALUE, event_field.line_no, event_field.line, "Event has no value"
                    )
                scripts.extend(
                    (script, e.strip())
                    for line in event_field.values
                    for e in line.split(",")
                    if e.strip()
                )
        extra.extend((f.key, f.text) for f in record.fields if f.norm not in known)
    return NotifyConfig(contacts=tuple(contacts), scripts=tuple(scripts), extra=tuple(extra))


PARSERS: dict[str, Callable[[str], object]] = {
    "vm": parse_vm,
    "site": parse_site,
    "host": parse_host,
    "hmc": parse_hmc,
    "host_group": parse_host_group,
    "workgroup": parse_workgroup,
    "storage_agent": parse_storage_agent,
    "disk_group": parse_disk_group,
    "disk_pair": parse_disk_pair,
    "disk": parse_disk,
    "event": parse_event,
    "notify": parse_notify,
    "system": parse_system,
    "cluster": parse_cluster,
    "report": parse_report,
    "progress": parse_progress,
    "version": parse_version,
    "snapshot": parse_snapshot,
}
