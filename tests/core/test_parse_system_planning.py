"""Issue 15, deliverable 2: ``query system`` attributes are read into
settings and the schedule planner uses them instead of assuming."""

from __future__ import annotations

from pathlib import Path

from ksystui.core.ksysmgr.parse import parse_system
from ksystui.core.model import SystemAttributes
from ksystui.core.schedule import discovery_settings, plan_from_system

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ksysmgr"


def system(**attrs: str) -> SystemAttributes:
    return SystemAttributes(attributes=tuple((k, (v,)) for k, v in attrs.items()))


def test_settings_from_the_verbatim_query_system():
    s = discovery_settings(parse_system((FIXTURES / "system/query-system-public.txt").read_text()))
    assert (s.auto_discovery_time, s.deep_discovery, s.quick_discovery, s.quick_discovery_interval,
            s.notification_level) == ("00:00", True, True, 60, "low")
    v = discovery_settings(parse_system((FIXTURES / "system/variant-query-system-regions-list.txt").read_text()))
    assert (v.auto_discovery_time, v.deep_discovery, v.quick_discovery_interval) == ("02:30", False, 120)


def test_a_current_time_that_collides_with_nobody_is_kept():
    durations = {"a": 1200.0, "b": 1200.0, "c": 1200.0}
    shares = {"a": {"snorlax"}, "b": {"snorlax"}, "c": {"other"}}
    systems = {n: system(auto_discovery_time="00:00 hours", deep_discovery="enable") for n in durations}
    plan = plan_from_system(durations, shares, systems, margin_minutes=10)
    by = {w.node: w.hhmm for w in plan.windows}
    # a keeps its 00:00; c shares nothing and keeps it too; b moves past a's 30-minute window
    assert by["a"] == "00:00" and by["c"] == "00:00" and by["b"] == "00:30"
    assert plan.kept == ("a", "c")


def test_a_node_without_deep_discovery_gets_no_window_and_is_named():
    durations = {"a": 600.0, "b": 600.0}
    shares = {"a": {"h"}, "b": {"h"}}
    systems = {"a": system(auto_discovery_time="01:00 hours", deep_discovery="disable"),
               "b": system(auto_discovery_time="01:00 hours", deep_discovery="enable",
                           quick_discovery="enable", quick_discovery_interval="30 minutes")}
    plan = plan_from_system(durations, shares, systems)
    assert [w.node for w in plan.windows] == ["b"] and plan.kept == ("b",)
    assert plan.skipped == (("a", "deep discovery is disabled: no daily automatic discovery to keep apart"),)
    assert ("b", "quick discovery every 30 minutes (IBM advises 60 or more)") in plan.notes


def test_an_unread_system_is_said_not_assumed_silently():
    plan = plan_from_system({"a": 60.0}, {"a": set()}, {"a": None})
    assert plan.notes == (("a", "query system not read: assuming a daily discovery at an unknown time"),)
    assert plan.windows[0].hhmm == "00:00" and plan.kept == ()
