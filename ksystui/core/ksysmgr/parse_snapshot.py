"""``ksysmgr query snapshot filepath=…``: the contents of a configuration snapshot.

::

    ---- Snapshot Contents ----
    File: /var/ksys/snapshots/oldclust_DETAILED_2024-07-29_06:35:30.xml
    VMRM Version:1.8.0.1
    Date: 2024-07-29
    Time: 06:35:30
    --------------------------
    Cluster:
    --------
    Name: pvs_dr

One doc version prints ``Date: 0000-00-00`` (no date), version 1.8.0.1 a real
one (reference addendum); both are accepted.
"""

from __future__ import annotations

import re

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.lines import split_lines
from ksystui.core.ksysmgr.records import norm_key
from ksystui.core.model import SnapshotInfo

_SNAP_RULE = re.compile(r"-{3,}(?: *Snapshot Contents *-{3,})?", re.IGNORECASE)
_SNAP_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_SNAP_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")
_SNAP_HEAD = {norm_key(k): k for k in ("File", "VMRM Version", "Date", "Time")}


def parse_snapshot(text: str) -> SnapshotInfo:
    """``query snapshot filepath=…``: ``---- Snapshot Contents ----``, the
    header (``File``, ``VMRM Version``, ``Date``, ``Time``), then titled
    sections (``Cluster:`` over a dashed rule) of ``Key: value`` lines.
    ``Date: 0000-00-00`` (one doc version) is no date; a real date
    (``2024-07-29``, version 1.8.0.1) is kept."""
    head: dict[str, str] = {}
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    lines = [line for line in split_lines(text) if line.content]
    for i, line in enumerate(lines):
        body = line.stripped
        if _SNAP_RULE.fullmatch(body):
            continue
        key, colon, value = body.partition(":")
        if not colon or not key.strip():
            raise KsysmgrParseError(ParseProblem.NOT_A_RECORD, line.no, line.text)
        norm, value = norm_key(key), value.strip()
        following = lines[i + 1].stripped if i + 1 < len(lines) else ""
        if not value and re.fullmatch(r"-{3,}", following):
            sections.append((key.strip(), []))
        elif sections:
            sections[-1][1].append((key.strip(), value))
        elif norm in _SNAP_HEAD:
            if norm in head:
                raise KsysmgrParseError(
                    ParseProblem.DUPLICATE_KEY, line.no, line.text, f"{key.strip()!r} again"
                )
            head[norm] = value
        else:
            raise KsysmgrParseError(
                ParseProblem.NOT_A_RECORD, line.no, line.text, "not a snapshot header key"
            )
        if norm == "date" and not sections and not _SNAP_DATE.fullmatch(value):
            raise KsysmgrParseError(ParseProblem.BAD_VALUE, line.no, line.text, "Date is not YYYY-MM-DD")
        if norm == "time" and not sections and value and not _SNAP_TIME.fullmatch(value):
            raise KsysmgrParseError(ParseProblem.BAD_VALUE, line.no, line.text, "Time is not HH:MM:SS")
    if not head and not sections:
        first = lines[0] if lines else None
        raise KsysmgrParseError(
            ParseProblem.MISSING_KEY, first.no if first else 1, first.text if first else "", "no snapshot contents"
        )
    date = head.get("date")
    return SnapshotInfo(
        file=head.get("file") or None,
        vmrm_version=head.get(norm_key("VMRM Version")) or None,
        date=None if date in (None, "", "0000-00-00") else date,
        time=head.get("time") or None,
        sections=tuple((title, tuple(pairs)) for title, pairs in sections),
    )
