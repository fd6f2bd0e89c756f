"""Printing a report through headless Chromium: the HTML to PDF (what an
auditor files) or to PNG (what a test looks at). One browser process per
call, with a fresh profile in a temporary directory that is removed after,
no network of its own (background networking, component updates, sync and
QUIC off), a time limit, and a sentence when the browser is missing or
fails — never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

BROWSER_ENV = "KSYSTUI_BROWSER"  # a browser binary to use instead of the first found on PATH
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio")
TIMEOUT = 60.0  # seconds: a cold start on a loaded machine takes a few
A4_WINDOW = "1240,1754"  # A4 at 150 dots per inch: the PNG is a printed page's shape


class BrowserMissing(RuntimeError):
    """No headless browser to print with."""


class BrowserFailed(RuntimeError):
    """The browser ran and wrote nothing (or took too long)."""


def find_browser() -> str:
    """The Chromium (or Chrome) binary: ``$KSYSTUI_BROWSER``, else the first
    of chromium, chromium-browser, google-chrome on PATH."""
    given = os.environ.get(BROWSER_ENV, "").strip()
    if given:
        found = shutil.which(given)
        if found is None:
            raise BrowserMissing(f"{BROWSER_ENV}={given}: no such executable")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise BrowserMissing("a PDF is printed by headless Chromium, and none was found (looked for "
                         f"{', '.join(CANDIDATES)} on PATH, or set {BROWSER_ENV}); install it "
                         "(Debian: apt-get install chromium) or write --format html and print that")


async def _run(browser: str, args: Sequence[str], out: Path, timeout: float) -> None:
    proc = await asyncio.create_subprocess_exec(
        browser, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)  # its own group: a timeout ends its helpers too
    try:
        async with asyncio.timeout(timeout):
            _, err = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise BrowserFailed(f"{Path(browser).name} did not finish within {timeout:.0f}s") from None
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    if not await asyncio.to_thread(_written, out):
        said = [ln for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        raise BrowserFailed(f"{Path(browser).name} wrote nothing (exit {proc.returncode})"
                            + (f": {said[-1].strip()}" if said else ""))


def _written(out: Path) -> bool:
    return out.is_file() and out.stat().st_size > 0


def _prepare(out: Path, tmp: Path, html: str) -> tuple[Path, Path]:
    """The output's absolute path (its directory made, an old file gone: a
    browser that fails must not leave last time's report looking new) and the
    page written into the temporary directory."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    page = tmp / "report.html"
    page.write_text(html, encoding="utf-8")
    return out, page


async def _print(html: str, out: Path, what: Sequence[str], *, browser: str | None, timeout: float) -> Path:
    binary = browser or find_browser()
    with tempfile.TemporaryDirectory(prefix="ksystui-report-") as tmp:
        out, page = await asyncio.to_thread(_prepare, out, Path(tmp), html)
        profile = Path(tmp) / "profile"  # a fresh profile: nothing of the user's browser, nothing left behind
        args = [*FLAGS, f"--user-data-dir={profile}", *what, page.as_uri()]
        await _run(binary, [a.replace("{out}", str(out)) for a in args], out, timeout)
    return out


async def html_to_pdf(html: str, out: Path, *, browser: str | None = None, timeout: float = TIMEOUT) -> Path:
    """Print ``html`` to the PDF ``out`` (A4, as the page's own @page says; no
    browser header or footer)."""
    return await _print(html, out, ["--no-pdf-header-footer", "--print-to-pdf={out}"], browser=browser,
                        timeout=timeout)


async def html_to_png(html: str, out: Path, *, browser: str | None = None, timeout: float = TIMEOUT,
                      window: str = A4_WINDOW) -> Path:
    """Render ``html`` to the PNG ``out`` (the first screen of the page)."""
    return await _print(html, out, [f"--window-size={window}", "--screenshot={out}"], browser=browser,
                        timeout=timeout)
