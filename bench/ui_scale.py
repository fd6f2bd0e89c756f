"""How does the VM table hold up at fleet scale (100,000 VMs, 200 nodes)?

Drives Textual apps headless (``App.run_test(size=(160, 50))``) and measures,
in one run:

* first paint: ``VirtualTable.set_rows(N rows)`` until the first screen
  update that shows rows; and, as the baseline, the stock ``DataTable``
  (``add_columns`` + ``add_rows``) until its first screen update with rows.
  The baseline is measured at N/10 first; if that extrapolates (linearly)
  past 120 s, N is not run and the extrapolated figure is reported;
* filter keystroke to screen: one key typed into a filter ``Input`` whose
  ``Changed`` handler calls ``set_filter``, until the table's next screen
  update showing that filter (worst over a typed sequence, incl. a
  backspace that widens the filter);
* churn: 1,000 VM state changes per second through ``apply()`` for 3 s
  while a filter is being typed: the achieved rate and the worst
  keystroke-to-screen latency;
* RSS of this process (``VmRSS`` in /proc/self/status) after our table's
  measurements, before the baseline runs.

Last line: ``ui_scale rows=N first_paint_ms=A filter_ms=B
speedup_vs_datatable=S rss_mb=M`` with S = DataTable first paint / ours.
Targets at 100,000 rows: A < 1000, B < 100, S >= 20, M < 500.

    PYTHONPATH=. .venv/bin/python bench/ui_scale.py [--rows 100000] [--nodes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable, Input

from ksystui.ui.widgets import Column, Row, RowChanges, VirtualTable

SIZE = (160, 50)
BASELINE_LIMIT_S = 120.0
VM_STATES = (
    "READY_TO_MOVE", "READY_TO_MOVE", "READY_TO_MOVE", "READY_TO_MOVE", "MOVED", "MOVING",
    "VERIFYING", "VERIFY_FAILED", "DISCOVERED", "UNMANAGED", "MOVE_FAILED", "INIT",
)
DR_TEST_STATES = ("", "", "", "INIT", "ACTIVE", "ACTIVE_COMPLETED", "SHUTOFF")
COLUMNS = (
    Column("tenant", "Tenant"),
    Column("node", "Node"),
    Column("site", "Site"),
    Column("host", "Host"),
    Column("vm", "VM"),
    Column("state", "State"),
    Column("drtest", "DR test"),
    Column("prio", "Prio", align="right", sort_key=lambda v: int(str(v))),
    Column("changed", "Last change"),
    Column("age", "Age", align="right"),
)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def vm_row(i: int, nodes: int, rng: random.Random, state: str | None = None) -> Row:
    node = i % nodes
    tenant = f"tenant-{node // 3:03d}"  # a tenant runs one to three KSYS nodes
    cells = (
        tenant,
        f"ksys-{node:03d}",
        ("dal10", "wdc04", "fra02", "lon06")[node % 4],
        f"p10-{node:03d}-{i % 8}",
        f"{tenant}-vm{i:06d}",
        state or rng.choice(VM_STATES),
        rng.choice(DR_TEST_STATES),
        str(1 + node % 5),
        f"2026-11-22 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
        f"{rng.randrange(1, 600)}s",
    )
    return Row(i, cells, style="stale" if node % 50 == 49 else None)


def text_of(strips: list[Strip]) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


class PaintProbe:
    """Records when a widget's lines were last rendered and whether they
    contained a marker text."""

    def __init__(self) -> None:
        self.marker: str | None = None
        self.seen: asyncio.Event = asyncio.Event()
        self.seen_at = 0.0
        self.check: Callable[[], bool] = lambda: True

    def observe(self, strips: list[Strip]) -> None:
        if self.seen.is_set() or not self.check():
            return
        if self.marker is None or self.marker in text_of(strips):
            self.seen_at = time.perf_counter()
            self.seen.set()

    def arm(self, marker: str | None = None, check: Callable[[], bool] = lambda: True) -> None:
        self.marker, self.check = marker, check
        self.seen = asyncio.Event()

    async def wait(self, timeout: float = 600) -> float:
        await asyncio.wait_for(self.seen.wait(), timeout)
        return self.seen_at


class ProbedVirtualTable(VirtualTable):
    probe = PaintProbe()
    flush_ms: list[float] = []

    def flush(self) -> None:
        t0 = time.perf_counter()
        super().flush()
        self.flush_ms.append((time.perf_counter() - t0) * 1000)

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        self.probe.observe(strips)
        return strips


class ProbedDataTable(DataTable[Any]):
    probe = PaintProbe()

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        self.probe.observe(strips)
        return strips


class OursApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter", id="filter")
        yield ProbedVirtualTable(COLUMNS, paint_interval=0.5, id="vms")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one(ProbedVirtualTable).set_filter(event.value)


class BaselineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ProbedDataTable(id="vms")


async def keystroke(pilot: Any, table: ProbedVirtualTable, key: str) -> float:
    """Press one key in the filter input; ms until the table painted it."""
    input_ = pilot.app.query_one(Input)
    before = input_.value
    expected = before[:-1] if key == "backspace" else before + (" " if key == "space" else key)
    table.probe.arm(check=lambda: table.filter_text == expected)
    t0 = time.perf_counter()
    await pilot.press(key)
    painted = await table.probe.wait(timeout=30)
    return (painted - t0) * 1000


async def measure_ours(n: int, nodes: int) -> dict[str, float]:
    rng = random.Random(7)
    rows = [vm_row(i, nodes, rng) for i in range(n)]
    out: dict[str, float] = {}
    async with OursApp().run_test(size=SIZE) as pilot:
        table = pilot.app.query_one(ProbedVirtualTable)
        await pilot.pause()
        table.probe.arm(marker=rows[0].cells[4])
        t0 = time.perf_counter()
        table.set_rows(rows)
        out["first_paint_ms"] = (await table.probe.wait() - t0) * 1000
        print(f"ours: first paint of {n:,} rows      {out['first_paint_ms']:8.1f} ms", flush=True)

        pilot.app.query_one(Input).focus()
        await pilot.pause()
        keys = [*"moved", "space", *"tenant-05", "backspace", "6"]
        latencies = [await keystroke(pilot, table, key) for key in keys]
        out["filter_ms"] = max(latencies)
        print(f"ours: filter keystroke to screen    worst {max(latencies):6.1f} ms, "
              f"median {statistics.median(latencies):6.1f} ms over {len(keys)} keys "
              f"(filter {table.filter_text!r}: {table.row_count:,} rows)", flush=True)

        # churn: 1,000 state changes a second for 3 s while typing a filter
        await pilot.press("ctrl+u")
        await pilot.pause()
        flushes_before = table._flush_count
        table.flush_ms.clear()
        sent = 0
        stop = asyncio.Event()

        async def churn() -> None:
            nonlocal sent
            batch, period = 20, 0.02  # 1,000 a second
            deadline = time.perf_counter()
            while not stop.is_set():
                upserts = tuple(
                    vm_row(i, nodes, rng, state=rng.choice(VM_STATES))
                    for i in rng.sample(range(n), batch)
                )
                table.apply(RowChanges(upsert=upserts))
                sent += batch
                deadline += period
                await asyncio.sleep(max(0.0, deadline - time.perf_counter()))

        t_start = time.perf_counter()
        producer = asyncio.create_task(churn())
        churn_latencies: list[float] = []
        typed = iter([*"verify_f", "backspace", "backspace", *"fa", "space", *"ksys-1", "backspace"] * 3)
        while time.perf_counter() - t_start < 3.0:
            churn_latencies.append(await keystroke(pilot, table, next(typed)))
            await asyncio.sleep(0.1)  # an operator types about 7 keys a second
        stop.set()
        await producer
        elapsed = time.perf_counter() - t_start
        out["churn_rate"] = sent / elapsed
        out["churn_worst_ms"] = max(churn_latencies)
        print(f"ours: churn {sent:,} changes in {elapsed:.2f} s = {out['churn_rate']:,.0f}/s, "
              f"{table._flush_count - flushes_before} paints (flush worst {max(table.flush_ms):.1f} ms); "
              f"keystroke to screen worst "
              f"{out['churn_worst_ms']:.1f} ms, median {statistics.median(churn_latencies):.1f} ms "
              f"over {len(churn_latencies)} keys", flush=True)
        out["rss_mb"] = rss_mb()
        print(f"ours: RSS after the above           {out['rss_mb']:8.1f} MB", flush=True)
    return out


async def baseline_first_paint(n: int, nodes: int) -> float:
    rng = random.Random(7)
    rows = [vm_row(i, nodes, rng).cells for i in range(n)]
    async with BaselineApp().run_test(size=SIZE) as pilot:
        table = pilot.app.query_one(ProbedDataTable)
        await pilot.pause()
        table.probe.arm(marker=rows[0][4])
        t0 = time.perf_counter()
        table.add_columns(*(column.label for column in COLUMNS))
        table.add_rows(rows)
        return (await table.probe.wait(timeout=3600) - t0) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=200)
    args = parser.parse_args()
    n = args.rows

    ours = await measure_ours(n, args.nodes)

    small = max(1, n // 10)
    t_small = await baseline_first_paint(small, args.nodes)
    print(f"DataTable: first paint of {small:,} rows {t_small:8.1f} ms", flush=True)
    estimate = t_small * n / small
    if estimate / 1000 > BASELINE_LIMIT_S:
        t_base = estimate
        print(f"DataTable: first paint of {n:,} rows {t_base:8.1f} ms "
              f"(extrapolated linearly from {small:,} rows: over {BASELINE_LIMIT_S:.0f} s)", flush=True)
    else:
        t_base = await baseline_first_paint(n, args.nodes)
        print(f"DataTable: first paint of {n:,} rows {t_base:8.1f} ms (measured)", flush=True)

    speedup = t_base / ours["first_paint_ms"]
    print(f"ui_scale rows={n} first_paint_ms={ours['first_paint_ms']:.0f} "
          f"filter_ms={ours['filter_ms']:.0f} speedup_vs_datatable={speedup:.1f} "
          f"rss_mb={ours['rss_mb']:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
