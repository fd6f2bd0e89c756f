"""known_hosts files with line numbers: which stored entry speaks for a host.

asyncssh verifies host keys itself, but it cannot say *where* the key it
compared against came from. ksystui needs that to tell the operator "the
key stored at ~/.ssh/known_hosts line 12 does not match", so this module
reads known_hosts files (OpenSSH format) and matches hosts the way asyncssh
does:

* plain entries (``host``, ``[host]:port``, comma-separated) match exactly;
* entries with ``*``, ``?``, ``!`` or ``/`` are pattern lists (negation,
  wildcards, CIDR networks), hashed entries (``|1|salt|hash``) match by
  HMAC-SHA1;
* for a port other than 22 the names are ``[host]:port``; when nothing
  matches with the port, the lookup is repeated without it;
* ``@cert-authority`` and ``@revoked`` markers are kept.

The matched entries are handed to asyncssh as the trusted/CA/revoked keys, so
the verdict and the diagnosis always come from the same lines.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import os
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase
from hashlib import sha1
from pathlib import Path

import asyncssh

log = logging.getLogger(__name__)

DEFAULT_SSH_PORT = 22
MARKERS = (None, "cert-authority", "revoked")
_PATTERN_CHARS = "*?|/!"
_append_lock = threading.Lock()


def host_port_name(host: str, port: int | None) -> str:
    """``host`` for port 22 (or None), else ``[host]:port`` (OpenSSH's spelling)."""
    if port is None or port == DEFAULT_SSH_PORT:
        return host
    return f"[{host}]:{port}"


def _fnmatch_pattern(pattern: str) -> str:
    # [ and ] are literal in host patterns ("[127.0.0.1]:2222"), not classes
    return "".join("[[]" if ch == "[" else "[]]" if ch == "]" else ch for ch in pattern)


class _HostPatterns:
    """One entry's host field, matched like asyncssh matches it."""

    def __init__(self, field: str) -> None:
        self.field = field
        self._exact: frozenset[str] | None = None
        self._hashed: tuple[bytes, bytes] | None = None
        self._pos: list[tuple[str, object]] = []
        self._neg: list[tuple[str, object]] = []
        if not any(c in field for c in _PATTERN_CHARS):
            self._exact = frozenset(field.split(","))
        elif field.startswith("|"):
            try:
                magic, salt, digest = field[1:].split("|")
                if magic != "1":
                    raise ValueError(f"unsupported hash type {magic}")
                self._hashed = (binascii.a2b_base64(salt), binascii.a2b_base64(digest))
            except (ValueError, binascii.Error) as exc:
                raise ValueError(f"invalid hashed host entry: {exc}") from None
        else:
            for part in field.split(","):
                target = self._neg if part.startswith("!") else self._pos
                part = part[1:] if part.startswith("!") else part
                try:
                    target.append(("cidr", ipaddress.ip_network(part)))
                except ValueError:
                    target.append(("wild", _fnmatch_pattern(part)))

    @staticmethod
    def _one(kind: str, pat: object, name: str, addr: str, ip: object) -> bool:
        if kind == "cidr":
            return ip is not None and ip in pat  # type: ignore[operator]
        assert isinstance(pat, str)
        return bool(name and fnmatchcase(name, pat)) or bool(addr and fnmatchcase(addr, pat))

    def matches(self, name: str, addr: str, ip: object) -> bool:
        """``name``/``addr`` already carry ``[..]:port`` when the port is not 22."""
        if self._exact is not None:
            return (bool(name) and name in self._exact) or (bool(addr) and addr in self._exact)
        if self._hashed is not None:
            salt, digest = self._hashed
            for value in (name, addr):
                if value and hmac.compare_digest(
                    hmac.new(salt, value.encode(), sha1).digest(), digest
                ):
                    return True
            return False
        pos = any(self._one(k, p, name, addr, ip) for k, p in self._pos)
        neg = any(self._one(k, p, name, addr, ip) for k, p in self._neg)
        return pos and not neg


@dataclass(frozen=True)
class KnownHostsEntry:
    """One usable line of a known_hosts file."""

    path: Path
    line: int  # 1-based
    marker: str | None  # None, "cert-authority" or "revoked"
    hosts: str  # the host field as written (may be hashed)
    key: asyncssh.SSHKey

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def describe_key(self) -> str:
        return f"{self.key.get_algorithm()} {self.key.get_fingerprint()}"


class KnownHostsFile:
    """The usable entries of one file (lines asyncssh could not use are skipped)."""

    def __init__(self, path: Path, entries: list[KnownHostsEntry], exists: bool = True) -> None:
        self.path = path
        self.entries = entries
        self.exists = exists
        self._patterns = [_HostPatterns(e.hosts) for e in entries]

    @classmethod
    def read(cls, path: Path) -> KnownHostsFile:
        """Read ``path``; a missing file is an empty one (``exists`` False)."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return cls(path, [], exists=False)
        return cls.parse(path, text)

    @classmethod
    def parse(cls, path: Path, text: str) -> KnownHostsFile:
        entries: list[KnownHostsEntry] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                if line.startswith("@"):
                    marker, hosts, data = line[1:].split(None, 2)
                else:
                    marker = None
                    hosts, data = line.split(None, 1)
                if marker not in MARKERS:
                    raise ValueError(f"unknown marker @{marker}")
                _HostPatterns(hosts)  # validate
                key = asyncssh.import_public_key(data)
            except (ValueError, asyncssh.KeyImportError) as exc:
                # OpenSSH certificates / X.509 entries and junk: not used here
                log.debug("%s:%d: skipped (%s)", path, number, exc)
                continue
            entries.append(KnownHostsEntry(path, number, marker, hosts, key))
        return cls(path, entries)

    def _match(self, name: str, addr: str, ip: object) -> list[KnownHostsEntry]:
        return [e for e, p in zip(self.entries, self._patterns, strict=True) if p.matches(name, addr, ip)]

    def match(self, host: str, addr: str, port: int | None) -> list[KnownHostsEntry]:
        return match_files([self], host, addr, port)


def _ip_of(host: str, addr: str) -> object:
    for value in (addr, host):
        if value:
            try:
                return ipaddress.ip_address(value)
            except ValueError:
                continue
    return None


def match_files(
    files: list[KnownHostsFile], host: str, addr: str, port: int | None
) -> list[KnownHostsEntry]:
    """Every entry of ``files`` (in file and line order) that speaks for
    ``host``/``addr`` on ``port``, with asyncssh's fall-back to the port-less
    names when nothing matches with the port."""
    ip = _ip_of(host, addr)
    if port is not None and port != DEFAULT_SSH_PORT:
        name = host_port_name(host, port) if host else ""
        paddr = host_port_name(addr, port) if addr else ""
        found = [e for f in files for e in f._match(name, paddr, ip)]
        if any(e.marker != "revoked" for e in found):
            return found
    return [e for f in files for e in f._match(host, addr, ip)]


def known_hosts_line(host: str, port: int | None, key: asyncssh.SSHKey) -> str:
    """An OpenSSH known_hosts line for ``key`` (no trailing newline, no comment)."""
    blob = base64.b64encode(key.public_data).decode("ascii")
    return f"{host_port_name(host, port)} {key.get_algorithm()} {blob}"


def append_line(path: Path, line: str) -> int:
    """Append ``line`` to ``path`` (created 0600 with a 0700 parent if new);
    returns the 1-based line number it got."""
    with _append_lock:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            existing = b""
            size = os.fstat(fd).st_size
            if size:
                existing = os.pread(fd, size, 0)
            prefix = b"" if not existing or existing.endswith(b"\n") else b"\n"
            os.write(fd, prefix + line.encode("utf-8") + b"\n")
        finally:
            os.close(fd)
        return len((existing + prefix).splitlines()) + 1
