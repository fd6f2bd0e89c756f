"""What looks like a secret (pure): the one policy every store write obeys.

Nothing ksystui keeps (audit details, queued command lines, progress lines)
may hold a password, key or token. The words below decide what *looks* like
one: a mapping key that names a secret, or a ``name=value`` / ``name: value``
whose name does. Callers either refuse (:func:`check_no_secret`, for what an
operator or caller passed) or blank the value (:func:`redact`, for a node's
output, which must still be kept).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SECRET = r"passw\w*|pass_?phrase|token|secret\w*|api[_-]?key|private[_-]?key|credentials?"
_SECRET_KEY = re.compile(_SECRET, re.I)
# a secret-looking name given a value (not one already redacted), as a word of its own
_SECRET_ASSIGNMENT = re.compile(
    rf"(?:^|[\s,;&?'\"-])((?:\w*[_-])?(?:{_SECRET}))\s*[=:]\s*(?!\[redacted\])\S", re.I)
_SECRET_VALUE = re.compile(rf"((?:{_SECRET})\s*[=:]\s*)\S+", re.I)
REDACTED = "[redacted]"


class SecretRefused(ValueError):
    """A detail (or argv) that looks like it carries a secret: never stored."""


def secret_key(key: object) -> bool:
    """Does a mapping key name a secret (``password``, ``api_key``, …)?"""
    return _SECRET_KEY.search(str(key)) is not None


def secret_assignment(text: str) -> str | None:
    """The secret-looking name a string assigns a value to, or None."""
    m = _SECRET_ASSIGNMENT.search(text)
    return m.group(1) if m else None


def check_no_secret(value: object, where: str = "detail") -> None:
    """Raise :class:`SecretRefused` if ``value`` has a key that looks like a
    secret, or a string ``name=value`` whose name does (recursively through
    mappings and sequences); ``where`` names the place in the message."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if secret_key(key):
                raise SecretRefused(f"{where}: the key {key!r} looks like a secret; secrets are never stored")
            check_no_secret(inner, f"{where}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for i, inner in enumerate(value):
            check_no_secret(inner, f"{where}[{i}]")
    elif isinstance(value, str) and (name := secret_assignment(value)):
        raise SecretRefused(f"{where}: {name!r}=… looks like a secret; secrets are never stored")


def redact(line: str) -> str:
    """``line`` with nothing after a secret-looking ``name=`` (for output that
    is kept, like progress lines, where refusing is no option)."""
    return _SECRET_VALUE.sub(rf"\1{REDACTED}", line)
