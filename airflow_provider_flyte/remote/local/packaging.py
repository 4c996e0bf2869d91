"""Where a local entity's code comes from, and the bundle that ships it.

Two ways, as flytekit's ``FlyteRemote``:

* **fast registration**: the directory the entity's module is imported from (its source root) is packed into a
  deterministic ``fast<md5>.tar.gz`` (:func:`~airflow_provider_flyte.remote.files.build_fast_package`), uploaded
  through the data proxy, and the tasks run ``pyflyte-fast-execute`` that unpacks it before running the task.
  Code installed in the environment (its root is a ``site-packages`` / ``dist-packages`` or standard library
  directory) ships only its own top-level package, never the whole environment;
* **interactive mode**: code that cannot be imported by module name on a worker (``__main__``, a notebook, an
  Airflow DAG file, which Airflow loads under a generated module name) is pickled instead
  (:mod:`~airflow_provider_flyte.remote.local.interactive`).
"""

from __future__ import annotations

import site
import sys
import sysconfig
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


@dataclass(frozen=True)
class SourceTree:
    """What fast registration packs for an entity: its source root, or one top-level package of it."""

    #: the directory the entity's module is imported from
    root: Path
    #: the top-level package directory (or module file) to pack alone, when ``root`` is an install directory
    only: Path | None = None

    @property
    def project_root(self) -> Path | None:
        """``root`` when it is the user's source tree (flytekit's ``source_root`` setting), else ``None``."""
        return self.root if self.only is None else None


_INSTALL_DIR_NAMES = frozenset({"site-packages", "dist-packages"})


def _install_dirs() -> set[Path]:
    """The environment's install directories: site-packages (system, virtualenv, user) and the standard library."""
    paths = list(getattr(site, "getsitepackages", list)())
    user = getattr(site, "getusersitepackages", None)
    if user is not None:
        paths.append(user())
    scheme = sysconfig.get_paths()
    paths += [scheme[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in scheme]
    return {Path(p).resolve() for p in paths}


def is_install_dir(path: Path) -> bool:
    """Whether ``path`` holds installed code (site-packages, dist-packages, the standard library) rather than a
    source tree: packing it would ship the whole environment."""
    return path.name in _INSTALL_DIR_NAMES or path.resolve() in _install_dirs()


def source_tree(entity: Any) -> SourceTree | None:
    """What to fast-package for ``entity``, or ``None`` if its module cannot be imported by name on a worker
    (it needs interactive mode). For code installed in the environment: only its top-level package."""
    name = defining_module(entity)
    root = module_root(name)
    if root is None or name is None:
        return None
    if not is_install_dir(root):
        return SourceTree(root)
    top = name.split(".", 1)[0]
    package = root / top
    if package.is_dir():
        return SourceTree(root, package)
    file = getattr(sys.modules.get(top), "__file__", None)
    return SourceTree(root, Path(file)) if file else SourceTree(root, package)


def fast_bundle(tree: SourceTree, out_dir: Path) -> CodeBundle:
    """Pack ``tree`` into a deterministic ``fast<md5>.tar.gz`` in ``out_dir``."""
    from airflow_provider_flyte.remote import files

    root = tree.root
    if tree.only is not None:  # a staging root holding a link to the one package: the archive has just it
        root = out_dir / "installed-package"
        root.mkdir(parents=True, exist_ok=True)
        (root / tree.only.name).symlink_to(tree.only, target_is_directory=tree.only.is_dir())
    path = files.build_fast_package(root, out_dir, deref_symlinks=True)
    return CodeBundle("fast", path, files.hash_file(path)[0])
