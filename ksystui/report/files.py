"""Where the console files a report, and the files it writes: the HTML
always, the PDF when a headless Chromium is there to print it."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_path

from ksystui.core.report import Report
from ksystui.report.browser import BrowserFailed, BrowserMissing, html_to_pdf
from ksystui.report.render import render_html

REPORT_DIR_ENV = "KSYSTUI_REPORT_DIR"


def report_dir() -> Path:
    """``$KSYSTUI_REPORT_DIR``, else ``reports`` in ksystui's data directory."""
    given = os.environ.get(REPORT_DIR_ENV, "").strip()
    return Path(given).expanduser() if given else user_data_path("ksystui") / "reports"


def file_stem(report: Report) -> str:
    """``customerA-dr-test-7-20261130T100200Z``: tenant, operation, its number,
    when the report was made (a second report of the same drill is another file)."""
    when = re.sub(r"[^0-9]", "", report.generated_at)
    words = f"{report.tenant}-{report.operation}-{report.ref.lstrip('#')}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", words) + f"-{when[:8]}T{when[8:14]}Z"


@dataclass(frozen=True)
class Saved:
    html: Path
    pdf: Path | None
    no_pdf: str  # why there is no PDF ("" when there is one)

    @property
    def message(self) -> str:
        if self.pdf is not None:
            return f"report written: {self.pdf} (and {self.html.name} beside it)"
        return f"report written: {self.html} (no PDF: {self.no_pdf})"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


async def save_report(report: Report, directory: Path, *, pdf: bool = True) -> Saved:
    """Write the report's HTML (and PDF) into ``directory``; OSError when it cannot be written."""
    stem = file_stem(report)
    html = render_html(report)
    html_path = await asyncio.to_thread(_write, directory / f"{stem}.html", html)
    if not pdf:
        return Saved(html_path, None, "not asked for")
    try:
        return Saved(html_path, await html_to_pdf(html, directory / f"{stem}.pdf"), "")
    except (BrowserMissing, BrowserFailed) as exc:
        return Saved(html_path, None, str(exc))
