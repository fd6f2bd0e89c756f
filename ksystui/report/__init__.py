"""Reports an auditor accepts: one operation's evidence as self-contained
HTML (Jinja2 templates shipped in the package), PDF printed from that HTML by
headless Chromium, and JSON for machines. The model is ``core.report``; the
gathering goes through the console's own arbiter client, so a scoped caller
gets exactly what its scope may see."""

from ksystui.report.browser import (
    BrowserFailed,
    BrowserMissing,
    find_browser,
    html_to_pdf,
    html_to_png,
)
from ksystui.report.gather import gather_report
from ksystui.report.render import render_html, render_json

__all__ = ["BrowserFailed", "BrowserMissing", "find_browser", "gather_report", "html_to_pdf", "html_to_png",
           "render_html", "render_json"]
