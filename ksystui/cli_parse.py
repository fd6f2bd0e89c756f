"""``ksystui parse KIND [FILE]``: ksysmgr output in, JSON out.

Lets an operator check what ksystui reads from a node's output (pasted from a
terminal, or captured by a script) without starting the TUI. The input is read
as bytes and decoded leniently so that binary junk reaches the parser's BINARY
check instead of failing here with a UnicodeDecodeError.
"""

from __future__ import annotations

import json
from typing import TextIO

from ksystui.core.ksysmgr.errors import KsysmgrParseError
from ksystui.core.ksysmgr.parse import PARSERS, to_jsonable

_PROG = "ksystui parse"


def _read(path: str | None, stdin: TextIO) -> bytes | str:
    if path is None or path == "-":
        buffer = getattr(stdin, "buffer", None)
        return buffer.read() if buffer is not None else stdin.read()
    with open(path, "rb") as handle:
        return handle.read()


def run_parse(kind: str, path: str | None, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Parse ksysmgr output of ``kind`` from ``path`` (stdin when None or "-") and
    print it as JSON. Returns 0, 1 for unreadable or unparseable input, 2 for an
    unknown kind."""
    parser = PARSERS.get(kind)
    if parser is None:
        print(
            f"{_PROG}: unknown kind {kind!r}; valid kinds: {', '.join(sorted(PARSERS))}",
            file=stderr,
        )
        return 2
    try:
        raw = _read(path, stdin)
    except OSError as exc:
        print(f"{_PROG}: cannot read {path}: {exc.strerror or exc}", file=stderr)
        return 1
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        result = parser(text)
    except KsysmgrParseError as exc:
        print(f"{_PROG}: {exc}", file=stderr)
        return 1
    if kind == "progress":
        lines, summary = result  # type: ignore[misc]
        doc = {"kind": kind, "lines": to_jsonable(lines), "summary": to_jsonable(summary)}
    else:
        records = result if isinstance(result, list) else [result]
        doc = {"kind": kind, "records": to_jsonable(records)}
    json.dump(doc, stdout, indent=2)
    stdout.write("\n")
    return 0
