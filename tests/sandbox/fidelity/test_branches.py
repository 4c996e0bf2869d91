"""Item 1: branch nodes whose nodes reuse ids of the enclosing graph (flytekit numbers every (sub)graph from n0),
nested branches and branches in sub-workflows. Propeller's compiler names the nodes of a branch
``<branch id>-<node id>``; their executions are children of the branch node."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flyteidl.admin import common_pb2 as admin_pb2

from tests.sandbox.fidelity.conftest import Pyflyte
from tests.sandbox.fidelity.helpers import NODE_SUCCEEDED, SUCCEEDED, WAIT, entity, node_records, run

pytestmark = pytest.mark.flytekit

OK = NODE_SUCCEEDED


def test_registered_workflow_scopes_branch_node_ids(remote: Any, admin: Any, registered: str) -> None:
    wf = remote.fetch_workflow(name=entity("branches.nested_branch_wf"), version=registered)
    request = admin_pb2.ObjectGetRequest(id=wf.id.to_flyte_idl())
    compiled = admin.GetWorkflow(request).closure.compiled_workflow.primary
    nodes = {n.id: n for n in compiled.template.nodes}
    assert set(nodes) == {"start-node", "n0", "n1", "n2", "end-node"}
    outer = nodes["n1"].branch_node.if_else
    inner = outer.case.then_node
    assert (inner.id, outer.else_node.id) == ("n1-n0", "n1-n1")
    assert (inner.branch_node.if_else.case.then_node.id, inner.branch_node.if_else.else_node.id) == (
        "n1-n0-n0",
        "n1-n0-n1",
    )
    upstream = compiled.connections.upstream
    assert upstream["n1"].ids == ["n0"] and upstream["n2"].ids == ["n1"]
    # the branch's nodes read the workflow's n0, not themselves
    assert upstream["n1-n0-n0"].ids == ["n0"] and upstream["n1-n1"].ids == ["n0"]
    assert "n1-n0" not in compiled.connections.downstream


def test_nested_branch_takes_the_inner_else_case(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "branches.nested_branch_wf", x=20)  # 40 > 10, not > 100
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 42
    assert node_records(remote, execution) == [
        ("end-node", "end-node", OK),
        ("n0", "n0", OK),
        ("n1", "n1", OK),
        ("n2", "n2", OK),
        ("start-node", "start-node", OK),
    ]
    assert node_records(remote, execution, "n1") == [("n1-0-n1-n0", "n1-n0", OK)]
    (inner,) = node_records(remote, execution, "n1-0-n1-n0")
    assert inner[1:] == ("n1-n0-n1", OK)  # the unique id is longer than 20 characters: hashed, as propeller does
    assert inner[0].startswith("f") and len(inner[0]) == 8
    assert execution.node_executions["n2"].inputs["x"] == 41


def test_nested_branch_takes_the_outer_else_case(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "branches.nested_branch_wf", x=3)  # 6 <= 10: double
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 13
    assert node_records(remote, execution, "n1") == [("n1-0-n1-n1", "n1-n1", OK)]
    assert list(execution.node_executions["n1"].subworkflow_node_executions) == ["n1-0-n1-n1"]


def test_branches_in_sub_workflows_reuse_ids_at_every_depth(remote: Any, registered: str) -> None:
    # n0: negate(-5) = 5; n1: sub-workflow (its n0: 6, its n1 branch: double -> 12); n2: 12 > 0 -> add_one
    execution = run(remote, registered, "branches.branch_in_sub_wf", x=-5)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 13
    assert node_records(remote, execution, "n1") == [
        ("n1-0-end-node", "end-node", OK),
        ("n1-0-n0", "n0", OK),
        ("n1-0-n1", "n1", OK),
        ("n1-0-start-node", "start-node", OK),
    ]
    (sub_branch,) = node_records(remote, execution, "n1-0-n1")
    assert sub_branch[1:] == ("n1-n1", OK)
    assert node_records(remote, execution, "n2") == [("n2-0-n2-n0", "n2-n0", OK)]


def test_branch_taking_a_sub_workflow_with_its_own_branch(remote: Any, registered: str) -> None:
    # n0: -1; n1: sub(-1): 0 -> double -> 0; n2: 0 is not > 0 -> sub(0): 1 -> double -> 2
    execution = run(remote, registered, "branches.branch_in_sub_wf", x=1)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 2
    assert node_records(remote, execution, "n2") == [("n2-0-n2-n1", "n2-n1", OK)]
    sub = node_records(remote, execution, "n2-0-n2-n1")
    assert sorted((spec, phase) for _, spec, phase in sub) == [
        ("end-node", OK),
        ("n0", OK),
        ("n1", OK),
        ("start-node", OK),
    ]


def test_pyflyte_run_remote_of_a_branching_workflow(remote: Any, pyflyte: Pyflyte) -> None:
    done = pyflyte("run", "--remote", "fidelity_flows/branches.py", "branch_in_sub_wf", "--x", "-5")
    match = re.search(r"/executions/([a-z0-9]+)", done.stdout)
    assert match, done.stdout
    execution = remote.wait(remote.fetch_execution(name=match.group(1)), **WAIT)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 13
