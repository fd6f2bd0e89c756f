"""The pure row store behind VirtualTable: ordering, filtering, coalescing,
cursor stability and column widths, checked against a brute-force oracle."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Hashable
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from rich.cells import cell_len
from rich.text import Text

from ksystui.ui.widgets.table_model import Column, Row, RowChanges, TableModel
from ksystui.ui.widgets.table_rows import Term, narrows, parse_filter

COLUMNS = (
    Column("vm", "VM", max_width=6),
    Column("state", "State"),
    Column("prio", "P", align="right", sort_key=lambda v: None if v == "" else int(str(v))),
)


def row(key: Hashable, vm: str, state: str = "READY", prio: str = "1", style: str | None = None) -> Row:
    return Row(key, (vm, state, prio), style=style)


def model_with(*rows: Row) -> TableModel:
    model = TableModel(COLUMNS)
    model.set_rows(rows)
    return model


def keys(model: TableModel) -> list[Hashable]:
    return model.view_keys()


# ---------------------------------------------------------------- examples


def test_import_does_not_load_textual() -> None:
    code = "import sys, ksystui.ui.widgets.table_model; print('textual' in sys.modules)"
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


def test_set_rows_keeps_natural_order_and_last_duplicate() -> None:
    model = model_with(row("a", "vm-a"), row("b", "vm-b"), row("a", "vm-a2"))
    assert keys(model) == ["a", "b"]
    assert model.get("a").cells[0] == "vm-a2"  # type: ignore[union-attr]
    assert model.cursor_key == "a"


def test_changes_coalesce_and_keep_positions() -> None:
    model = model_with(row("a", "x"), row("b", "y"), row("c", "z"))
    model.queue(RowChanges(upsert=(row("b", "y1"),)))
    model.queue(RowChanges(upsert=(row("b", "y2"), row("d", "new")), remove=("c",)))
    model.queue(RowChanges(upsert=(row("c", "back"),)))  # removed then upserted: an update
    model.queue(RowChanges(upsert=(row("e", "gone"),), remove=("e",)))  # never shown
    assert keys(model) == ["a", "b", "c"]  # queued only
    result = model.flush()
    assert result is not None and result.structural
    assert keys(model) == ["a", "b", "c", "d"]
    assert model.get("b").cells[0] == "y2"  # type: ignore[union-attr]
    assert model.get("c").cells[0] == "back"  # type: ignore[union-attr]
    assert model.flush() is None


def test_update_in_place_is_not_structural() -> None:
    model = model_with(row("a", "x"), row("b", "y"))
    model.queue(RowChanges(upsert=(row("a", "x2"),)))
    result = model.flush()
    assert result is not None and not result.structural and result.updated == {"a"}


def test_filter_words_columns_and_labels() -> None:
    model = model_with(
        row(1, "web01", "MOVED"),
        row(2, "web02", "READY"),
        row(3, "db01", "MOVED"),
        row(4, "moved-vm", "READY"),
    )
    model.set_filter("moved")
    assert keys(model) == [1, 3, 4]
    model.set_filter("state:MOVED")
    assert keys(model) == [1, 3]
    model.set_filter("State:moved web")  # label, case-insensitive, plus a plain word
    assert keys(model) == [1]
    model.set_filter("vm:01 STATE:mov")
    assert keys(model) == [1, 3]
    model.set_filter("nosuch:x")  # unknown column name: a plain word
    assert keys(model) == []
    model.set_filter("state:")  # typing in progress: no constraint
    assert keys(model) == [1, 2, 3, 4]
    model.set_filter("")
    assert model.row_count == model.total_count == 4


def test_words_do_not_match_across_cells() -> None:
    model = model_with(row(1, "ab", "cd"))
    model.set_filter("bc")
    assert keys(model) == []


def test_parse_and_narrows() -> None:
    terms = parse_filter("State:Mo web web", COLUMNS)
    assert terms == (Term(1, "mo"), Term(None, "web"))
    assert narrows(parse_filter("state:mov", COLUMNS), parse_filter("state:mo", COLUMNS))
    assert narrows(parse_filter("state:mov", COLUMNS), parse_filter("mo", COLUMNS))
    assert not narrows(parse_filter("state:", COLUMNS), parse_filter("stat", COLUMNS))
    assert not narrows(parse_filter("mo", COLUMNS), parse_filter("state:mo", COLUMNS))
    assert narrows(parse_filter("a b", COLUMNS), parse_filter("a", COLUMNS))


def test_narrowing_searches_previous_result_only() -> None:
    model = model_with(*(row(i, f"vm{i}", "MOVED" if i % 2 else "READY") for i in range(50)))
    model.set_filter("mov")
    scanned: list[int] = []
    original = model._scan

    def spy(slots, terms):  # type: ignore[no-untyped-def]
        slots = list(slots)
        scanned.append(len(slots))
        return original(slots, terms)

    model._scan = spy  # type: ignore[method-assign]
    model.set_filter("move")
    assert scanned == [25]
    assert keys(model) == [i for i in range(50) if i % 2]


def test_sort_cycles_and_ties_keep_natural_order() -> None:
    model = model_with(row("a", "x", prio="2"), row("b", "y", prio="1"), row("c", "z", prio="2"))
    model.sort_by("prio")
    assert keys(model) == ["b", "a", "c"] and model.sort_state == ("prio", False)
    model.sort_by("prio")
    assert keys(model) == ["c", "a", "b"] and model.sort_state == ("prio", True)
    model.sort_by("prio")
    assert keys(model) == ["a", "b", "c"] and model.sort_state is None
    model.sort_by("vm")
    model.sort_by("prio")  # another column starts ascending again
    assert model.sort_state == ("prio", False)


def test_set_sort_goes_straight_to_a_direction_and_back() -> None:
    model = model_with(row("a", "x", prio="2"), row("b", "y", prio="1"), row("c", "z", prio="3"))
    model.set_sort("prio", descending=True)
    assert keys(model) == ["c", "a", "b"] and model.sort_state == ("prio", True)
    model.sort_by("prio")  # the cycle goes on from there: back to the natural order
    assert keys(model) == ["a", "b", "c"] and model.sort_state is None
    model.set_sort("prio")
    assert keys(model) == ["b", "a", "c"]
    model.set_sort(None)
    assert keys(model) == ["a", "b", "c"]


def test_sort_key_gets_data_and_none_sorts_last() -> None:
    cols = (Column("age", "Age", sort_key=lambda d: getattr(d, "real", None)),)
    model = TableModel(cols)
    model.set_rows([Row("a", ("5m",), data=300), Row("b", ("?",), data=None), Row("c", ("30s",), data=30)])
    model.sort_by("age")
    assert keys(model) == ["c", "a", "b"]


def test_sort_values_of_mixed_types_do_not_crash() -> None:
    cols = (Column("x", "X", sort_key=lambda d: d),)
    model = TableModel(cols)
    model.set_rows([Row("a", ("1",), data=1), Row("b", ("b",), data="b")])
    model.sort_by("x")
    assert sorted(keys(model)) == ["a", "b"]
    model.queue(RowChanges(upsert=(Row("c", ("c",), data=(1, 2)),)))
    model.flush()
    assert model.total_count == 3


def test_sorted_change_moves_row_cursor_keeps_key() -> None:
    model = model_with(*(row(i, f"vm{i:02d}", prio=str(i)) for i in range(10)))
    model.sort_by("prio")
    model.move_cursor_to(5)
    model.queue(RowChanges(upsert=(row(5, "vm05", prio="100"), row(11, "new", prio="-1"))))
    model.flush()
    assert keys(model)[0] == 11 and keys(model)[-1] == 5
    assert model.cursor_key == 5 and model.cursor_index == 10


def test_cursor_goes_to_nearest_survivor() -> None:
    model = model_with(*(row(i, f"vm{i}") for i in range(5)))
    model.move_cursor_to(2)
    model.queue(RowChanges(remove=(2,)))
    model.flush()
    assert model.cursor_key == 3  # the row that took its place
    model.move_cursor_to(4)
    model.queue(RowChanges(remove=(4,)))
    model.flush()
    assert model.cursor_key == 3  # last row gone: the one above
    model.queue(RowChanges(remove=(0, 1, 3)))
    model.flush()
    assert model.cursor_key is None and model.cursor_index == -1
    model.queue(RowChanges(upsert=(row(9, "vm9"),)))
    model.flush()
    assert model.cursor_key == 9


def test_cursor_filtered_out_goes_to_nearest_then_survives_clearing() -> None:
    model = model_with(*(row(i, f"vm{i}", "MOVED" if i in (1, 6) else "READY") for i in range(8)))
    model.move_cursor_to(4)
    model.set_filter("moved")
    assert model.cursor_key == 6  # nearest in display order, below first
    model.set_filter("")
    assert model.cursor_key == 6
    model.set_filter("nothing-matches")
    assert model.cursor_key is None
    model.set_filter("")
    assert model.cursor_key == 6  # remembered while the view was empty


def test_cursor_survives_filtering_out_when_its_row_changes() -> None:
    model = model_with(row(1, "a", "MOVED"), row(2, "b", "MOVED"), row(3, "c", "MOVED"))
    model.set_filter("moved")
    model.move_cursor_to(2)
    model.queue(RowChanges(upsert=(row(2, "b", "READY"),)))
    model.flush()
    assert keys(model) == [1, 3] and model.cursor_key == 3


def test_widths_grow_and_shrink_incrementally() -> None:
    model = model_with(row(1, "ab"), row(2, "abcd"))
    assert model.widths()[0] == 4
    model.queue(RowChanges(upsert=(row(3, "abcdefghij"),)))
    model.flush()
    assert model.widths()[0] == 6  # capped at max_width
    model.queue(RowChanges(remove=(3,)))
    model.flush()
    assert model.widths()[0] == 4
    model.queue(RowChanges(upsert=(row(2, "a"),)))
    model.flush()
    assert model.widths()[0] == 3  # label "VM" plus the sort indicator
    assert model.widths()[2] == 2  # "P" + indicator, content "1"


def test_rich_text_cells() -> None:
    model = TableModel(COLUMNS)
    model.set_rows([Row(1, (Text("wide界", style="red"), "MOVED", "1")), Row(2, ("x", "READY", "2"))])
    assert model.widths()[0] == 6
    model.set_filter("界")
    assert keys(model) == [1]
    model.set_filter("vm:wide")
    assert keys(model) == [1]


def test_move_cursor_clamps() -> None:
    model = model_with(row(1, "a"), row(2, "b"))
    model.move_cursor(99)
    assert model.cursor_key == 2
    model.move_cursor(-5)
    assert model.cursor_key == 1
    assert not model.move_cursor_to("missing")


# ---------------------------------------------------------------- properties

KEYS = st.integers(min_value=0, max_value=11)
WORDS = st.text(alphabet="abM:", min_size=0, max_size=3)
FILTERS = st.lists(
    st.one_of(WORDS, st.sampled_from(["state:", "vm:", "p:", "State:M", "vm:a"]).flatmap(
        lambda head: WORDS.map(lambda tail: head + tail)
    )),
    max_size=2,
).map(" ".join)
CELLS = st.tuples(
    st.text(alphabet="abAB", max_size=8),
    st.sampled_from(["MOVED", "READY", "ab", ""]),
    st.sampled_from(["", "1", "2", "10"]),
)


def oracle_match(cells: tuple[str, ...], text: str) -> bool:
    names = {}
    for i, column in enumerate(COLUMNS):
        names.setdefault(column.key.lower(), i)
        names.setdefault(column.label.lower(), i)
    for word in text.lower().split():
        head, colon, tail = word.partition(":")
        if colon and head in names:
            if tail not in cells[names[head]].lower():
                return False
        elif not any(word in cell.lower() for cell in cells):
            return False
    return True


def oracle_sort_value(column: int, cells: tuple[str, ...]) -> tuple:
    if column == 2:
        return (1, 0) if cells[2] == "" else (0, int(cells[2]))
    return (0, cells[column].lower())


class TableMachine(RuleBasedStateMachine):
    """Random upserts, removes, flushes, filters, sorts and cursor moves,
    compared with a dict and a list kept the obvious way."""

    @initialize(rows=st.lists(st.tuples(KEYS, CELLS), max_size=8), slack=st.sampled_from([0, 64]))
    def start(self, rows: list[tuple[int, tuple[str, ...]]], slack: int) -> None:
        self.model = TableModel(COLUMNS)
        self.model.RESORT_SLACK = slack  # 0: sorted flushes also take the full re-sort path
        self.store: dict[int, tuple[str, ...]] = {}
        for key, cells in rows:
            self.store[key] = cells
        self.pending: dict[int, tuple[str, ...] | None] = {}
        self.filter = ""
        self.sort: tuple[int, bool] | None = None
        self.model.set_rows(Row(k, c) for k, c in rows)

    def expected(self) -> list[int]:
        order = list(self.store)
        if self.sort is not None:
            column, descending = self.sort
            order.sort(key=lambda k: oracle_sort_value(column, self.store[k]))
            if descending:
                order.reverse()
        return [k for k in order if oracle_match(self.store[k], self.filter)]

    def check_cursor_kept(self, before: Hashable | None) -> None:
        if before is not None and before in self.expected():
            assert self.model.cursor_key == before

    @rule(key=KEYS, cells=CELLS)
    def upsert(self, key: int, cells: tuple[str, ...]) -> None:
        self.model.queue(RowChanges(upsert=(Row(key, cells),)))
        self.pending[key] = cells

    @rule(key=KEYS)
    def remove(self, key: int) -> None:
        self.model.queue(RowChanges(remove=(key,)))
        self.pending[key] = None

    @rule()
    def flush(self) -> None:
        before = self.model.cursor_key
        self.model.flush()
        for key, cells in self.pending.items():
            if cells is None:
                self.store.pop(key, None)
            else:
                self.store[key] = cells
        self.pending.clear()
        self.check_cursor_kept(before)

    @rule(text=FILTERS)
    def set_filter(self, text: str) -> None:
        before = self.model.cursor_key
        self.model.set_filter(text)
        self.filter = text
        self.check_cursor_kept(before)

    @rule(data=st.data())
    def type_one_more(self, data: st.DataObject) -> None:
        self.set_filter(self.filter + data.draw(st.sampled_from("abM: ")))

    @rule(column=st.integers(0, 2))
    def sort_by(self, column: int) -> None:
        before = self.model.cursor_key
        self.model.sort_by(COLUMNS[column].key)
        if self.sort is None or self.sort[0] != column:
            self.sort = (column, False)
        elif not self.sort[1]:
            self.sort = (column, True)
        else:
            self.sort = None
        assert self.model.cursor_key == before

    @precondition(lambda self: self.model.row_count > 0)
    @rule(index=st.integers(-2, 14))
    def move_cursor(self, index: int) -> None:
        self.model.move_cursor(index)

    @rule(rows=st.lists(st.tuples(KEYS, CELLS), max_size=8))
    def set_rows(self, rows: list[tuple[int, tuple[str, ...]]]) -> None:
        self.model.set_rows(Row(k, c) for k, c in rows)
        self.store = {}
        for key, cells in rows:
            self.store[key] = cells
        self.pending.clear()

    @invariant()
    def view_is_exactly_the_matching_rows_in_order(self) -> None:
        view = self.model.view_keys()
        assert len(view) == len(set(view))
        assert view == self.expected()
        assert self.model.total_count == len(self.store)

    @invariant()
    def cursor_is_a_shown_row_or_none_when_empty(self) -> None:
        view = self.model.view_keys()
        if view:
            assert self.model.cursor_key in view
            assert view[self.model.cursor_index] == self.model.cursor_key
        else:
            assert self.model.cursor_key is None and self.model.cursor_index == -1

    @invariant()
    def widths_match_a_full_scan(self) -> None:
        widths = self.model.widths()
        for i, column in enumerate(COLUMNS):
            content = max((cell_len(c[i]) for c in self.store.values()), default=0)
            assert widths[i] == min(max(content, cell_len(column.label) + 1), column.max_width)


TableMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_table_machine = TableMachine.TestCase


def test_sorted_bulk_changes_take_the_full_resort_path() -> None:
    rows = [row(i, f"vm{i:03d}", prio=str(i % 7)) for i in range(300)]
    model = model_with(*rows)
    model.sort_by("prio")
    model.move_cursor_to(150)
    model.queue(RowChanges(upsert=tuple(row(i, f"vm{i:03d}", prio=str(i % 5)) for i in range(0, 300, 2))))
    model.flush()
    expected = sorted(range(300), key=lambda i: (i % 5 if i % 2 == 0 else i % 7, i))
    assert keys(model) == expected
    assert model.cursor_key == 150
