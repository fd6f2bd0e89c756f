"""Turn raw ksysmgr output into numbered, normalised lines.

Every parser starts here, so the tolerance rules live in one place: line
endings (CRLF, lone CR), non-breaking spaces (IBM's docs contain U+00A0, and
operators paste from them), tabs, trailing whitespace, ANSI colour codes;
secret values (``api_key:``, ``password=``, ...) are blanked; and
the lines an operator's paste adds around real output (the shell prompt, the
echoed ``# ksysmgr ...`` command, an AIX ``date`` stamp) are recognised as
noise. Input that is not text at all is refused here with BINARY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.secrets import redact_output_lines

# C0/C1 control characters (tab, LF and CR excluded: they are line structure)
# and U+FFFD, which is what undecodable bytes become after errors="replace".
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Above this share of bad characters among the visible ones the input is data,
# not a KSYS listing that picked up a stray byte.
_BAD_SHARE = 0.10

# AIX date(1) default format, e.g. "Thu Apr  9 08:48:23 CDT 2026" (S1).
_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?: [A-Z]{1,6})? [0-9]{4}"
)
# The command as echoed in docs and pastes: "# ksysmgr q wg", "ksysmgr -t discover ...".
# Lower-case on purpose: real output says "Ksysmgr version:", never "ksysmgr ...".
_ECHO = re.compile(r"(?:[#>$] ?)?ksysmgr(?:\s+(?![A-Za-z_]+:)\S.*)?")
# The KSYS node prompt that shows the last return code: "(0) root @ ksys804p: /" (SEED, S1).
_PROMPT = re.compile(r"\([0-9]+\) \S+ @ \S+:.*")
_BARE_PROMPT = re.compile(r"[#>]")


@dataclass(frozen=True, slots=True)
class Line:
    no: int  # 1-based line number in the input as received
    text: str  # normalised: no CR, NBSP or tab, no trailing whitespace
    indent: int  # leading spaces (after tab expansion)
    noise: bool  # prompt, echoed command or date stamp: not part of the output

    @property
    def blank(self) -> bool:
        return not self.text

    @property
    def content(self) -> bool:
        return bool(self.text) and not self.noise

    @property
    def stripped(self) -> str:
        return self.text[self.indent :]


# First characters of the noise patterns above: a cheap test before the regexes.
_NOISE_START = frozenset("#>$k(MTWFS")


def _is_noise(text: str) -> bool:
    return text[:1] in _NOISE_START and bool(
        _DATE.fullmatch(text)
        or _ECHO.fullmatch(text)
        or _PROMPT.fullmatch(text)
        or _BARE_PROMPT.fullmatch(text)
    )


def _check_binary(text: str, raw_lines: list[str], shown: list[str]) -> None:
    if _BAD_CHAR.search(text) is None:
        return
    has_nul = "\x00" in text
    if not has_nul:
        bad = len(_BAD_CHAR.findall(text))
        visible = len("".join(text.split())) or 1
        if bad / visible <= _BAD_SHARE:
            return
    first_bad = next(
        no
        for no, line in enumerate(raw_lines, start=1)
        if ("\x00" in line if has_nul else _BAD_CHAR.search(line))
    )
    raise KsysmgrParseError(ParseProblem.BINARY, first_bad, shown[first_bad - 1])


def split_lines(text: str) -> list[Line]:
    """Normalise and number the lines of ``text``.

    Raises BINARY for data that is not text and EMPTY when nothing but blank
    lines and noise remains."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()  # the newline that ends the last line does not start another
    # Secrets are blanked here, before any parser (or error message) sees a
    # value: nothing read from a node carries one further (core.secrets).
    shown = redact_output_lines(raw)
    _check_binary(text, raw, shown)
    raw = shown
    lines: list[Line] = []
    for no, line in enumerate(raw, start=1):
        clean = line.replace("\u00a0", " ").expandtabs(8).rstrip()
        body = clean.lstrip(" ")
        indent = len(clean) - len(body)
        lines.append(Line(no, clean, indent, indent == 0 and _is_noise(clean)))
    if not any(line.content for line in lines):
        first = raw[0] if raw else ""
        raise KsysmgrParseError(ParseProblem.EMPTY, 1, first)
    return lines


def last_content_no(lines: list[Line]) -> int:
    """Line number of the last line that carries output (0 when none)."""
    for line in reversed(lines):
        if line.content:
            return line.no
    return 0
