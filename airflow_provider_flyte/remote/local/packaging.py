"""Where a local entity's code comes from, and the bundle that ships it.

Two ways, as flytekit's ``FlyteRemote``:

* **fast registration**: the directory the entity's module is imported from (its source root) is packed into a
  deterministic ``fast<md5>.tar.gz`` (:func:`~airflow_provider_flyte.remote.files.build_fast_package`), uploaded
  through the data proxy, and the tasks run ``pyflyte-fast-execute`` that unpacks it before running the task;
* **interactive mode**: code that cannot be imported by module name on a worker (``__main__``, a notebook, an
  Airflow DAG file, which Airflow loads under a generated module name) is pickled instead
  (:mod:`~airflow_provider_flyte.remote.local.interactive`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

BundleKind = Literal["fast", "pickle"]


@dataclass(frozen=True)
class CodeBundle:
    """A file to upload that carries the code of the tasks: ``fast*.tar.gz`` or the interactive ``pkl.gz``."""

    kind: BundleKind
    path: Path
    #: identifies the code (for the content version): the same code always gives the same digest
    digest: bytes


def defining_module(entity: Any) -> str | None:
    """Name of the module that defines a task / workflow / launch plan (a launch plan: its workflow's)."""
    workflow = getattr(entity, "workflow", None)
    if workflow is not None and not hasattr(entity, "task_function"):
        return defining_module(workflow)
    for attr in ("task_function", "_workflow_function"):
        fn = getattr(entity, attr, None)
        if fn is not None:
            return getattr(fn, "__module__", None)
    return getattr(entity, "instantiated_in", None) or None


def module_root(module_name: str | None) -> Path | None:
    """The directory ``module_name`` is imported from (its file path minus the dotted module path), or ``None``
    when a worker could not import it by that name: ``__main__``, notebook cells, files loaded under another
    name (Airflow's ``unusual_prefix_<sha>_<file>`` DAG modules)."""
    if not module_name or module_name == "__main__":
        return None
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    stem = path.parent if path.name == "__init__.py" else path.with_suffix("")
    parts = module_name.split(".")
    if len(stem.parts) <= len(parts) or list(stem.parts[-len(parts) :]) != parts:
        return None
    return Path(*stem.parts[: -len(parts)])


def source_root(entity: Any) -> Path | None:
    """The source root to fast-package for ``entity``, or ``None`` if it needs interactive mode."""
    return module_root(defining_module(entity))


def fast_bundle(root: Path, out_dir: Path) -> CodeBundle:
    """Pack ``root`` into a deterministic ``fast<md5>.tar.gz`` in ``out_dir``."""
    from airflow_provider_flyte.remote import files

    path = files.build_fast_package(root, out_dir, deref_symlinks=True)
    return CodeBundle("fast", path, files.hash_file(path)[0])
