"""The README's `[[notify]]` example is a configuration ksystui accepts."""

from __future__ import annotations

import re
from pathlib import Path

from ksystui.config import load_config

from .conftest import hooks_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_hook_example_is_a_valid_configuration(tmp_path):
    section = README.read_text().split("## Notification hooks", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    pager, runbook = load_config(hooks_config(tmp_path, example)).config.notify
    assert (pager.format, pager.routing_key_env, runbook.kind) == ("pagerduty", "KSYSTUI_PD_KEY", "exec")
