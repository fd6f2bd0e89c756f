"""Named kill points: crash tests set ``KSYSTUI_KILL_AT=<point>`` and the
process SIGKILLs itself there, exactly as a kill -9 from outside would land.

Points, in the order an operation passes them:

* ``after_submit``  — the request is committed, the caller not yet told
* ``after_admit``   — claims taken and fenced, nothing sent
* ``after_start``   — marked running (write-ahead), command not yet sent
* ``after_send``    — the node has started: first progress line received
* ``before_finish`` — the command ended, its outcome not yet recorded
* ``after_finish``  — outcome recorded, claims released
"""

from __future__ import annotations

import os
import signal

POINTS = ("after_submit", "after_admit", "after_start", "after_send", "before_finish", "after_finish")
ENV = "KSYSTUI_KILL_AT"


def maybe_die(point: str) -> None:
    if point not in POINTS:
        raise ValueError(f"unknown kill point {point!r}")
    if os.environ.get(ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
