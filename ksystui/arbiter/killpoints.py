"""Named kill points (the mechanism lives in :mod:`ksystui.killpoints`, where
the store can reach it too). ``POINTS`` here is the operation's path through
the arbiter, the points ``ksystui submit --wait`` passes in order:

* ``after_submit``  — the request is committed, the caller not yet told
* ``after_admit``   — claims taken and fenced, nothing sent
* ``after_start``   — marked running (write-ahead), command not yet sent
* ``after_send``    — the node has started: first progress line received
* ``before_finish`` — the command ended, its outcome not yet recorded
* ``after_finish``  — outcome recorded, claims released

Every named point (the store's, the anchor log's and the migrations' too) is
``ksystui.killpoints.POINTS``, re-exported here as ``ALL_POINTS``.
"""

from __future__ import annotations

from ksystui.killpoints import ENV, OPERATION_POINTS, maybe_die
from ksystui.killpoints import POINTS as ALL_POINTS

POINTS = OPERATION_POINTS

__all__ = ["ALL_POINTS", "ENV", "POINTS", "maybe_die"]
