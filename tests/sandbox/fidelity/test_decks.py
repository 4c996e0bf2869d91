"""Item 4: a task with ``enable_deck=True`` writes ``deck.html`` to its output prefix; its node execution then
carries ``deck_uri`` (as propeller reports it), so ``flyte_urls.deck``, ``CreateDownloadLink(ARTIFACT_TYPE_DECK)``
and ``FlyteRemote.get(<deck flyte url>)`` work; a task without a deck has none."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from flyteidl.admin import node_execution_pb2
from flyteidl.service import dataproxy_pb2

from tests.sandbox.fidelity.helpers import FAILED, NODE_FAILED, SUCCEEDED, run

pytestmark = pytest.mark.flytekit


def _node_id(execution: Any, node: str) -> Any:
    out = node_execution_pb2.NodeExecutionGetRequest().id
    out.execution_id.CopyFrom(execution.id.to_flyte_idl())
    out.node_id = node
    return out


def test_deck_of_a_task_is_linked_from_its_node_execution(
    remote: Any, admin: Any, dataproxy: Any, registered: str
) -> None:
    execution = run(remote, registered, "decks.deck_wf", x=7)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 50

    report = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=_node_id(execution, "n0")))
    assert report.closure.deck_uri.endswith("/n0/0/deck.html"), report.closure.deck_uri
    data = admin.GetNodeExecutionData(node_execution_pb2.NodeExecutionGetDataRequest(id=_node_id(execution, "n0")))
    assert data.flyte_urls.deck.endswith("/n0/d")

    request = dataproxy_pb2.CreateDownloadLinkRequest(artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK)
    request.node_execution_id.CopyFrom(_node_id(execution, "n0"))
    link = remote.client.create_download_link(request)
    assert link.pre_signed_urls.signed_url
    html = remote.get(data.flyte_urls.deck)
    text = html.data if hasattr(html, "data") else html.decode()
    assert "x squared is 49" in text

    # the task without a deck: no deck_uri, no deck URL, and flyteadmin's answer to a deck link request
    plain = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=_node_id(execution, "n1")))
    assert plain.closure.deck_uri == ""
    plain_data = admin.GetNodeExecutionData(
        node_execution_pb2.NodeExecutionGetDataRequest(id=_node_id(execution, "n1"))
    )
    assert plain_data.flyte_urls.deck == ""
    request.node_execution_id.CopyFrom(_node_id(execution, "n1"))
    with pytest.raises(grpc.RpcError) as info:
        dataproxy.CreateDownloadLink(request)
    assert "no deckUrl found for request" in info.value.details()


def test_deck_of_a_failed_task_is_linked_too(remote: Any, admin: Any, dataproxy: Any, registered: str) -> None:
    execution = run(remote, registered, "decks.failing_deck_wf", x=1)
    assert execution.closure.phase == FAILED
    assert "the report broke" in execution.error.message
    report = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=_node_id(execution, "n0")))
    assert report.closure.phase == NODE_FAILED
    assert report.closure.deck_uri.endswith("/n0/0/deck.html"), report.closure.deck_uri
    request = dataproxy_pb2.CreateDownloadLinkRequest(artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK)
    request.node_execution_id.CopyFrom(_node_id(execution, "n0"))
    assert dataproxy.CreateDownloadLink(request).pre_signed_urls.signed_url
