"""``fast_package`` leaves out what flytekit's leaves out: ``.gitignore`` (through git), ``.dockerignore``,
``.flyteignore`` and the standard patterns; compared member by member with flytekit's own ``fast_package``."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from airflow_provider_flyte.remote.files import build_fast_package

pytestmark = pytest.mark.flytekit

TREE = {
    "wf/__init__.py": "",
    "wf/tasks.py": "x = 1\n",
    "wf/notes.md": "notes\n",
    "data/big.csv": "1,2\n",
    "data/keep/me.txt": "kept by a negation\n",
    "scratch.tmp": "t\n",
    "logs/run.log": "l\n",
    "build/out/a.txt": "a\n",
    "deep/x/secret.key": "k\n",
    "wf/__pycache__/tasks.cpython-311.pyc": "",
    "wf/cached.pyc": "",
    ".cache/item": "c\n",
    "local_only.txt": "flyteignored\n",
}


def _always_left_out(member: str) -> bool:
    from airflow_provider_flyte.remote.files import IGNORED_NAMES, IGNORED_SUFFIXES

    return bool(set(member.split("/")) & IGNORED_NAMES) or member.endswith(IGNORED_SUFFIXES)


def _members(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return {m.name for m in tar.getmembers() if m.isfile()}


def _tree(root: Path, git: bool) -> Path:
    for rel, text in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / ".gitignore").write_text("*.tmp\nlogs/\n")
    (root / ".dockerignore").write_text("# data is mounted\ndata\n!data/keep\nbuild/**\n**/*.key\n")
    (root / ".flyteignore").write_text("local_only.txt\n")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


@pytest.mark.parametrize("git", [True, False], ids=["git-repo", "no-repo"])
def test_same_files_as_flytekit(tmp_path: Path, git: bool) -> None:
    if git and shutil.which("git") is None:
        pytest.skip("git is not installed")
    from flytekit.tools.fast_registration import fast_package

    root = _tree(tmp_path / "src", git)
    (tmp_path / "fk").mkdir()
    theirs = _members(Path(fast_package(root, tmp_path / "fk", deref_symlinks=True)))
    ours = _members(build_fast_package(root, tmp_path / "ours"))
    # one deliberate difference: flytekit also packs the repository's .git directory, we never do
    assert ours == {m for m in theirs if not m.startswith(".git/")}
    assert "wf/tasks.py" in ours and "wf/notes.md" in ours
    assert not {"data/big.csv", "build/out/a.txt", "deep/x/secret.key", "local_only.txt"} & ours
    assert ("scratch.tmp" in ours) is (not git) and ("logs/run.log" in ours) is (not git)


def test_ignored_data_does_not_change_the_package(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src", git=False)
    first = build_fast_package(root, tmp_path / "a")
    (root / "data" / "big.csv").write_text("changed, and ignored\n")
    (root / "build" / "out" / "b.txt").write_text("new\n")
    assert build_fast_package(root, tmp_path / "b").name == first.name


@pytest.mark.parametrize("keep_defaults", [True, False], ids=["with-defaults", "only-custom"])
def test_fast_package_options_ignores(tmp_path: Path, flytekit_sandbox: object, keep_defaults: bool) -> None:
    """flytekit's FastPackageOptions: custom Ignore classes, with or without the default ignores."""
    from flytekit.tools.fast_registration import FastPackageOptions, fast_package
    from flytekit.tools.ignore import Ignore

    from airflow_provider_flyte.remote import Config, FlyteRemote

    class NoNotes(Ignore):
        def _is_ignored(self, path: str) -> bool:
            return path.endswith(".md")

    root = _tree(tmp_path / "src", git=False)
    options = FastPackageOptions(ignores=[NoNotes], keep_default_ignores=keep_defaults)
    (tmp_path / "fk").mkdir()
    theirs = _members(Path(fast_package(root, tmp_path / "fk", deref_symlinks=True, options=options)))
    endpoint = flytekit_sandbox.endpoint  # type: ignore[attr-defined]
    with FlyteRemote(Config.for_sandbox(endpoint), "flytesnacks", "development") as remote:
        remote.fast_package(root, output=str(tmp_path / "ours"), options=options)
    (package,) = (tmp_path / "ours").iterdir()
    ours = _members(package)
    # never packed here, whatever the options: caches, byte code, .git, virtualenvs
    assert ours == {m for m in theirs if not _always_left_out(m)} and "wf/notes.md" not in ours
    assert ("data/big.csv" in ours) is (not keep_defaults)
