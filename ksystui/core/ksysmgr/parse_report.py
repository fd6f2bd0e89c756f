"""``ksysmgr [-v] report system`` (on-prem VMRM DR 1.10, IBM-R; verbatim layout).

::

    This is the latest KSYS configurations, please run discover to capture any changes

    KSYS is ready to be issued a command
    Ksysmgr version: 1.10.0.0
    Ksys version:    1.10.0.0
    Status:
    Current environment:
    ====================
    Number of sites:2
    ...
    Total managed memory: 40960.00 MB

Lines before ``Current environment:`` that are not one of the three keys are
status messages. After it, ``Number of ...:`` / ``Total ...:`` lines are counts
(note the missing space in ``Number of sites:2``); with ``-v`` the rest is the
indented configuration tree, kept line by line as printed.
"""

from __future__ import annotations

import re

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.lines import last_content_no, split_lines
from ksystui.core.ksysmgr.records import norm_key
from ksystui.core.model import SystemReport

_HEAD_KEYS = {
    norm_key("Ksysmgr version"): "ksysmgr_version",
    norm_key("Ksys version"): "ksys_version",
    "status": "status",
}
_ENVIRONMENT = norm_key("Current environment")
_RULE = re.compile(r"=+")
_COUNT = re.compile(r"((?:Number of|Total)\b[^:]*):(.*)")
# A count is a number, optionally with a unit: "2", "8.00", "40960.00 MB".
_COUNT_VALUE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?: \S+)?")


def parse_report(text: str) -> SystemReport:
    lines = split_lines(text)
    last = last_content_no(lines)
    messages: list[str] = []
    head: dict[str, str | None] = {}
    counts: list[tuple[str, str]] = []
    environment: list[str] = []
    count_keys: set[str] = set()
    in_body = False
    for line in lines:
        if not line.content:
            continue
        body = line.stripped
        if not in_body:
            key, colon, value = body.partition(":")
            norm = norm_key(key)
            if colon and norm == _ENVIRONMENT:
                in_body = True
            elif colon and norm in _HEAD_KEYS:
                attr = _HEAD_KEYS[norm]
                if attr in head:
                    raise KsysmgrParseError(
                        ParseProblem.DUPLICATE_KEY, line.no, line.text, f"{key.strip()!r} again"
                    )
                head[attr] = value.strip() or None
            else:
                messages.append(body)
            continue
        count = _COUNT.fullmatch(line.text)
        if count:
            key, value = count.group(1).strip(), count.group(2).strip()
            if not value:
                problem = ParseProblem.TRUNCATED if line.no == last else ParseProblem.BAD_VALUE
                raise KsysmgrParseError(problem, line.no, line.text, f"{key} has no value")
            if not _COUNT_VALUE.fullmatch(value):
                raise KsysmgrParseError(
                    ParseProblem.BAD_VALUE, line.no, line.text, f"{key} is not a number"
                )
            if key in count_keys:
                raise KsysmgrParseError(
                    ParseProblem.DUPLICATE_KEY, line.no, line.text, f"{key!r} again"
                )
            count_keys.add(key)
            counts.append((key, value))
        elif not (_RULE.fullmatch(line.text) and not counts and not environment):
            environment.append(line.text)
    if not in_body and head.get("ksysmgr_version") is None:
        first = next(line for line in lines if line.content)
        raise KsysmgrParseError(
            ParseProblem.MISSING_KEY,
            first.no,
            first.text,
            "no 'Ksysmgr version:' or 'Current environment:'",
        )
    return SystemReport(
        messages=tuple(messages),
        ksysmgr_version=head.get("ksysmgr_version"),
        ksys_version=head.get("ksys_version"),
        status=head.get("status"),
        counts=tuple(counts),
        environment=tuple(environment),
    )
