"""Typed errors for reading ksysmgr output and commands."""

from __future__ import annotations

from enum import StrEnum


class ParseProblem(StrEnum):
    EMPTY = "empty input"
    BINARY = "binary data"
    TRUNCATED = "truncated record"
    DUPLICATE_KEY = "duplicate key"
    UNKNOWN_STATE = "unknown state"
    MISSING_KEY = "missing required key"
    NOT_A_RECORD = "not a 'Key: value' line"
    ORPHAN_CONTINUATION = "continuation line with no field before it"
    BAD_VALUE = "bad value"
    BAD_PROGRESS = "not a progress line"
    BAD_TABLE = "malformed table"


class KsysmgrParseError(ValueError):
    """ksysmgr output that ksystui cannot read. Names the 1-based line."""

    def __init__(self, problem: ParseProblem, line_no: int, line: str = "", detail: str = ""):
        self.problem = problem
        self.line_no = line_no
        self.line = line
        self.detail = detail
        text = f"line {line_no}: {problem.value}"
        if detail:
            text += f" ({detail})"
        if line:
            shown = line if len(line) <= 80 else line[:77] + "..."
            text += f": {shown!r}"
        super().__init__(text)


class KsysmgrUsageError(ValueError):
    """A ksysmgr command line that ksysmgr itself would refuse.

    ``rc`` is the exit status the real command gives: 3 (RC_MISSING_INPUT) or
    4 (RC_INCORRECT_INPUT); ``usage`` is the help text it prints."""

    def __init__(self, rc: int, message: str, usage: str = ""):
        self.rc = rc
        self.message = message
        self.usage = usage
        super().__init__(message)
