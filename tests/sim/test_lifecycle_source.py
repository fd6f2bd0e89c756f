"""The simulator takes every VM and Dr Test state it enters (or tests for)
from core.lifecycle, which the arbiter judges on: its modules spell out none
themselves, so the two cannot drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ksystui.sim
from ksystui.core.model import DR_TEST_STATES, VM_STATES

SIM = Path(ksystui.sim.__file__).parent
# the step-by-step flows, the request checks, the manage/unmanage verbs, faults, the cluster
DRIVERS = ("flows.py", "operations.py", "interpreter.py", "world.py", "cluster.py")
STATE_ATTRS = {"state", "dr_test_state"}  # (a VM's power status, ``status``, is not the lifecycle's)


def _literals(node: ast.AST) -> list[tuple[str, int]]:
    return [(n.value, n.lineno) for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def spelled_states(tree: ast.AST) -> list[tuple[str, int]]:
    """Lifecycle states spelled out where a VM's state is set or tested (a
    host's "Operating" is not one)."""
    found: list[tuple[str, int]] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "set_state":
            found += [lit for arg in n.args for lit in _literals(arg)]
        elif isinstance(n, ast.Assign | ast.AnnAssign):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            names = {t.attr if isinstance(t, ast.Attribute) else getattr(t, "id", None) for t in targets}
            if names & STATE_ATTRS and n.value is not None:
                found += _literals(n.value)
        elif isinstance(n, ast.Compare) and isinstance(n.left, ast.Attribute) and n.left.attr in STATE_ATTRS:
            found += [lit for c in n.comparators for lit in _literals(c)]
    return sorted({lit for lit in found if lit[0] in VM_STATES | DR_TEST_STATES})


@pytest.mark.parametrize("module", DRIVERS)
def test_no_state_is_spelled_out_in_the_simulator(module):
    spelled = spelled_states(ast.parse((SIM / module).read_text()))
    assert not spelled, f"{module} spells out lifecycle states (take them from core.lifecycle): {spelled}"


def test_the_check_would_see_a_spelled_out_state():
    code = 'vm.set_state("MOVED")\nvm.dr_test_state = "ACTIVE"\nif vm.state == "DOWN": pass\nvm.status = "ACTIVE"\n'
    assert [s for s, _ in spelled_states(ast.parse(code))] == ["ACTIVE", "DOWN", "MOVED"]
