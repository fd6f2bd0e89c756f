"""Progress output of discover / verify / move / cleanup / resync / unmanage / recover.

Layout (S1, verbatim): with ``-t`` each line is ``HH:MM:SS<spaces>message``;
nested steps are indented about 8 spaces (7 in one sample) and read as depth
1; lines without a time are allowed (``Workgroup <wg> resync has started``,
the rehearsal prompt and its echoed ``y``). The last line
``N out of M managed VMs have been successfully <verb>`` is the summary.

Each message is classified by the table in progress_rules.py; a message no
rule knows keeps ``step``/``phase`` None, which is not an error: KSYS prints
many one-off lines.
"""

from __future__ import annotations

import re

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.lines import split_lines
from ksystui.core.ksysmgr.progress_rules import classify
from ksystui.core.model import ProgressLine, ProgressSummary

_TIMED = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?: +(.*))?")
# Something that wants to be a time stamp but is not a valid HH:MM:SS.
_TIMEISH = re.compile(r"[0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2})?(?: |$)")
_SUMMARY = re.compile(
    r"([0-9]+) out of ([0-9]+) (?:managed )?VMs have been successfully ([A-Za-z_]+)\.?"
)
# Nested steps are printed 8 spaces in; 4 or more counts as one level.
_STEP_INDENT = 8


def depth_of(indent: int) -> int:
    if indent < _STEP_INDENT // 2:
        return 0
    return max(1, (indent + _STEP_INDENT // 2) // _STEP_INDENT)


def parse_progress_line(text: str, indent: int, line_no: int, raw: str) -> ProgressLine:
    """One stripped, non-blank progress line (without a summary check)."""
    time: str | None = None
    message = text
    timed = _TIMED.fullmatch(text)
    if timed:
        hh, mm, ss, rest = timed.groups()
        if int(hh) > 23 or int(mm) > 59 or int(ss) > 59:
            raise KsysmgrParseError(ParseProblem.BAD_PROGRESS, line_no, raw, "time out of range")
        if not rest:
            raise KsysmgrParseError(
                ParseProblem.BAD_PROGRESS, line_no, raw, "time stamp without a message"
            )
        time, message = f"{hh}:{mm}:{ss}", rest.strip()
    elif _TIMEISH.match(text):
        raise KsysmgrParseError(
            ParseProblem.BAD_PROGRESS, line_no, raw, "not an HH:MM:SS time stamp"
        )
    step, phase, kind, entity, detail = classify(message)
    return ProgressLine(
        message=message,
        time=time,
        depth=depth_of(indent),
        step=step,
        phase=phase,
        entity_kind=kind,
        entity=entity,
        detail=detail,
    )


def parse_progress(text: str) -> tuple[list[ProgressLine], ProgressSummary | None]:
    """All progress lines in order, and the summary line if the output has one.
    Should two operations' output be pasted together, the last summary wins and
    the earlier one stays in the lines as an unclassified message."""
    lines: list[ProgressLine] = []
    summary: ProgressSummary | None = None
    summary_at = -1
    for line in split_lines(text):
        if not line.content:
            continue
        body = line.stripped
        match = _SUMMARY.fullmatch(body)
        if match:
            summary = ProgressSummary(int(match.group(1)), int(match.group(2)), match.group(3))
            summary_at = len(lines)
            lines.append(ProgressLine(message=body, depth=depth_of(line.indent)))
            continue
        lines.append(parse_progress_line(body, line.indent, line.no, line.text))
    if summary is not None:
        del lines[summary_at]
    return lines, summary
