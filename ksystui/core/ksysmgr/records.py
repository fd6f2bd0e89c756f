"""Generic reader of ksysmgr ``Key:<spaces>Value`` listings.

ksysmgr prints every ``query`` as records of ``Key: value`` lines (ksys-
reference §2.1). The padding between the colon and the value differs between
commands and releases (none, one space, value at column 22, 30, 32, ...), so a
non-indented line is split on its FIRST colon and both sides are stripped;
values may contain colons (``test.dev.com:1:Online``). An indented line
continues the value list of the field above it (``Workspaces:``, ``Region:``,
``DiskIDs:``), whatever it contains.

Records are separated by blank lines, or follow each other directly: a record
ends when its first key appears again (the private-cloud ``query site``
sample). Any other key repeated inside a record is an error, because silently
keeping either value would misreport the node.

Kind-specific shapes are declared by the caller rather than guessed:
``sections`` are header keys that stand alone (``Unmanaged VMs:``,
``Contact details:``), ``tables`` are keys followed by a column-aligned
sub-table (``Managed Host List:``), ``allow_title`` accepts one leading
line without a colon (``System-Wide Persistent Attributes``). ``Note:`` lines
are command-level remarks, kept apart from the records in ``Document.notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.lines import Line, last_content_no, split_lines

# A key names a field: it starts with a letter. Anything else before a colon
# ("05:31:41  Discovery ...", ": x") is not a record line.
_KEY = re.compile(r"[A-Za-z][^:]{0,79}")
_NOTE = "note"


def norm_key(key: str) -> str:
    """Key identity for matching: case, spaces and underscores do not count
    (``HomeWorkSpace`` = ``HomeWorkspace``, ``memory_capacity`` = ``Memory_capacity``)."""
    return key.lower().replace(" ", "").replace("_", "")


# Fields that hold a list, one entry per line. Some doc versions print their
# continuation lines without indentation ("Workspaces: a" / "b" / "c"): for
# these keys a non-indented line without a colon, which cannot be a key,
# continues the list instead of being an error (issue 15 layout variants).
MULTI_VALUED: frozenset[str] = frozenset(norm_key(k) for k in (
    "Workspaces", "ActiveWorkgroups", "Active Host_groups", "VMs", "Networks", "IPAddresses",
    "DiskIDs", "Region", "Regions", "SatelliteLocations", "Ksysnodes", "KsysState", "VIOS",
    "HMCs", "Active Site Hosts", "Backup Site Hosts", "Disk Pairs", "Network pair",
    "RehersalNetworkPair", "RehearsalNetworkPair", "RehearsalNetworks", "Event",
    "Unmanaged VMs", "Dedicated_Hosts", "Dedicated_HGs",
))


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # as printed, stripped
    norm: str  # norm_key(key)
    line_no: int
    line: str  # the normalised line the key is on
    values: tuple[str, ...]  # the value on the key line (if any), then continuation lines
    value_lines: tuple[int, ...]  # line number of each entry of ``values``

    @property
    def text(self) -> str:
        """All values joined by newlines; "" when the key has no value."""
        return "\n".join(self.values)


@dataclass(frozen=True, slots=True)
class Record:
    fields: tuple[Field, ...]

    @property
    def line_no(self) -> int:
        return self.fields[0].line_no

    @property
    def first(self) -> Field:
        return self.fields[0]

    def get(self, norm: str) -> Field | None:
        for f in self.fields:
            if f.norm == norm:
                return f
        return None

    def all(self, norm: str) -> tuple[Field, ...]:
        """Every field with this key (a ``repeatable`` key may appear more than once)."""
        return tuple(f for f in self.fields if f.norm == norm)


@dataclass(frozen=True, slots=True)
class Document:
    records: tuple[Record, ...]
    notes: tuple[Field, ...] = ()
    title: str | None = None
    last_line_no: int = 0  # number of the last line carrying output


@dataclass(slots=True)
class _Builder:
    key: str
    norm: str
    line_no: int
    line: str
    values: list[str] = field(default_factory=list)
    value_lines: list[int] = field(default_factory=list)
    table: bool = False

    def add(self, no: int, value: str) -> None:
        self.values.append(value)
        self.value_lines.append(no)

    def build(self) -> Field:
        return Field(
            self.key,
            self.norm,
            self.line_no,
            self.line,
            tuple(self.values),
            tuple(self.value_lines),
        )


class _Reader:
    def __init__(
        self,
        sections: frozenset[str],
        tables: frozenset[str],
        allow_title: bool,
        repeatable: frozenset[str] = frozenset(),
    ):
        self.sections = sections
        self.tables = tables
        self.allow_title = allow_title
        self.repeatable = repeatable
        self.records: list[Record] = []
        self.notes: list[_Builder] = []
        self.title: str | None = None
        self.current: list[_Builder] = []
        self.seen: set[str] = set()
        self.last: _Builder | None = None  # the field continuation lines extend
        self.content_seen = False
        self.in_section = False

    def close(self) -> None:
        if self.current:
            self.records.append(Record(tuple(b.build() for b in self.current)))
        self.current = []
        self.seen = set()
        self.in_section = False

    def feed(self, line: Line, last_no: int) -> None:
        if not line.content:
            # Blank lines, prompts, echoed commands and date stamps all end a record.
            self.close()
            self.last = None
            return
        first_content = not self.content_seen
        self.content_seen = True
        if line.indent:
            if self.last is None:
                raise KsysmgrParseError(ParseProblem.ORPHAN_CONTINUATION, line.no, line.text)
            self.last.add(line.no, line.stripped)
            return
        colon = line.text.find(":")
        if colon < 0:
            self._line_without_colon(line, last_no, first_content)
            return
        key = line.text[:colon].strip()
        if not _KEY.fullmatch(key):
            raise KsysmgrParseError(ParseProblem.NOT_A_RECORD, line.no, line.text)
        builder = _Builder(key, norm_key(key), line.no, line.text)
        value = line.text[colon + 1 :].strip()
        if value:
            builder.add(line.no, value)
        self._add_field(builder)

    def _line_without_colon(self, line: Line, last_no: int, first_content: bool) -> None:
        if self.last is not None and (self.last.table or self.last.norm in MULTI_VALUED):
            self.last.add(line.no, line.text)
            return
        if self.allow_title and first_content:
            self.title = line.text
            return
        if line.no == last_no and self.current:
            # The output stops in the middle of a record's key: cut off.
            raise KsysmgrParseError(
                ParseProblem.TRUNCATED, line.no, line.text, "no ':' on the last line"
            )
        raise KsysmgrParseError(ParseProblem.NOT_A_RECORD, line.no, line.text)

    def _add_field(self, builder: _Builder) -> None:
        if builder.norm == _NOTE:
            self.close()
            self.notes.append(builder)
            self.last = builder
            return
        section = builder.norm in self.sections
        if section or self.in_section or (self.current and builder.norm == self.current[0].norm):
            self.close()
        elif builder.norm in self.seen and builder.norm not in self.repeatable:
            raise KsysmgrParseError(
                ParseProblem.DUPLICATE_KEY, builder.line_no, builder.line, f"{builder.key!r} again"
            )
        builder.table = builder.norm in self.tables
        self.in_section = section  # a section header is a record of its own
        self.current.append(builder)
        self.seen.add(builder.norm)
        self.last = builder


def read_records(
    text: str,
    *,
    sections: frozenset[str] = frozenset(),
    tables: frozenset[str] = frozenset(),
    allow_title: bool = False,
    repeatable: frozenset[str] = frozenset(),
) -> Document:
    """Read ``text`` into records. ``sections``, ``tables`` and ``repeatable``
    (keys that may appear several times in one record, each kept as its own
    field) hold normalised keys (see :func:`norm_key`). Raises
    :class:`KsysmgrParseError`."""
    lines = split_lines(text)
    last_no = last_content_no(lines)
    reader = _Reader(sections, tables, allow_title, repeatable)
    for line in lines:
        reader.feed(line, last_no)
    reader.close()
    return Document(
        records=tuple(reader.records),
        notes=tuple(b.build() for b in reader.notes),
        title=reader.title,
        last_line_no=last_no,
    )
