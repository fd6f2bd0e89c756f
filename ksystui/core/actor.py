"""Who acts: every record of the audit trail names one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The OS user, the machine, and the console (process) id. Built once
    by the composition root (``ksystui.store.audit_log.current_actor`` reads
    the OS); the core only carries it."""

    user: str
    host: str
    console: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}/{self.console}"
