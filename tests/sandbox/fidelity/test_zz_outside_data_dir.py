"""Runs last in the fidelity suite: no task process wrote outside the sandbox's ``--data-dir`` (fast-registered
code is unpacked into a per-attempt directory under it, not into ``--dest-dir``'s default, ``HOME`` or the cwd)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.fidelity.conftest import listing


def test_nothing_was_written_outside_the_data_dir(registered: str, outside_before: dict[str, Any]) -> None:
    assert listing() == outside_before
