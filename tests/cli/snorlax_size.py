"""Snorlax's size for the CLI capacity tests, until the simulator prints a
host's size in ``ksysmgr query host`` itself: the capacity model is told it
(the command runs in this process)."""

from __future__ import annotations

import pytest

from ksystui.core import capacity
from ksystui.core.capacity import Size
from ksystui.core.model import Host


def snorlax_of(monkeypatch: pytest.MonkeyPatch, *, memory_gb: float, processors: float) -> None:
    reported = capacity.host_size

    def host_size(host: Host) -> Size | None:
        return Size(memory_gb, processors) if host.name == "snorlax" else reported(host)

    monkeypatch.setattr(capacity, "host_size", host_size)
