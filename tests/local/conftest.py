"""Fixtures of the local-entity tests: a sandbox whose task processes see no test code (code reaches them only
through the uploaded bundle or pickle), clients on it, and throw-away flytekit modules written to temp dirs."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("flytekit")

PROJECT, DOMAIN = "flytesnacks", "development"


@pytest.fixture(scope="module")
def local_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A sandbox with no ``task_pythonpath``: its task subprocesses cannot import the tests' flytekit modules."""
    from airflow_provider_flyte.sandbox.testing import run_sandbox

    with run_sandbox(data_dir=tmp_path_factory.mktemp("local-sandbox"), port=0) as running:
        yield running


@pytest.fixture
def remote(local_sandbox: Any) -> Iterator[Any]:
    """A fresh blocking client (empty entity cache, zeroed RPC counts)."""
    from airflow_provider_flyte.remote import Config, FlyteRemote

    with FlyteRemote(Config.for_sandbox(local_sandbox.endpoint), PROJECT, DOMAIN) as client:
        yield client


@pytest.fixture
def new_remote(local_sandbox: Any) -> Iterator[Callable[..., Any]]:
    """A factory of fresh blocking clients (keyword arguments go to ``FlyteRemote``)."""
    from airflow_provider_flyte.remote import Config, FlyteRemote

    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        client = FlyteRemote(Config.for_sandbox(local_sandbox.endpoint), PROJECT, DOMAIN, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


class CodeRoot:
    """A source root in a temp dir holding one package; ``write`` (re)writes a module and imports it fresh."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.package = "lc_" + uuid.uuid4().hex[:10]
        (root / self.package).mkdir(parents=True)
        (root / self.package / "__init__.py").write_text("")
        sys.path.insert(0, str(root))

    def write(self, module: str, source: str) -> ModuleType:
        """Write ``<package>/<module>.py`` and import it (reloaded if it was imported before)."""
        path = self.root / self.package / f"{module}.py"
        path.write_text(textwrap.dedent(source))
        name = f"{self.package}.{module}"
        importlib.invalidate_caches()
        if name in sys.modules:
            for cached in path.parent.glob(f"__pycache__/{module}.*"):
                cached.unlink()
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)

    def close(self) -> None:
        sys.path.remove(str(self.root))
        for name in [n for n in sys.modules if n == self.package or n.startswith(self.package + ".")]:
            del sys.modules[name]


@pytest.fixture
def code_root(tmp_path: Path) -> Iterator[CodeRoot]:
    root = CodeRoot(tmp_path / "src")
    yield root
    root.close()
