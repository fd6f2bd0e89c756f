"""Progress lines and the summary line as ksysmgr prints them (S1 layout)."""

from __future__ import annotations

from ksystui.core.model import ProgressLine, ProgressSummary

STEP_INDENT = " " * 8  # nested steps (depth 1) are printed 8 spaces in


def render_progress_line(line: ProgressLine, with_time: bool) -> str:
    """``HH:MM:SS  message`` (two spaces) with ``-t``, else just the message; each
    level of depth indents the whole line by 8 spaces. Ends with a newline."""
    indent = STEP_INDENT * line.depth
    if with_time and line.time is not None:
        return f"{indent}{line.time}  {line.message}\n"
    return f"{indent}{line.message}\n"


def summary_text(summary: ProgressSummary) -> str:
    # "managed" is in every sourced summary; the on-prem verify summary is
    # INFERRED as "<n> out of <m> VMs have been successfully verified".
    managed = "" if summary.verb == "verified" else "managed "
    return f"{summary.succeeded} out of {summary.total} {managed}VMs have been successfully {summary.verb}"


def render_summary(summary: ProgressSummary) -> str:
    return summary_text(summary) + "\n"
