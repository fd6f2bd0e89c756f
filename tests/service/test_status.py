"""What `ksystui service status` says of the lease and of each member, and
the service's log lines: pure, no database."""

from __future__ import annotations

import logging
import shlex
from datetime import UTC, datetime, timedelta

from ksystui.core.lease import LeaseState
from ksystui.service.logs import LogfmtFormatter, fields
from ksystui.service.members import new_member_id
from ksystui.service.status import service_status
from ksystui.store.lease import Member

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def member(id: str, role: str, seen_ago: float, epoch: int | None = None) -> Member:
    return Member(id=id, host=id.split(":")[0], pid=int(id.split(":")[1]), role=role,
                  started_at=NOW - timedelta(hours=1, seconds=-len(id)), last_seen=NOW - timedelta(seconds=seen_ago),
                  epoch=epoch, last_seq=7)


def test_the_live_lease_holder_leads_and_every_other_member_is_what_it_really_is():
    lease = LeaseState("b:2:bb", 5, NOW + timedelta(seconds=8), NOW - timedelta(seconds=2))
    status = service_status(lease, [
        member("a:1:aa", "leader", 1, epoch=4),  # still says it leads: it is fenced
        member("b:2:bb", "leader", 0.5, epoch=5),
        member("c:3:cc", "standby", 0.8),
        member("d:4:dd", "standby", 60),  # silent longer than a lease lasts
        member("e:5:ee", "stopped", 5),
        member("f:6:ff", "stopped", 3 * 86400),  # history
    ], 42, NOW).to_json()
    assert status["leader"] == "b:2:bb" and status["epoch"] == 5 and status["last_seq"] == 42
    assert status["lease"]["live"] is True
    assert {m["id"]: m["role"] for m in status["members"]} == {
        "a:1:aa": "fenced", "b:2:bb": "leader", "c:3:cc": "standby", "d:4:dd": "lost", "e:5:ee": "stopped"}


def test_an_expired_lease_names_no_leader():
    lease = LeaseState("b:2:bb", 5, NOW - timedelta(seconds=1), NOW - timedelta(seconds=11))
    status = service_status(lease, [member("b:2:bb", "leader", 11, epoch=5)], 42, NOW)
    assert status.leader is None and status.to_json()["members"][0]["role"] == "lost"
    assert status.lines()[0] == "no provider service leads this database: start `ksystui serve`"


def test_member_ids_differ_per_boot_of_the_same_process():
    first, second = new_member_id(), new_member_id()
    assert (first.host, first.pid) == (second.host, second.pid) and str(first) != str(second)
    assert str(first).count(":") == 2


def test_log_lines_are_logfmt_and_split_back_into_their_fields():
    record = logging.LogRecord("ksystui.service", logging.WARNING, __file__, 1, "stepping down: %s", ("b leads",),
                               None)
    record.__dict__.update(fields(epoch=4, node="r7r3m116", why='said "no"', nothing=None))
    line = LogfmtFormatter().format(record)
    assert line.startswith("ts=") and line.split()[0].endswith("Z")
    pairs = dict(word.split("=", 1) for word in shlex.split(line))
    assert pairs["level"] == "warning" and pairs["msg"] == "stepping down: b leads"
    assert pairs["epoch"] == "4" and pairs["node"] == "r7r3m116" and pairs["why"] == 'said "no"'
    assert pairs["nothing"] == ""
