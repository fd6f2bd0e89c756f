"""A test module's own audit key and anchor logs: nothing from the
environment (no key, no anchor override, no kill point) reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ksystui import killpoints
from ksystui.store.audit_anchor import ENV_ANCHOR
from ksystui.store.audit_key import ENV_DIR, ENV_KEY


@contextmanager
def own_audit_state(state: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_DIR, str(state))
        for name in (ENV_KEY, ENV_ANCHOR, killpoints.ENV):
            mp.delenv(name, raising=False)
        yield state
