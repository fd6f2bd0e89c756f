"""``ksysmgr query event``: the tabular catalogue and the record form.

Tabular (S1v1)::

    Current Notification Level: Low
    Event Name Event Type Description
    --------------------------------------------------------------------------------
    DISCOVERY_FAILED error Discovery has failed.

Real output aligns the columns with 2+ spaces; the doc sample collapsed them
to single spaces, so a row is split on its shape instead: an UPPER_SNAKE
event name, then the type word, then the description. Several listings may
follow each other (the sample pastes ``type=error`` and ``type=warning``).

Record form (S1): ``Event Name:`` / ``Event Type:`` / ``Description:`` plus the
INFERRED occurrence fields ``Time:``, ``Resource:``, ``Event ID:``.
"""

from __future__ import annotations

import re

from ksystui.core.ksysmgr import layouts
from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.lines import split_lines
from ksystui.core.ksysmgr.records import read_records
from ksystui.core.model import EVENT_TYPES, KsysEvent

_LEVEL = re.compile(r"Current Notification Level:\s*(\S.*)?", re.IGNORECASE)
_HEADER = re.compile(r"Event Name\s+Event Type\s+Description", re.IGNORECASE)
_RULE = re.compile(r"-{20,}")
_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
# IBM's docs shorten listings with a line of three dots; an operator pasting
# from them should not get an error for it.
_ELISION = "..."


def is_tabular(text: str) -> bool:
    for raw in text.splitlines():
        line = raw.replace("\u00a0", " ").strip()
        if _RULE.fullmatch(line) or _HEADER.fullmatch(line) or _LEVEL.match(line):
            return True
    return False


def parse_event_table(text: str) -> list[KsysEvent]:
    events: list[KsysEvent] = []
    for line in split_lines(text):
        if not line.content:
            continue
        body = line.stripped
        level = _LEVEL.fullmatch(body)
        if level:
            if level.group(1) is None:
                raise KsysmgrParseError(
                    ParseProblem.BAD_TABLE, line.no, line.text, "no notification level"
                )
            continue
        if _HEADER.fullmatch(body) or _RULE.fullmatch(body) or body == _ELISION:
            continue
        cells = body.split(None, 2)
        if len(cells) < 2 or not _NAME.fullmatch(cells[0]):
            raise KsysmgrParseError(
                ParseProblem.BAD_TABLE,
                line.no,
                line.text,
                "expected '<EVENT_NAME> <type> <description>'",
            )
        if cells[1] not in EVENT_TYPES:
            raise KsysmgrParseError(
                ParseProblem.UNKNOWN_STATE, line.no, line.text, f"event type {cells[1]!r}"
            )
        description = cells[2].strip() if len(cells) == 3 else None
        events.append(KsysEvent(name=cells[0], type=cells[1], description=description or None))
    return events


def parse_event(text: str) -> list[KsysEvent]:
    """Either form; returns the events in output order. The catalogue's
    notification level is a setting, not an event: read it with ``query system``."""
    if is_tabular(text):
        return parse_event_table(text)
    doc = read_records(text)
    return [layouts.EVENT.build(r, doc.last_line_no) for r in doc.records]
