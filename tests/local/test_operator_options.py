"""FlyteExecuteOperator with a local flytekit entity: the serialization options reach the registration, and
Airflow's copies of the operator (``dag.partial_subset``, ``copy.deepcopy``)
keep the entity's task resolver object (flytekit finds resolvers by identity)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.airflow.conftest import conn_uri
from tests.local.conftest import DOMAIN, PROJECT, CodeRoot
from tests.local.flyte_sources import SHOWCASE

pytestmark = pytest.mark.flytekit


@pytest.fixture
def showcase(code_root: CodeRoot) -> Any:
    return code_root.write("showcase", SHOWCASE)


def test_operator_passes_image_config_and_keeps_the_entity_uncopied(
    local_sandbox: Any, showcase: Any, remote: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flytekit.configuration import ImageConfig

    from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator
    from tests.airflow.test_operators import context

    monkeypatch.setenv("AIRFLOW_CONN_FLYTE_DEFAULT", conn_uri(local_sandbox.endpoint))
    image = "registry.example/custom-image:7"
    op = FlyteExecuteOperator(
        task_id="local_add",
        task=showcase.add,
        inputs={"a": 4, "b": 5},
        image_config=ImageConfig.from_images(image),
        deferrable=False,
        poll_interval=0.2,
    )
    clone = copy.deepcopy(op)
    # a shallow copy of the entity: the same task resolver object (a deep copy could not be serialized)
    assert clone._local_entity.task_resolver is showcase.add.task_resolver
    assert clone.image_config is not None
    assert op.task == showcase.add.name  # the templated field holds the name, never the callable

    assert clone.execute(context("local_add")) == {"o0": 10}
    registered = remote.fetch_task(PROJECT, DOMAIN, showcase.add.name)
    assert registered.proto.closure.compiled_task.template.container.image == image
