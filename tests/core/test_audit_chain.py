"""The audit hash chain names any edited, deleted or inserted row."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.audit import seal, verify_chain


def chain(n):
    recs, prev = [], None
    for i in range(n):
        prev = seal(prev, at=f"2026-11-23T03:00:{i:02d}Z", actor="ops@console", action="submit", operation=i,
                    tenant="customerA", node="r7r3m116", detail={"op": "verify", "why": f"drill {i}"})
        recs.append(prev)
    return recs


def rows(recs):
    return [(i + 1, r) for i, r in enumerate(recs)]


def test_untouched_chain_verifies():
    recs = chain(5)
    assert verify_chain(rows(recs), (5, recs[-1].hash)) == []
    # an empty trail without its head is not "intact": the head row is what
    # a wipe deletes too (a new database starts with one)
    assert [p.problem for p in verify_chain([], None)] != []


def test_edit_is_named():
    recs = chain(5)
    recs[2] = replace(recs[2], actor="mallory")
    problems = verify_chain(rows(recs), (5, recs[-1].hash))
    assert problems and problems[0].seq == 3 and "edited" in problems[0].problem
    assert "row 3" in str(problems[0])


def test_delete_in_the_middle_and_at_the_end_are_named():
    recs = chain(5)
    gone = rows(recs)
    del gone[1]
    problems = verify_chain(gone, (5, recs[-1].hash))
    assert problems[0].seq == 3 and "deleted" in problems[0].problem
    problems = verify_chain(rows(recs[:4]), (5, recs[-1].hash))
    assert len(problems) == 1 and problems[0].seq is None and "head" in str(problems[0])


def test_insert_is_named():
    recs = chain(4)
    fake = seal(recs[1], at="x", actor="mallory", action="override")
    problems = verify_chain([(1, recs[0]), (2, recs[1]), (99, fake), (3, recs[2]), (4, recs[3])], (4, recs[-1].hash))
    assert any(p.row_id == 3 for p in problems)  # the row after the inserted one no longer follows


@given(st.integers(1, 12), st.data())
def test_any_single_row_change_is_detected(n, data):
    recs = chain(n)
    i = data.draw(st.integers(0, n - 1))
    kind = data.draw(st.sampled_from(["edit", "delete", "dup"]))
    rs = rows(recs)
    if kind == "edit":
        rs[i] = (rs[i][0], replace(rs[i][1], detail={"why": "changed"}))
    elif kind == "delete":
        del rs[i]
    else:
        rs.insert(i, rs[i])
    assert verify_chain(rs, (n, recs[-1].hash))
