"""``ksystui notify test NAME``: the notification hooks of the configuration.

``test`` sends one test notice through the hook directly (no service needed:
it is how a provider checks a hook before trusting it with a night) and says
in one line whether it was delivered: exit 0 delivered, 1 not delivered,
2 no such hook (or a configuration problem). The line names the hook, never
its URL or key.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from typing import TextIO

import click

from ksystui.cli.options import (
    NOT_THE_CONSOLE,
    GlobalOptions,
    Refused,
    run_verb,
    takes_global_options,
)

__all__ = ["notify", "notify_test"]  # the group and its verbs: click calls them

EXIT_DELIVERED = 0
EXIT_NOT_DELIVERED = 1

# hooks are the provider's, not a tenant's; and a test reaches real people at the other end
TEST_REFUSES = {
    "theme": NOT_THE_CONSOLE,
    "tenant": "the hooks are the provider's: this verb has no tenant scope",
    "readonly": "refused: a read-only session sends nothing, and a test notification reaches real people",
}


@click.group()
def notify() -> None:
    """Notification hooks ([[notify]] in the configuration)."""


@notify.command(name="test")
@click.argument("name")
@takes_global_options(refuses=TEST_REFUSES)
def notify_test(opts: GlobalOptions, name: str) -> None:
    """Send a test notification through hook NAME now (exit 0 delivered, 1 not delivered, 2 no such hook)."""
    run_verb(lambda: run_notify_test(opts, name, sys.stdout))


async def run_notify_test(opts: GlobalOptions, name: str, out: TextIO) -> int:
    from ksystui.bootstrap import load
    from ksystui.core.notices import hook_test_notice
    from ksystui.notify.send import send

    loaded = load(opts.config, sys.stderr)
    hook = next((h for h in loaded.config.notify if h.name == name), None)
    if hook is None:
        known = ", ".join(h.name for h in loaded.config.notify) or "none is configured"
        raise Refused(f"no hook named {name!r} in {loaded.path} (hooks: {known})")
    notice = hook_test_notice(hook.name, datetime.now(UTC), str(uuid.uuid4()))
    outcome = await send(hook, notice, base_dir=loaded.path.parent)
    if outcome.ok:
        print(f"{hook.name}: delivered ({outcome.status}), key {notice.delivery_key}", file=out)
        return EXIT_DELIVERED
    print(f"{hook.name}: NOT delivered ({outcome.status}): {outcome.error}", file=out)
    return EXIT_NOT_DELIVERED
