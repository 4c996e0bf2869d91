"""Unpickling data from the remote store is opt-in, and the client's choice reaches every output it decodes:
the execution's, its nodes' and its task attempts'."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conformance import pickled

pytestmark = pytest.mark.flytekit


@pytest.fixture(scope="module")
def registered(fk_remote: Any) -> Any:
    from flytekit.configuration import ImageConfig, SerializationSettings

    version = "p" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project="flytesnacks", domain="development", version=version
    )
    return fk_remote.register_workflow(pickled.pickle_wf, serialization_settings=settings, version=version)


def _run(endpoint: str, registered: Any, allow_pickle: bool) -> Any:
    from airflow_provider_flyte.remote import Config, FlyteRemote

    remote = FlyteRemote(Config.for_sandbox(endpoint), "flytesnacks", "development", allow_pickle=allow_pickle)
    wf = remote.fetch_workflow(name=registered.id.name, version=registered.id.version)
    execution = remote.execute(wf, {"x": 7}, wait=True)
    return remote.sync(execution, sync_nodes=True)


def test_pickled_outputs_decode_only_when_allowed(flytekit_sandbox: Any, registered: Any) -> None:
    from airflow_provider_flyte.remote.errors import FlyteError

    allowed = _run(flytekit_sandbox.endpoint, registered, allow_pickle=True)
    assert allowed.outputs["o0"] == pickled.Opaque(7)
    node = allowed.node_executions["n0"]
    assert node.outputs["o0"] == pickled.Opaque(7)
    assert node.task_executions[-1].outputs["o0"] == pickled.Opaque(7)

    refused = _run(flytekit_sandbox.endpoint, registered, allow_pickle=False)
    assert refused.is_successful
    with pytest.raises(FlyteError, match="allow_pickle"):
        _ = refused.outputs["o0"]
    with pytest.raises(FlyteError, match="allow_pickle"):
        _ = refused.node_executions["n0"].outputs["o0"]
