"""Discovery and artifacts: FlyteHook.list_entities / FlyteListEntitiesOperator (latest versions, interfaces) and
FlyteHook.copy_outputs / FlyteDownloadOutputsOperator (to a local path and to a non-local fsspec filesystem)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_flyte.hooks.flyte import FlyteHook
from airflow_provider_flyte.operators.flyte import FlyteDownloadOutputsOperator, FlyteListEntitiesOperator
from airflow_provider_flyte.remote.errors import FlyteFailedPreconditionError, FlyteInvalidInputError
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task

pytestmark = pytest.mark.usefixtures("flyte_conn")


def test_list_entities_gives_the_latest_version_with_its_interface(remote: Any) -> None:
    prefix = f"disc{uuid.uuid4().hex[:6]}."
    for version in ("v1", "v2"):
        remote.register_task(inprocess_task(f"{prefix}square", f"{BUILTINS}:square", {"x": int}, {"o0": int},
                                            version=version))
    remote.register_task(inprocess_task(f"{prefix}hello", f"{BUILTINS}:say_hello", {"name": str}, {"o0": str}))
    found = FlyteHook().list_entities(["task", "launch_plan"], name_prefix=prefix)
    assert [(e["kind"], e["name"], e["version"]) for e in found] == [
        ("task", f"{prefix}hello", "v1"), ("task", f"{prefix}square", "v2")
    ]
    assert found[1]["inputs"] == {"x": {"type": "int", "required": True}} and found[1]["outputs"] == {"o0": "int"}
    assert found[1]["project"] == "flytesnacks" and found[1]["domain"] == "development"


def test_list_entities_operator_and_bad_kinds() -> None:
    op = FlyteListEntitiesOperator(task_id="catalog", kinds=["launch_plan"], name_prefix="examples.greet")
    greet, default = op.execute({})  # the launch plan, and the workflow's default launch plan
    assert (greet["name"], default["name"]) == ("examples.greet", "examples.greet.wf")
    assert greet["inputs"] == {"name": {"type": "str", "required": False}}  # it has a default
    assert default["inputs"] == {"name": {"type": "str", "required": True}}
    with pytest.raises(ValueError, match="kinds must be a non-empty list of 'launch_plan', 'task', 'workflow'"):
        FlyteListEntitiesOperator(task_id="bad", kinds=["job"])
    with pytest.raises(FlyteInvalidInputError, match="unknown entity kind 'job'"):
        FlyteHook().list_entities(["job"])


def test_copy_outputs_to_a_local_path_and_to_another_filesystem(remote: Any, examples: Any, tmp_path: Path) -> None:
    execution = remote.execute(examples["examples.report"], {"title": "t"}, wait=True)
    name = execution.id.name
    op = FlyteDownloadOutputsOperator(task_id="copy", execution_name=name, destination=str(tmp_path / "out"))
    assert op.execute({}) == {"report": f"{tmp_path}/out/report/report.csv", "parts": f"{tmp_path}/out/parts"}
    assert (tmp_path / "out" / "parts" / "part-1.txt").read_text() == "t 1\n"
    bucket = f"memory://bucket-{uuid.uuid4().hex[:6]}"
    copied = FlyteHook().copy_outputs(name, bucket, outputs=["parts"])
    assert copied == {"parts": f"{bucket}/parts"}
    memory = fsspec.filesystem("memory")
    assert memory.cat(f"{bucket}/parts/part-0.txt") == b"t 0\n"
    assert not memory.exists(f"{bucket}/report")
    with pytest.raises(FlyteInvalidInputError, match=r"no output\(s\) \['nope'\]; the execution has outputs"):
        FlyteHook().copy_outputs(name, bucket, outputs=["nope"])


def test_copy_outputs_of_a_failed_execution_fails_the_task(remote: Any, examples: Any, tmp_path: Path) -> None:
    failed = remote.execute(examples["examples.fail"], {"message": "x"}, wait=True)
    with pytest.raises(FlyteFailedPreconditionError, match="is FAILED: only the outputs of a SUCCEEDED"):
        FlyteHook().copy_outputs(failed.id.name, str(tmp_path))
    op = FlyteDownloadOutputsOperator(task_id="copy", execution_name=failed.id.name, destination=str(tmp_path))
    with pytest.raises(AirflowFailException, match="is FAILED"):
        op.execute({})
    assert list(tmp_path.iterdir()) == []
