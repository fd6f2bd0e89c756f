"""Durations as a configuration writes them (agreed RTO/RPO, timeouts, retention)."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h30m", 5400), ("45s", 45), ("7d", 604800),
                                               ("1d2h3m4s", 93784), (" 15m ", 900)])
def test_what_people_write_reads_as_they_mean_it(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("text", "says"), [("30", "not a duration"), ("30x", "not a duration"), ("", "a duration"),
                                            ("1m1h", "largest first"), ("0m", "more than zero"), ("1.5h", "not a"),
                                            ("30 m", "not a duration"), ("99999d", "ten years")])
def test_a_mistake_says_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=3650 * 86400))
def test_formatting_reads_back(seconds):
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
