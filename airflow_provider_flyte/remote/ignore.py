"""Which files fast registration leaves out of a package, as flytekit's ``flytekit.tools.ignore`` decides it.

flytekit packs a source tree minus what any of these ignore: ``git ls-files -io --exclude-standard`` (the
``.gitignore`` files, when ``git`` is installed and the tree is in a repository), ``.dockerignore`` and
``.flyteignore`` at the root (Docker's pattern rules: ``*``/``?`` stay within a path segment, ``**`` spans
segments, ``!`` re-includes, a pattern matching a directory covers everything under it), and the standard
patterns (``*.pyc``, ``__pycache__``, ``.cache``). This module decides the same without importing flytekit.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

#: flytekit's ``STANDARD_IGNORE_PATTERNS`` (matched with ``fnmatch``, where ``*`` also crosses ``/``)
STANDARD_PATTERNS = ("*.pyc", ".cache", ".cache/*", "__pycache__/*", "**/__pycache__/*")


def _segment_regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax as a regex over a cleaned relative path."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" : any number of leading directories
                out.append("(.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[^{body[1:]}]" if body.startswith(("!", "^")) else f"[{body}]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return re.compile("".join(out))


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    depth: int
    exclusion: bool


def _parse(lines: list[str]) -> list[_Pattern]:
    patterns = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        exclusion = text.startswith("!")
        if exclusion:
            text = text[1:].strip()
        text = os.path.normpath(text).replace(os.sep, "/").lstrip("/")
        if text in ("", "."):
            continue
        patterns.append(_Pattern(_segment_regex(text), len(text.split("/")), exclusion))
    return patterns


def _docker_matches(patterns: list[_Pattern], path: str) -> bool:
    """Docker's ``PatternMatcher.matches``: the last matching pattern wins; a pattern also matches a path whose
    leading directories (as many as the pattern has segments) it matches."""
    matched = False
    parents = path.split("/")[:-1]
    for pattern in patterns:
        hit = bool(pattern.regex.match(path))
        if not hit and parents and pattern.depth <= len(parents):
            hit = bool(pattern.regex.match("/".join(parents[: pattern.depth])))
        if hit:
            matched = not pattern.exclusion
    return matched


class IgnoreRules:
    """The ignore rules of one source tree (read once)."""

    def __init__(
        self, root: Path, extra: Sequence[Callable[[str], bool]] = (), defaults: bool = True
    ) -> None:
        self.root = root
        self._extra = tuple(extra)
        self._defaults = defaults
        self._docker = self._read(".dockerignore") if defaults else []
        self._flyte = self._read(".flyteignore") if defaults else []

    def _read(self, name: str) -> list[_Pattern]:
        path = self.root / name
        return _parse(path.read_text().splitlines()) if path.is_file() else []

    @cached_property
    def _git_ignored(self) -> tuple[frozenset[str], frozenset[str]]:
        """Files and directories git ignores under the root (nothing without git or outside a repository)."""
        if shutil.which("git") is None:
            return frozenset(), frozenset()

        def listing(*extra: str) -> frozenset[str]:
            out = subprocess.run(
                ["git", "ls-files", "-io", "--exclude-standard", *extra],
                cwd=self.root,
                capture_output=True,
                check=False,
            )
            if out.returncode != 0:
                return frozenset()
            return frozenset(out.stdout.decode().split("\n")[:-1])

        return listing(), listing("--directory")

    def is_ignored(self, rel: str, is_dir: bool = False) -> bool:
        """Whether the root-relative POSIX path ``rel`` is left out of the package."""
        if any(ignored(rel) for ignored in self._extra):
            return True
        if not self._defaults:
            return False
        files, dirs = self._git_ignored
        if files and (rel in files or (is_dir and dirs and f"{rel}/" in dirs)):
            return True
        if _docker_matches(self._docker, rel) or _docker_matches(self._flyte, rel):
            return True
        return any(fnmatch.fnmatch(rel, p) for p in STANDARD_PATTERNS)


__all__ = ["STANDARD_PATTERNS", "IgnoreRules"]
