"""Every ```python block of README.md and docs/*.md runs as written, as its own program (``python -c``), against the
session sandbox with the example workflows registered, the ``flyte_default`` connection set, and ``Config.auto()``
pointed at the sandbox through the environment variables the README gives. A block whose first line is a comment
starting ``# fragment:`` (followed by the reason) is not a complete program and is skipped, visibly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte._compat import AIRFLOW_V_3

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = "# fragment:"
pytestmark = [
    pytest.mark.usefixtures("airflow_db", "flyte_conn"),
    pytest.mark.skipif(not AIRFLOW_V_3, reason="the docs' snippets are written for Airflow 3"),
]


def _blocks() -> list[Any]:
    params = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, match.start()) + 1
            params.append(pytest.param(match.group(1), id=f"{path.relative_to(ROOT)}:{line}"))
    return params


def test_the_docs_have_python_blocks() -> None:
    assert len(_blocks()) >= 10


@pytest.mark.parametrize("source", _blocks())
def test_docs_python_block_runs(source: str, sandbox: Any, tmp_path: Path) -> None:
    first = source.lstrip().splitlines()[0] if source.strip() else ""
    if first.startswith(FRAGMENT):
        reason = first[len(FRAGMENT) :].strip()
        assert reason, "a fragment marker must say why the block is not a complete program"
        pytest.skip(f"fragment: {reason}")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_dags")]),
        "FLYTE_PLATFORM_URL": sandbox.endpoint,
        "FLYTE_PLATFORM_INSECURE": "true",
        "FLYTE_PLATFORM_CONSOLE_ENDPOINT": sandbox.config.console_url(),
    }
    program = tmp_path / "snippet.py"  # a file, as a reader would paste it (flytekit reads task source code)
    program.write_text(source)
    result = subprocess.run(
        [sys.executable, str(program)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280
    )
    assert result.returncode == 0, (
        f"the block failed:\n{source}\n--- output:\n{result.stdout}\n{result.stderr[-3000:]}"
    )
