"""The report as HTML (from the package's Jinja2 template, every value
autoescaped) and as JSON."""

from __future__ import annotations

import functools
import json

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ksystui import __version__
from ksystui.core.report import Report, report_json

TEMPLATE = "report.html.j2"


@functools.cache
def _environment() -> Environment:
    # select_autoescape by the template's final extension would miss ".html.j2": escape every template
    return Environment(loader=PackageLoader("ksystui.report", "templates"), autoescape=select_autoescape(
        enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report) -> str:
    """One self-contained HTML page: inline CSS, no script, no external asset."""
    return _environment().get_template(TEMPLATE).render(r=report, version=__version__)


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
