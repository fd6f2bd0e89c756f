"""Arbitration rules, proven by example and by Hypothesis state machines."""

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ksystui.core.arbitration import Request, claims, conflict, decide, order_key, ordered
from ksystui.core.lifecycle import Op

SNORLAX = "a1f3c9e0-snorlax"


def req(id, tenant, node, op, priority, arrival=None, hosts=(SNORLAX,), raised=0):
    return Request(id, tenant, node, op, priority, id if arrival is None else arrival, frozenset(hosts), raised)


def test_seed_verify_requests_are_serialised_on_snorlax():
    a = req(1, "customerA", "r7r3m116", Op.VERIFY, 1)
    b = req(2, "customerB", "r7r3m108", Op.VERIFY, 2)
    assert conflict(a, b)
    d = decide([], [b, a])
    assert [r.id for r in d.admit] == [1]
    assert d.blocked[0].request == 2 and d.blocked[0].held_by[0][1] == 1
    d = decide([a], [b])
    assert d.admit == () and d.blocked[0].held_by[0][1] == 1


def test_discovery_runs_in_parallel():
    a = req(1, "customerA", "r7r3m116", Op.DISCOVER, 1)
    b = req(2, "customerB", "r7r3m108", Op.DISCOVER, 2)
    assert not conflict(a, b)
    assert [r.id for r in decide([], [a, b]).admit] == [1, 2]


def test_unplanned_moves_go_by_agreement_priority_whoever_came_first():
    b = req(1, "customerB", "r7r3m108", Op.MOVE_UNPLANNED, 2)
    a = req(2, "customerA", "r7r3m116", Op.MOVE_UNPLANNED, 1)
    assert [r.id for r in decide([], [b, a]).admit] == [2]


def test_class_beats_priority():
    verify_gold = req(1, "customerA", "r7r3m116", Op.VERIFY, 1)
    move_silver = req(2, "customerB", "r7r3m108", Op.MOVE_PLANNED, 2)
    assert ordered([verify_gold, move_silver])[0] is move_silver
    order = [Op.MOVE_UNPLANNED, Op.MOVE_PLANNED, Op.CLEANUP, Op.VERIFY, Op.DR_TEST, Op.DISCOVER]
    reqs = [req(i, "t", f"n{i}", op, 1) for i, op in enumerate(reversed(order))]
    assert [r.op for r in ordered(reqs)] == order


def test_raised_request_goes_first():
    low = req(1, "customerB", "r7r3m108", Op.VERIFY, 2, raised=1)
    high = req(2, "customerA", "r7r3m116", Op.MOVE_UNPLANNED, 1)
    assert ordered([high, low])[0] is low


def test_one_node_runs_one_operation():
    a = req(1, "customerA", "r7r3m116", Op.DISCOVER, 1)
    b = req(2, "customerA", "r7r3m116", Op.DISCOVER, 1)
    assert [r.id for r in decide([], [a, b]).admit] == [1]


def test_a_lower_request_never_slips_onto_a_host_a_higher_one_waits_for():
    running = [req(9, "customerA", "r7r3m116", Op.DISCOVER, 1, hosts=())]
    high = req(1, "customerA", "r7r3m116", Op.MOVE_UNPLANNED, 1)  # waits for its node
    low = req(2, "customerB", "r7r3m108", Op.VERIFY, 2)  # snorlax is free, but reserved
    d = decide(running, [high, low])
    assert d.admit == ()
    assert d.blocked[1].reserved_by == ((next(iter(claims(high) & claims(low))), 1),)


# --- property: a queue simulated step by step --------------------------------
NODES = ["n0", "n1", "n2", "n3", "n4"]
HOSTS = ["h0", "h1", "h2"]


class Queue(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.waiting: list[Request] = []
        self.running: list[Request] = []
        self.started: list[tuple[Request, list[Request]]] = []  # (admitted, waiting at that moment)
        self.next_id = 1

    @rule(
        node=st.sampled_from(NODES),
        op=st.sampled_from(list(Op)),
        priority=st.integers(1, 4),
        hosts=st.sets(st.sampled_from(HOSTS), max_size=2),
        raised=st.sampled_from([0, 0, 0, 1]),
    )
    def submit(self, node, op, priority, hosts, raised):
        tenant = f"t{NODES.index(node) % 3}"
        self.waiting.append(Request(self.next_id, tenant, node, op, priority, self.next_id, frozenset(hosts), raised))
        self.next_id += 1

    @rule()
    def dispatch(self):
        before = list(self.waiting)
        d = decide(self.running, self.waiting)
        admitted_ids = {r.id for r in d.admit}
        # no starvation: anything that meets no running or earlier-waiting claim is admitted
        ahead: list[Request] = []
        for r in ordered(before):
            free = not any(conflict(r, x) for x in self.running) and not any(conflict(r, x) for x in ahead)
            if free:
                assert r.id in admitted_ids, f"request {r.id} conflicts with nothing yet was not admitted"
            ahead.append(r)
        for r in d.admit:
            self.started.append((r, before))
        self.running += list(d.admit)
        self.waiting = [r for r in self.waiting if r.id not in admitted_ids]

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def finish(self, data):
        r = data.draw(st.sampled_from(self.running))
        self.running.remove(r)

    @invariant()
    def never_two_conflicting_operations_run_together(self):
        for i, a in enumerate(self.running):
            for b in self.running[i + 1 :]:
                assert not conflict(a, b), (a, b)

    @invariant()
    def dispatch_order_equals_documented_order(self):
        # whenever a request started, no request waiting at that moment that
        # conflicts with it came before it in the documented order
        for started, waiting in self.started[-3:]:
            for other in waiting:
                if other.id != started.id and conflict(other, started):
                    assert order_key(started) < order_key(other), (started, other)


Queue.TestCase.settings = settings(max_examples=1000, stateful_step_count=30, deadline=None)
TestQueue = Queue.TestCase


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(list(Op)), st.integers(1, 3),
                       st.sets(st.sampled_from(HOSTS), max_size=2), st.sampled_from([0, 0, 1])), max_size=40),
    st.lists(st.tuples(st.sampled_from(NODES), st.sets(st.sampled_from(HOSTS), max_size=2)), max_size=3),
)
def test_the_dispatchers_fast_path_admits_exactly_what_the_explained_decision_admits(waiting, running):
    reqs = [Request(i, "t", n, op, p, i, frozenset(h), r) for i, (n, op, p, h, r) in enumerate(waiting)]
    run = [Request(1000 + i, "t", n, Op.VERIFY, 1, 0, frozenset(h)) for i, (n, h) in enumerate(running)]
    slow = decide(run, reqs)
    fast = decide(run, ordered(reqs), presorted=True, explain=False)
    assert [r.id for r in fast.admit] == [r.id for r in slow.admit]
