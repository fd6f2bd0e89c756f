from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.tenant_numbers import own_numbers, shown_ref


@given(st.sets(st.integers(min_value=1, max_value=10_000)))
def test_a_tenants_numbers_run_1_to_n_in_submission_order_whatever_the_gaps(ids):
    numbers = own_numbers(ids)
    assert sorted(numbers.values()) == list(range(1, len(ids) + 1))
    ordered = sorted(ids)
    assert [numbers[i] for i in ordered] == list(range(1, len(ids) + 1))


def test_shown_ref():
    assert shown_ref(42, None) == "#42"
    assert shown_ref(42, {7: 1, 42: 2}) == "#2"
    assert shown_ref(9, {7: 1}) == "#?"
