"""The seeded soak, bounded for CI (issue 16, deliverable 7): the headless
arbiter is killed with -9 at random moments over cycles of operations and
the oracle holds every cycle. `bench/soak.py --cycles N` runs the long one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import soak
from ksystui.store.audit_key import ENV_DIR, ENV_KEY

CYCLES = 1  # bench/soak.py runs the long one; seed 10: a move and a discovery, killed at the 37th point
SEED = 10


async def test_a_seeded_soak_loses_nothing_sends_nothing_twice_and_the_audit_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "audit-state"))
    monkeypatch.delenv(ENV_KEY, raising=False)
    result = await soak(CYCLES, SEED, tmp_path)
    assert result.line() == (f"soak cycles={CYCLES} killed={result.killed} lost=0 duplicate_sends=0 "
                             f"collisions=0 audit_ok={CYCLES}"), result.notes
    assert result.killed == CYCLES  # every cycle really killed a dispatcher
