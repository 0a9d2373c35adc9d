"""The suite's own ordering (tests/support/longest_first.py): every test still runs exactly once,
and each xdist worker's first share starts with long tests, spread evenly."""

from __future__ import annotations

import doctest

import pytest

from tests.support import longest_first
from tests.support.longest_first import durations_from_report, longest_first as order_of, worksteal_shares


def test_the_order_is_a_permutation_and_each_share_starts_with_its_long_tests():
    ids = [f"t{i}" for i in range(40)]
    durations = {"t3": 120, "t4": 80, "t5": 75, "t30": 60, "t31": 40, "t32": 30, "t33": 6, "t1": 2}
    order = order_of(ids, durations, 4)
    assert sorted(order) == list(range(40))
    shares, start = [], 0
    for size in worksteal_shares(40, 4):
        shares.append([ids[i] for i in order[start:start + size]])
        start += size
    heads = [[name for name in share if durations.get(name, 0) >= longest_first.LONG] for share in shares]
    assert all(share[:len(head)] == head for share, head in zip(shares, heads))  # long ones first
    assert [head[0] for head in heads] == ["t3", "t4", "t5", "t30"]  # the four longest on four workers
    loads = [sum(durations[name] for name in head) for head in heads]
    assert max(loads) == 120  # nothing joins the 120 s test while another share has less to do
    assert "t1" not in sum(heads, [])  # short tests keep their collection order


def test_without_several_workers_the_collection_order_stays():
    ids = ["a", "b", "c"]
    assert order_of(ids, {"c": 100}, 1) == [0, 1, 2]
    assert order_of(ids, {"c": 100}, 4) == [0, 1, 2]  # fewer tests than workers


class _Node:
    """What xdist's scheduler needs of a worker: it records the test indices it is sent."""

    shutting_down = False

    def __init__(self, name: str):
        self.sent: list[int] = []
        self.gateway = type("Gateway", (), {"id": name})()

    def send_runtest_some(self, indices):
        self.sent += list(indices)


class _Config:
    def getvalue(self, name):
        return ["4*popen"] if name == "tx" else None


def test_xdist_worksteal_sends_each_worker_a_share_that_starts_with_its_long_tests():
    """The real scheduler, given the reordered collection, starts the four longest tests at once."""
    from xdist.scheduler.worksteal import WorkStealingScheduling

    ids = [f"t{i}" for i in range(1231)]
    durations = {"t5": 120, "t600": 90, "t601": 80, "t1200": 70, "t7": 9}
    collection = [ids[i] for i in order_of(ids, durations, 4)]
    scheduler, nodes = WorkStealingScheduling(_Config()), [_Node(f"gw{i}") for i in range(4)]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    assert [len(node.sent) for node in nodes] == worksteal_shares(1231, 4)
    assert sorted(collection[node.sent[0]] for node in nodes) == ["t1200", "t5", "t600", "t601"]


def test_durations_are_summed_per_test_from_a_durations_report():
    report = ("==== slowest durations ====\n"
              "121.02s call     tests/integration/test_chain.py::test_x[redis_stack]\n"
              "3.50s setup    tests/integration/test_chain.py::test_x[redis_stack]\n"
              "0.20s teardown tests/integration/test_chain.py::test_x[redis_stack]\n"
              "7.00s call     tests/faults/test_faults.py::test_y\n")
    assert durations_from_report(report) == {
        "tests/integration/test_chain.py::test_x[redis_stack]": pytest.approx(124.72),
        "tests/faults/test_faults.py::test_y": 7.0}


def test_the_docstring_examples_hold():
    assert doctest.testmod(longest_first).failed == 0
