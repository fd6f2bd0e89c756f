"""The ``:`` line's Tab completion and its history, as plain logic.

Tab completes to the one command that starts with what is typed, or to the
longest start every candidate shares; pressed again with nothing more to
share, it steps through the candidates. Up and Down walk the commands run
before (newest first), and Down past the newest gives back what was being
typed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Completion:
    text: str  # the line after Tab
    candidates: tuple[str, ...]  # every command that starts with what was typed


def candidates(typed: str, words: Sequence[str]) -> tuple[str, ...]:
    low = typed.lower()
    seen: dict[str, None] = {}
    for w in words:
        if w.lower().startswith(low):
            seen.setdefault(w)
    return tuple(seen)


def complete(typed: str, words: Sequence[str], previous: Completion | None = None) -> Completion:
    """What Tab makes of ``typed``. ``previous``: the completion the last Tab
    gave, when nothing was typed since (Tab again steps to the next candidate)."""
    if previous is not None and previous.text == typed and len(previous.candidates) > 1:
        options = previous.candidates
        at = options.index(typed) + 1 if typed in options else 0
        return Completion(options[at % len(options)], options)
    options = candidates(typed, words)
    if not options:
        return Completion(typed, ())
    if len(options) == 1:
        return Completion(options[0], options)
    shared = os.path.commonprefix([o.lower() for o in options])
    text = options[0][: len(shared)] if len(shared) > len(typed) else typed
    return Completion(text, options)


class History:
    """The commands run, oldest first, and a cursor for Up/Down."""

    def __init__(self, entries: Sequence[str] = (), limit: int = 200):
        self.entries: list[str] = list(entries)[-limit:]
        self.limit = limit
        self._at: int | None = None  # index walked to; None: at the line being typed
        self._draft = ""

    def add(self, command: str) -> None:
        command = command.strip()
        if command and (not self.entries or self.entries[-1] != command):
            self.entries.append(command)
            del self.entries[: -self.limit]
        self.reset()

    def reset(self) -> None:
        self._at, self._draft = None, ""

    def older(self, current: str) -> str:
        """Up: the command before the one shown (the oldest stays)."""
        if not self.entries:
            return current
        if self._at is None:
            self._draft, self._at = current, len(self.entries) - 1
        else:
            self._at = max(0, self._at - 1)
        return self.entries[self._at]

    def newer(self, current: str) -> str:
        """Down: the command after the one shown; past the newest, what was typed."""
        if self._at is None:
            return current
        if self._at >= len(self.entries) - 1:
            draft = self._draft
            self.reset()
            return draft
        self._at += 1
        return self.entries[self._at]
