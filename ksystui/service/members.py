"""Who a service process is among the services sharing one database.

A member id is ``host:pid:boot``: the machine, the process, and a random
part drawn when the process starts. The random part is what makes an id
unique for one life of one process: a restarted service (same host, and in
a container often the same pid) is a new member, never the old one
"revived" with the old one's operations and lease (procrastinate#1518).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

BOOT_PART_BYTES = 4  # 8 hex digits: two boots of one host:pid never meet


@dataclass(frozen=True)
class MemberId:
    host: str
    pid: int
    boot: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.boot}"


def new_member_id() -> MemberId:
    """This process, for this boot."""
    return MemberId(socket.gethostname(), os.getpid(), secrets.token_hex(BOOT_PART_BYTES))
