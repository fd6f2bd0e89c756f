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

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ksystui.store.lease import SESSION_PREFIX

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


def member_url(url: str | URL | None, member: str) -> str | URL | None:
    """``url`` with every PostgreSQL session of this member named after it
    (``application_name``): a standby that must end a hung leader's sessions
    (``store.lease.AdvisoryLock.evict``) finds all of them, not only the one
    holding the lock — a leader stopped mid-write also holds the lease row.
    Other URLs (SQLite, the default) are returned as given."""
    if url is None:
        return None
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return url  # opening it says what is wrong with it
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.update_query_dict({"application_name": (SESSION_PREFIX + member)[:63]})
