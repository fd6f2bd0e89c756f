"""The console's client code cannot reach a node: it loads no transport,
no fleet and no arbiter (what talks to nodes is the service's)."""

from __future__ import annotations

import subprocess
import sys

NODE_CODE = ("ksystui.fleet", "ksystui.transport", "ksystui.arbiter", "asyncssh", "aiohttp")


def test_the_client_package_loads_nothing_that_talks_to_a_node():
    probe = ("import sys, ksystui.client.source, ksystui.client.follow; "
             f"print('\\n'.join(sorted(m for m in sys.modules if m.startswith({NODE_CODE!r}))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
