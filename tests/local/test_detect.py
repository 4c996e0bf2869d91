"""Recognising local entities without importing flytekit, the missing-extra error, source roots and versions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_flyte.remote.errors import FlyteMissingDependencyError
from airflow_provider_flyte.remote.local import (
    INSTALL_HINT,
    is_local_entity,
    local_kind,
    prepare_local_entity,
)
from airflow_provider_flyte.remote.local.packaging import (
    is_install_dir,
    module_root,
    source_root,
    source_tree,
)
from airflow_provider_flyte.remote.local.versioning import content_version
from tests.local.conftest import CodeRoot
from tests.local.flyte_sources import SHOWCASE

pytestmark = pytest.mark.flytekit


def test_kinds_of_local_entities(code_root: CodeRoot) -> None:
    from flytekit import reference_task

    from airflow_provider_flyte.remote.models import FlyteTask

    m = code_root.write("showcase", SHOWCASE)

    @reference_task("p", "d", "some.task", "v1")
    def ref(a: int) -> int: ...

    assert local_kind(m.add) == "task" and local_kind(ref) == "task"
    assert local_kind(m.gated) == "workflow" and local_kind(m.fixed) == "launch_plan"
    for other in ("some.launch_plan", None, 3, {"a": 1}, m.add.task_function, m.Box(1, m.Shape.SQUARE)):
        assert not is_local_entity(other)
    assert not is_local_entity(FlyteTask.__new__(FlyteTask))


def _run_python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_detection_does_not_import_flytekit() -> None:
    out = _run_python(
        """
        import sys
        from airflow_provider_flyte.remote.local import is_local_entity
        from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator
        print(is_local_entity("examples.arith"), is_local_entity(object()), "flytekit" in sys.modules)
        """
    )
    assert out == "False False False"


def test_parsing_a_dag_that_names_its_entities_does_not_import_flytekit() -> None:
    from tests.airflow.conftest import AIRFLOW_ENV, EXAMPLE_DAGS

    code = f"""
        import os, sys
        os.environ.update({AIRFLOW_ENV!r})
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(EXAMPLE_DAGS / "example_flyte_execute.py")!r})
        assert not bag.import_errors and bag.dags, bag.import_errors
        tasks = [t for d in bag.dags.values() for t in d.tasks if type(t).__name__ == "FlyteExecuteOperator"]
        print(len(tasks) > 0, "flytekit" in sys.modules)
        """
    assert _run_python(code).splitlines()[-1] == "True False"


def test_a_local_entity_without_flytekit_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_flyte.remote import Config, FlyteRemote

    base = type("WorkflowBase", (), {"__module__": "flytekit.core.workflow"})
    entity = type("PythonFunctionWorkflow", (base,), {"__module__": "flytekit.core.workflow"})()
    assert local_kind(entity) == "workflow"
    monkeypatch.setitem(sys.modules, "flytekit", None)  # import flytekit -> ImportError
    with FlyteRemote(Config.for_endpoint("127.0.0.1:9", insecure=True), "p", "d") as remote:
        with pytest.raises(FlyteMissingDependencyError, match=r"pip install 'airflow-provider-flyte\[flytekit\]'"):
            prepare_local_entity(remote, entity)
        assert remote.rpc_count == 0
    assert INSTALL_HINT in "pip install 'airflow-provider-flyte[flytekit]'"


def test_source_roots(code_root: CodeRoot, tmp_path: Path) -> None:
    m = code_root.write("showcase", SHOWCASE)
    assert source_root(m.add) == source_root(m.gated) == source_root(m.fixed) == code_root.root.resolve()
    assert module_root(code_root.package) == code_root.root.resolve()  # a package (its __init__.py)
    assert module_root("__main__") is None and module_root("no.such.module") is None
    # a file loaded under another name, as Airflow loads DAG files: not importable by that name on a worker
    dag_file = tmp_path / "my_dag.py"
    dag_file.write_text(SHOWCASE)
    name = "unusual_prefix_0123456789abcdef_my_dag"
    spec = importlib.util.spec_from_file_location(name, dag_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        assert source_root(module.add) is None
    finally:
        del sys.modules[name]


def test_install_directories_are_not_source_trees(code_root: CodeRoot, tmp_path: Path) -> None:
    import json

    import flytekit

    stdlib = Path(json.__file__).parents[1]
    site_packages = Path(flytekit.__file__).parents[1]
    assert is_install_dir(stdlib) and is_install_dir(site_packages)
    assert is_install_dir(tmp_path / "lib" / "dist-packages") and not is_install_dir(code_root.root)
    m = code_root.write("showcase", SHOWCASE)
    tree = source_tree(m.add)
    assert tree is not None and (tree.root, tree.only, tree.project_root) == (code_root.root.resolve(), None, tree.root)
    installed = CodeRoot(tmp_path / "lib" / "site-packages")
    try:
        module = installed.write("showcase", SHOWCASE)
        tree = source_tree(module.gated)
        assert tree is not None and tree.root == installed.root.resolve() and tree.project_root is None
        assert tree.only == installed.root.resolve() / installed.package
    finally:
        installed.close()


def test_content_version_is_stable_and_sensitive() -> None:
    v = content_version([b"spec-a", b"spec-b"], b"code")
    assert v == content_version([b"spec-a", b"spec-b"], b"code") and len(v) == 26
    assert v.isalnum() and v == v.lower()
    others = {
        content_version([b"spec-a", b"spec-c"], b"code"),
        content_version([b"spec-a", b"spec-b"], b"code2"),
        content_version([b"spec-b", b"spec-a"], b"code"),
        content_version([b"spec-as", b"pec-b"], b"code"),
    }
    assert v not in others and len(others) == 4


def test_unimportable_code_needs_interactive_mode(tmp_path: Path) -> None:
    from airflow_provider_flyte.remote import Config, FlyteRemote
    from airflow_provider_flyte.remote.errors import FlyteInvalidInputError

    dag_file = tmp_path / "a_dag.py"
    dag_file.write_text(SHOWCASE)
    name = "unusual_prefix_fedcba9876543210_a_dag"
    spec = importlib.util.spec_from_file_location(name, dag_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        with FlyteRemote(Config.for_endpoint("127.0.0.1:9", insecure=True), "p", "d") as remote:
            with pytest.raises(FlyteInvalidInputError, match="interactive_mode_enabled=True"):
                prepare_local_entity(remote, module.add, interactive_mode_enabled=False)
            assert remote.rpc_count == 0
    finally:
        del sys.modules[name]
