"""Fixtures of the fidelity suite: real flytekit projects registered with ``pyflyte`` into the sandbox and checked
with flytekit's own ``FlyteRemote``, as a user would against a Flyte cluster.

* ``fidelity_sandbox`` (session): one sandbox in a background thread, its own data directory;
* ``flyte_config`` (session): a flytectl-style ``config.yaml`` pointing at it (``admin.endpoint: dns:///...``);
* ``pyflyte`` (session): runs ``pyflyte --config <config.yaml> <args>`` as a subprocess from the project root
  ``workflows/`` and returns the completed process (``check=False`` to inspect a failure);
* ``registered`` (session): ``pyflyte register`` of the project's two packages once per session (fast
  registration, the default), launch plans activated; its value is the registered version;
* ``remote`` (session): flytekit's ``FlyteRemote`` on the sandbox (project flytesnacks, domain development);
* ``outside_before`` (session, taken first): what the places a task process would write to by default hold
  (``HOME``, which is ``pyflyte-fast-execute``'s default ``--dest-dir`` ``/root`` here, the project root, the
  repository), for ``test_zz_outside_data_dir.py``, which runs last and compares.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxThread, run_sandbox
from tests.sandbox.fidelity.helpers import DOMAIN, PACKAGE, PROJECT, REFS_PACKAGE, VERSION

pytest.importorskip("flytekit")

#: the root of the flytekit project (``fidelity_flows`` is its package)
PROJECT_ROOT = Path(__file__).resolve().parent / "workflows"

Pyflyte = Callable[..., "subprocess.CompletedProcess[str]"]


#: places outside the data dir that a task process would write to by default
WATCHED = (Path.home(), Path("/root"), PROJECT_ROOT, PROJECT_ROOT.parents[3])


def listing() -> dict[str, list[str]]:
    return {str(d): sorted(p.name for p in d.iterdir()) for d in WATCHED if d.is_dir()}


@pytest.fixture(scope="session", autouse=True)
def outside_before() -> dict[str, list[str]]:
    return listing()


@pytest.fixture(scope="session")
def fidelity_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    config = SandboxConfig(data_dir=tmp_path_factory.mktemp("fidelity-sandbox"), port=0)
    with run_sandbox(config) as running:
        yield running


@pytest.fixture(scope="session")
def flyte_config(fidelity_sandbox: SandboxThread, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flyte-config") / "config.yaml"
    path.write_text(f"admin:\n  endpoint: dns:///{fidelity_sandbox.endpoint}\n  insecure: true\n")
    return path


@pytest.fixture(scope="session")
def pyflyte(flyte_config: Path) -> Pyflyte:
    executable = str(Path(sys.executable).with_name("pyflyte"))

    def run(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_")}
        # the project root must not see the repository's packages (``tests``) before its own
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        argv = [executable, "--config", str(flyte_config), *args]
        done = subprocess.run(
            argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv[1:])} exited with {done.returncode}\n"
                f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-6000:]}"
            )
        return done

    return run


def register_args(package: str, version: str = VERSION) -> list[str]:
    """``pyflyte register`` of one package of the project, launch plans activated."""
    return ["register", "--project", PROJECT, "--domain", DOMAIN, "--version", version, "--activate-launchplans", package]


@pytest.fixture(scope="session")
def registered(pyflyte: Pyflyte) -> str:
    """Both packages registered (fast registration, the default) at the suite's fixed version: ``fidelity_flows``,
    then ``fidelity_refs``, whose reference entities point at it."""
    pyflyte(*register_args(PACKAGE))
    pyflyte(*register_args(REFS_PACKAGE))
    return VERSION


@pytest.fixture(scope="session")
def remote(fidelity_sandbox: SandboxThread) -> Any:
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    return FlyteRemote(
        Config.for_endpoint(fidelity_sandbox.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )


@pytest.fixture(scope="session")
def admin(fidelity_sandbox: SandboxThread) -> Iterator[Any]:
    """A raw AdminService stub (for what flytekit's models do not carry faithfully)."""
    import grpc
    from flyteidl.service import admin_pb2_grpc

    channel = grpc.insecure_channel(fidelity_sandbox.endpoint)
    yield admin_pb2_grpc.AdminServiceStub(channel)
    channel.close()


@pytest.fixture(scope="session")
def dataproxy(fidelity_sandbox: SandboxThread) -> Iterator[Any]:
    """A raw DataProxyService stub."""
    import grpc
    from flyteidl.service import dataproxy_pb2_grpc

    channel = grpc.insecure_channel(fidelity_sandbox.endpoint)
    yield dataproxy_pb2_grpc.DataProxyServiceStub(channel)
    channel.close()
