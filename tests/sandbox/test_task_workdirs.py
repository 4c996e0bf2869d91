"""Fast-registered flytekit code (a task, and a map task whose subtasks run concurrently over one bundle) runs in
per-attempt working directories under the data dir: nothing is written outside it, warm or cold."""

from __future__ import annotations

import tempfile
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import run_sandbox

pytestmark = pytest.mark.flytekit
flytekit = pytest.importorskip("flytekit")

CODE = """
import os
import tempfile

from flytekit import current_context, map_task, task, workflow


@task
def scribble(x: int) -> str:
    for directory in (os.path.expanduser("~"), tempfile.gettempdir(), os.getcwd(),
                      str(current_context().working_directory)):
        with open(os.path.join(directory, f"scribble-{x}"), "w") as f:
            f.write("x")
    return f"{x}:{__file__}"


@workflow
def scribble_wf(x: int) -> str:
    return scribble(x=x)


@workflow
def map_scribble_wf(xs: list[int]) -> list[str]:
    return map_task(scribble, concurrency=4)(x=xs)
"""


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("workers", ["warm", "cold"])
def test_fast_registered_workflows_write_nothing_outside_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    from flytekit.configuration import Config, ImageConfig
    from flytekit.remote import FlyteRemote

    outside = {name: tmp_path / "outside" / name for name in ("home", "tmp", "cwd", "root")}
    for directory in outside.values():
        directory.mkdir(parents=True)
    module = f"scribbles_{workers}"
    project = tmp_path / "project"
    project.mkdir()
    (project / f"{module}.py").write_text(textwrap.dedent(CODE))
    data_dir = tmp_path / "data"
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.setenv("HOME", str(outside["home"]))
    monkeypatch.setenv("TMPDIR", str(outside["tmp"]))
    monkeypatch.chdir(outside["cwd"])
    client_tmp = tmp_path / "client"
    client_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(client_tmp))
    with run_sandbox(SandboxConfig(data_dir=data_dir, port=0, task_workers=workers)) as sandbox:
        remote = FlyteRemote(
            Config.for_endpoint(sandbox.endpoint, insecure=True),
            default_project="flytesnacks",
            default_domain="development",
        )
        code = __import__(module)
        version = "v" + uuid.uuid4().hex[:10]
        for wf in (code.scribble_wf, code.map_scribble_wf):
            remote.register_script(
                wf,
                version=version,
                source_path=str(project),
                module_name=module,
                destination_dir=str(outside["root"]),  # as pyflyte's /root default: rewritten to the attempt dir
                image_config=ImageConfig.auto_default_image(),
            )
        monkeypatch.setattr(tempfile, "tempdir", str(outside["tmp"]))
        wait = {"timeout": timedelta(seconds=240), "poll_interval": timedelta(seconds=0.2)}
        single = remote.wait(remote.execute(code.scribble_wf, inputs={"x": 1}, version=version), **wait)
        mapped = remote.wait(
            remote.execute(code.map_scribble_wf, inputs={"xs": [1, 2, 3, 4, 5, 6]}, version=version), **wait
        )
    assert single.closure.phase == 4, single.error
    assert mapped.closure.phase == 4, mapped.error
    outputs = [single.outputs["o0"], *mapped.outputs["o0"]]
    for out in outputs:
        assert out.split(":", 1)[1].startswith(str(data_dir / "work")), out  # unpacked in the attempt's dir
    assert {k: _files(v) for k, v in outside.items()} == {k: [] for k in outside}
    assert _files(data_dir / "work") == []  # attempt dirs (and the warm worker's) removed
