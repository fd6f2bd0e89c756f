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


# --- secrets in a node's output (redacted at parse time) ------------------------------
# The attributes ksysmgr (or the DR Automation service) prints whose value is
# key material or a credential. Sourced: ``api_key:`` in PowerVS ``query
# system`` (masked ``#####…`` but still key material, reference §2.2 and the
# addendum); ``apikey=`` / ``password=`` / ``login=`` in ``add ksyscluster``,
# ``add hmc``, ``add storage_agent`` (§1.4). INFERRED: the on-prem ``query hmc``
# / ``query storage_agent`` layouts print ``Login:`` / ``User:`` (§2.5 templates);
# the broker's deployment body names ``orchestrator_password``, ``client_secret``,
# ``secret`` (§6.1). Names are compared without case, spaces, ``_`` or ``-``.
SECRET_ATTRIBUTES: frozenset[str] = frozenset({
    "apikey", "password", "passwd", "login", "orchestratorpassword", "clientsecret", "secret",
    "token", "bearertoken", "privatekey", "passphrase",
})
# where a node prints a login as "User:" next to a password (storage agents, INFERRED)
LOGIN_ALIASES: frozenset[str] = frozenset({"user"})


def norm_attribute(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "").replace("-", "")


def secret_attribute(name: str, *, logins: bool = False) -> bool:
    """Is ``name`` (an output key or ``attr=``) one whose value is a secret?
    ``logins`` adds the ``User`` spelling of a login (storage agent records)."""
    norm = norm_attribute(name)
    if norm in SECRET_ATTRIBUTES or (logins and norm in LOGIN_ALIASES):
        return True
    # hmc_password, admin_passwd, ibmcloud_api_key, ...: an unambiguous secret word at its end
    return norm.endswith(("password", "passwd", "apikey"))


_KEY_LINE = re.compile(r"^(\s*)([A-Za-z][^:=]{0,79}?)(\s*:\s*)(.*)$")
_ASSIGNMENT = re.compile(r"(?<![\w.-])([A-Za-z][\w.-]{0,63})=(\"[^\"]*\"|'[^']*'|\S+)")


def _redact_assignments(line: str) -> str:
    def one(m: re.Match[str]) -> str:
        return f"{m.group(1)}={REDACTED}" if secret_attribute(m.group(1)) else m.group(0)

    return _ASSIGNMENT.sub(one, line) if "=" in line else line


def redact_output_lines(lines: list[str]) -> list[str]:
    """A node's output, line by line, with every secret value blanked: the value
    of a ``Key: value`` line whose key is a secret attribute (and the indented
    lines that continue it), and every ``attr=value`` whose attribute is. Line
    count and order are kept, so parse errors still name the right line."""
    out: list[str] = []
    hiding_indent: int | None = None  # continuation lines of a secret field are dropped
    for line in lines:
        body = line.replace("\u00a0", " ")
        indent = len(body) - len(body.lstrip())
        if hiding_indent is not None:
            if body.strip() and indent > hiding_indent:
                out.append(" " * indent + REDACTED)
                continue
            hiding_indent = None
        m = _KEY_LINE.match(body)
        if m and secret_attribute(m.group(2).strip()):
            value = m.group(4)
            out.append(m.group(1) + m.group(2) + m.group(3) + (REDACTED if value.strip() else ""))
            hiding_indent = len(m.group(1))
            continue
        out.append(_redact_assignments(line))
    return out


def redact_output(text: str) -> str:
    """:func:`redact_output_lines` over a whole text (line endings kept)."""
    if not text:
        return text
    parts = text.split("\n")
    return "\n".join(redact_output_lines(parts))
