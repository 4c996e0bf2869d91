"""Interactive mode: tasks defined in a notebook, ``__main__`` or an Airflow DAG file are shipped as a pickle.

As flytekit's ``FlyteRemote`` with ``interactive_mode_enabled``: every task of the entity is given flytekit's
``default_notebook_task_resolver`` (its container then runs ``pyflyte-execute ... --resolver
...default_notebook_task_resolver -- entity-name <task>``), the tasks are cloudpickled into a
``PickledEntity`` written as ``pkl.gz``, and that file is the fast-registration distribution: the worker downloads
it into its working directory, where the resolver loads the task from it.

Functions of modules a worker cannot import by name (a DAG file loaded by Airflow under a generated module name)
are pickled by value, like ``__main__`` functions.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.remote.local.packaging import CodeBundle, module_root

#: The file name flytekit's notebook resolver loads the pickle from (``PICKLE_FILE_PATH``).
PICKLE_FILE = "pkl.gz"
#: flytekit's size limit for the pickled tasks.
MAX_PICKLE_BYTES = 150 * 1024 * 1024


def pickled_tasks(mapping_keys: Iterator[Any] | list[Any]) -> dict[str, Any]:
    """The tasks to pickle, by name, among the entities flytekit serialized (map tasks: the mapped task)."""
    from flytekit.core.array_node_map_task import ArrayNodeMapTask
    from flytekit.core.python_auto_container import PythonAutoContainerTask
    from flytekit.core.python_function_task import PythonFunctionTask

    found: dict[str, Any] = {}
    for entity in mapping_keys:
        if isinstance(entity, PythonFunctionTask):
            mode = entity.execution_mode
            if mode in (PythonFunctionTask.ExecutionBehavior.DYNAMIC, PythonFunctionTask.ExecutionBehavior.EAGER):
                raise FlyteInvalidInputError(
                    f"{entity.name} is a {mode.name.lower()} task, which interactive mode cannot run: define it in "
                    "an importable module (it is then fast-registered) or pass interactive_mode_enabled=False"
                )
        if isinstance(entity, ArrayNodeMapTask):
            found[entity._run_task.name] = entity._run_task
        elif isinstance(entity, PythonAutoContainerTask):
            found[entity.name] = entity
    return found


@contextlib.contextmanager
def notebook_resolvers(tasks: dict[str, Any]) -> Iterator[None]:
    """Give ``tasks`` flytekit's notebook task resolver while serializing and pickling; restore them after."""
    from flytekit.core.python_auto_container import default_notebook_task_resolver

    saved = [(t, t.task_resolver) for t in tasks.values()]
    try:
        for task in tasks.values():
            task.set_resolver(default_notebook_task_resolver)
        # flytekit fills the resolver's TrackedInstance._lhs lazily (serializing does): fill it now so that what is
        # pickled does not depend on what ran before in this process (the version hashes the pickle)
        with contextlib.suppress(Exception):
            default_notebook_task_resolver.lhs  # noqa: B018
        yield
    finally:
        for task, resolver in saved:
            task.set_resolver(resolver)


def _task_module(task: Any) -> str | None:
    fn = getattr(task, "task_function", None)
    return getattr(fn, "__module__", None) if fn is not None else getattr(task, "instantiated_in", None)


#: cloudpickle's by-value registry is process-wide: one pickling at a time changes it
_BY_VALUE_LOCK = threading.Lock()


def _dumps(obj: Any, tasks: dict[str, Any]) -> bytes:
    """cloudpickle ``obj``, with the functions of modules a worker cannot import by name pickled by value."""
    import cloudpickle

    modules = {}
    for task in tasks.values():
        name = _task_module(task)
        module = sys.modules.get(name or "")
        if name and name != "__main__" and module is not None and module_root(name) is None:
            modules[name] = module
    with _BY_VALUE_LOCK:
        mine = [m for n, m in modules.items() if n not in cloudpickle.list_registry_pickle_by_value()]
        for module in mine:
            cloudpickle.register_pickle_by_value(module)
        try:
            return cloudpickle.dumps(obj)  # type: ignore[no-any-return]
        finally:
            for module in mine:
                cloudpickle.unregister_pickle_by_value(module)


def pickle_bundle(tasks: dict[str, Any], out_dir: Path) -> CodeBundle:
    """Write the ``pkl.gz`` flytekit's notebook resolver loads (call inside :func:`notebook_resolvers`)."""
    from flytekit.core.python_auto_container import PickledEntity, PickledEntityMetadata

    v = sys.version_info
    metadata = PickledEntityMetadata(python_version=f"{v.major}.{v.minor}.{v.micro}")
    entity = PickledEntity(metadata=metadata, entities=dict(tasks))
    data = _dumps(entity, tasks)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PICKLE_FILE
    with open(path, "wb") as fh, gzip.GzipFile(filename=PICKLE_FILE, mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(data)
    if path.stat().st_size > MAX_PICKLE_BYTES:
        raise FlyteInvalidInputError(
            f"the pickled tasks take {path.stat().st_size} bytes, over the {MAX_PICKLE_BYTES} bytes limit: keep large "
            "objects out of the tasks' closures and globals, or define the tasks in an importable module"
        )
    return CodeBundle("pickle", path, stable_digest(data))


def stable_digest(data: bytes) -> bytes:
    """md5 of a cloudpickle, ignoring the random ids cloudpickle gives classes it pickles by value (a class
    defined in ``__main__`` gets a new id in every process), so the same code gives the same digest each run."""
    from cloudpickle import cloudpickle as cp

    tracker = getattr(cp, "_DYNAMIC_CLASS_TRACKER_BY_CLASS", {})
    for tracker_id in list(tracker.values()):
        data = data.replace(tracker_id.encode(), b"")
    return hashlib.md5(data).digest()
