"""The seed scenario with its hosts resized: what the capacity tests of the
simulator, the arbiter's gate and the acceptance test run against.

    seed_with(snorlax_memory_gb=300)      # only one of customerA (280 GB) and customerB (200 GB) fits
    seed_text(snorlax_memory_gb=300)      # the same as TOML, for `ksystui sim --scenario FILE`
    seed_with(sizes={"snorlax": None})    # snorlax unsized: unlimited, as before issue 14

The seed's figures: snorlax 512 GB / 32 CPU (both tenants fit: 280 GB / 17.5
CPU and 200 GB / 12.5), dh-wdc06-01 128 GB / 8 CPU.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ksystui.sim.scenario import SEED_SCENARIO, Scenario, parse_scenario
from ksystui.sim.world import SimWorld

SNORLAX = "snorlax"
SNORLAX_UUID = "a1f3c9e0-7b2d-3c4e-8f90-6e5d4c3b2a10"
# what each tenant's VMs take on snorlax (no flexible capacity in the seed)
CUSTOMER_A_GB, CUSTOMER_A_CPU = 280.0, 17.5
CUSTOMER_B_GB, CUSTOMER_B_CPU = 200.0, 12.5
ONLY_ONE_FITS_GB = 300.0  # either tenant fits alone, not both (480 GB)

Size = tuple[float, float] | None  # (memory GB, processors); None: no size (unlimited)
_BLOCK = re.compile(r"(?ms)^\[\[nodes\.hosts\]\]\n.*?(?=^\[|\Z)")


def _resized(block: str, size: Size) -> str:
    lines = block.splitlines(keepends=True)
    sized = [i for i, ln in enumerate(lines) if re.match(r"(memory_gb|processors)\s*=", ln)]
    # the new size where the old one was (after the host's last key when it had none)
    at = sized[0] if sized else max(i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")) + 1
    new = [f"memory_gb = {size[0]:g}\n", f"processors = {size[1]:g}\n"] if size is not None else []
    kept = [ln for i, ln in enumerate(lines) if i not in sized]
    return "".join(kept[:at] + new + kept[at:])


def seed_text(snorlax_memory_gb: float | None = None, snorlax_processors: float | None = None, *,
              sizes: Mapping[str, Size] | None = None) -> str:
    """The seed TOML with hosts resized, on every node that lists them:
    ``snorlax_memory_gb`` / ``snorlax_processors`` change one figure of
    snorlax (the other stays the seed's); ``sizes`` sets or (None) removes
    whole sizes by host name."""
    wanted: dict[str, Size] = dict(sizes or {})
    if snorlax_memory_gb is not None or snorlax_processors is not None:
        wanted[SNORLAX] = (512.0 if snorlax_memory_gb is None else snorlax_memory_gb,
                           32.0 if snorlax_processors is None else snorlax_processors)
    text = SEED_SCENARIO.read_text(encoding="utf-8")

    def edit(m: re.Match[str]) -> str:
        name = re.search(r'^name = "([^"]+)"', m.group(0), re.M)
        return _resized(m.group(0), wanted[name.group(1)]) if name and name.group(1) in wanted else m.group(0)

    return _BLOCK.sub(edit, text)


def seed_with(snorlax_memory_gb: float | None = None, snorlax_processors: float | None = None, *,
              sizes: Mapping[str, Size] | None = None) -> Scenario:
    return parse_scenario(seed_text(snorlax_memory_gb, snorlax_processors, sizes=sizes), "seed (resized)")


def world_with(snorlax_memory_gb: float | None = None, snorlax_processors: float | None = None, *,
               sizes: Mapping[str, Size] | None = None, speed: float = 1000.0) -> SimWorld:
    return SimWorld(seed_with(snorlax_memory_gb, snorlax_processors, sizes=sizes), speed)
