"""Moved to ``ksystui.cli.status``; kept until tests/fleet/test_secrets.py imports from there."""

from ksystui.cli.status import run_config_check, run_status

__all__ = ["run_config_check", "run_status"]
