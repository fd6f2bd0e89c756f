"""No import cycle among the modules of the UI, nor among those of the
simulator: a package whose modules import each other in a circle cannot be
read (or changed) one module at a time. The graph is grimp's (import-linter
builds on it); it includes imports under ``if TYPE_CHECKING:``, which tie
modules together for the reader as much as any other."""

from __future__ import annotations

import grimp
import pytest


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("ksystui")


def cycles(graph, package: str) -> list[list[str]]:
    """The import cycles among ``package``'s modules (strongly connected
    components of more than one module, or a module importing itself)."""
    modules = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return found


def test_the_graph_sees_type_checking_imports(graph):
    """The check is only as good as the graph: an import under TYPE_CHECKING
    must be in it (ksystui.ui.widgets imports its names that way)."""
    assert graph.direct_import_exists(importer="ksystui.ui.widgets", imported="ksystui.ui.widgets.virtual_table")


def test_no_import_cycle_in_the_ui(graph):
    assert cycles(graph, "ksystui.ui") == []


def test_no_import_cycle_in_the_simulator(graph):
    assert cycles(graph, "ksystui.sim") == []


def test_the_cycle_finder_finds_a_cycle():
    g = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        g.add_module(m)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.a")
    g.add_import(importer="p.c", imported="p.a")
    assert cycles(g, "p") == [["p.a", "p.b"]]
