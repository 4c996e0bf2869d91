"""The README demo (scripts/demo.py, what scripts/demo.sh runs) succeeds when its port is taken: it says so, runs on
a free port, ends with the "what to try next" block, and removes its temporary directory."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_succeeds_on_a_busy_port_and_cleans_up(tmp_path: Path) -> None:
    with socket.socket() as squatter:  # what `flytectl demo` holding 30080 looks like to the demo
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update({"PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py"), "--port", str(busy)],
            env=env,
            capture_output=True,
            text=True,
            timeout=280,
        )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert f"port {busy} is busy" in out
    assert re.search(r"== Flyte execution \w+: SUCCEEDED", out)
    assert "== What just happened" in out and "== What to try next" in out
    assert "example_dags/example_flyte_execute.py" in out and "airflow standalone" in out
    assert not list(tmp_path.glob("flyte-airflow-demo-*")), "the demo's temporary directory is left behind"


def test_demo_removes_its_temporary_directory_when_stopped_midway(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"})
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    for line in demo.stdout:  # stop it once the sandbox runs and its data directory exists
        if line.startswith("== sandbox up"):
            assert list(tmp_path.glob("flyte-airflow-demo-*/sandbox"))
            demo.send_signal(signal.SIGTERM)
            break
    demo.stdout.read()
    assert demo.wait(timeout=60) != 0
    assert not list(tmp_path.glob("flyte-airflow-demo-*")), "the demo's temporary directory is left behind"
