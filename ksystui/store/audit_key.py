"""The audit chain's key: held outside the database, so that write access to
the database is not enough to re-hash an edited chain.

Where it comes from, first found wins:

* ``KSYSTUI_AUDIT_KEY``: the key itself (at least 16 characters), for
  deployments that hand secrets in through the environment;
* ``KSYSTUI_AUDIT_KEY_FILE``: a file holding it;
* otherwise ``audit.key`` in the audit directory (``KSYSTUI_AUDIT_DIR``, by
  default the state directory next to the default database), created with
  mode 0600 on first use.

Every console that writes to one database needs the same key (on PostgreSQL:
hand the file, or the variable, to each machine). The key never goes into the
database, a log or a message.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from platformdirs import user_data_path

from ksystui.store.engine import StoreError

ENV_KEY = "KSYSTUI_AUDIT_KEY"
ENV_KEY_FILE = "KSYSTUI_AUDIT_KEY_FILE"
ENV_DIR = "KSYSTUI_AUDIT_DIR"
KEY_FILE_NAME = "audit.key"
_MIN_LENGTH = 16

_cache: dict[tuple[str | None, str | None, str], bytes] = {}


def audit_dir() -> Path:
    """Where the default key file and PostgreSQL's anchor logs live."""
    configured = os.environ.get(ENV_DIR)
    return Path(configured).expanduser() if configured else user_data_path("ksystui")


def key_file() -> Path:
    configured = os.environ.get(ENV_KEY_FILE)
    return Path(configured).expanduser() if configured else audit_dir() / KEY_FILE_NAME


def audit_key() -> bytes:
    """The key, created on first use when it comes from the default file.
    A problem is a :class:`StoreError` naming the setting."""
    given = os.environ.get(ENV_KEY)
    path = key_file()
    cache_key = (given, os.environ.get(ENV_KEY_FILE), str(path))
    if cache_key not in _cache:
        _cache[cache_key] = _from_env(given) if given else _from_file(path, create=ENV_KEY_FILE not in os.environ)
    return _cache[cache_key]


def _from_env(value: str) -> bytes:
    if len(value.strip()) < _MIN_LENGTH:
        raise StoreError(f"{ENV_KEY} is shorter than {_MIN_LENGTH} characters: too weak a key for the audit chain")
    return value.strip().encode()


def _from_file(path: Path, *, create: bool) -> bytes:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        if not create:
            raise StoreError(f"{ENV_KEY_FILE}={path}: no such file (the audit chain's key)") from None
        return _create(path)
    except OSError as exc:
        raise StoreError(f"the audit key file {path} cannot be read: {exc.strerror or exc}") from None
    if len(text) < _MIN_LENGTH:
        raise StoreError(f"the audit key file {path} holds fewer than {_MIN_LENGTH} characters: "
                         "restore it from your backup (a new key cannot verify the existing chain)")
    return text.encode()


def _create(path: Path) -> bytes:
    """Create the key file atomically: written whole under a temporary name,
    then linked into place; a process that loses the race reads the winner's."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_hex(32) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise StoreError(f"the audit key file {path} cannot be created: {exc.strerror or exc} "
                         f"(set {ENV_KEY_FILE} or {ENV_KEY})") from None
    return _from_file(path, create=False)
