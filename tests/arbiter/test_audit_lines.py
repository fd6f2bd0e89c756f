"""How the audit view words a record and the state of the chain."""

from ksystui.arbiter.audit_lines import audit_line, chain_status
from ksystui.core.audit import ChainProblem


def test_a_record_becomes_one_readable_line():
    line = audit_line({"seq": 7, "at": "2026-11-23T03:00:05.123456+00:00", "actor": "alice@noc1/console-1",
                       "action": "finish", "operation": 3, "tenant": "customerA", "node": "r7r3m116",
                       "detail": {"fence": 4, "state": "succeeded", "outcome": "exit 0\nlast line",
                                  "argv": ["ksysmgr", "verify", "site", "customerA"]}})
    assert (line.seq, line.at, line.action, line.operation) == (7, "2026-11-23 03:00:05", "finish", 3)
    assert line.what == "state=succeeded  outcome=exit 0 last line  argv=ksysmgr verify site customerA"
    assert "fence" not in line.what  # plumbing, not for people


def test_long_values_are_cut_and_missing_fields_show_a_dash():
    line = audit_line({"seq": 1, "at": None, "actor": None, "action": "note", "detail": {"text": "x" * 200}})
    assert line.tenant == line.node == line.actor == "-" and line.operation is None
    assert len(line.what) == len("text=") + 60 and line.what.endswith("…")


def test_chain_status_names_the_row_only_to_an_unscoped_console():
    problems = [ChainProblem(3, 3, "hash does not match its content (edited)"), ChainProblem(4, 4, "x")]
    assert chain_status([], scoped=False).startswith("hash chain intact")
    full = chain_status(problems, scoped=False)
    assert "row 3 (seq 3): hash does not match" in full and "+1 more" in full
    scoped = chain_status(problems, scoped=True)
    assert "BROKEN" in scoped and "row" not in scoped and "3" not in scoped
