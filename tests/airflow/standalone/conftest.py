"""A real ``airflow standalone`` (scheduler, dag-processor, triggerer, API server, LocalExecutor) on loopback ports
28080/28793/28794 (``FLYTE_TEST_AIRFLOW_PORT`` moves the API port; the log ports follow it), with the DAGs of ``dags/`` and the session sandbox as its Flyte.

It runs in its own session (``setsid``) and is stopped by terminating every child process individually (SIGKILL
after a grace period): ``airflow standalone`` does not reliably stop its children on a signal.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.airflow.conftest import conn_uri

API_PORT = int(os.environ.get("FLYTE_TEST_AIRFLOW_PORT", "28080"))
WORKER_LOG_PORT, TRIGGER_LOG_PORT = API_PORT + 713, API_PORT + 714
DAGS = Path(__file__).parent / "dags"
STARTUP_TIMEOUT = 240


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kill_tree(pid: int, grace: float = 10.0) -> None:
    """Terminate a process and all its descendants one by one; SIGKILL what outlives ``grace``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = [*root.children(recursive=True), root]
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


class Standalone:
    """Handle on the running standalone: REST API calls, component processes, extra triggerers."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.base = f"http://127.0.0.1:{API_PORT}"
        self.process: subprocess.Popen[bytes] | None = None
        self.extra: list[subprocess.Popen[bytes]] = []
        self._token: str | None = None
        self.log_path = home / "standalone.log"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "airflow"), "standalone"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.home,
            )
        deadline = time.time() + STARTUP_TIMEOUT
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"airflow standalone exited: {self.log_tail()}")
            try:
                health = self.api("GET", "/api/v2/monitor/health")
                components = ("scheduler", "triggerer", "dag_processor")
                if all((health.get(c) or {}).get("status") == "healthy" for c in components):
                    self.api("GET", "/api/v2/dags/sa_defer")
                    return
            except (OSError, urllib.error.URLError, RuntimeError):
                pass
            time.sleep(2)
        raise TimeoutError(f"airflow standalone not ready in {STARTUP_TIMEOUT}s: {self.log_tail()}")

    def stop(self) -> None:
        for proc in self.extra:
            _kill_tree(proc.pid)
        if self.process is not None:
            _kill_tree(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def component_pids(self, name: str) -> list[int]:
        """PIDs of the standalone's processes whose command line runs ``airflow <name>`` (and their children)."""
        import psutil

        assert self.process is not None
        found: list[int] = []
        for proc in psutil.Process(self.process.pid).children(recursive=True):
            try:
                cmd = proc.cmdline()
            except psutil.NoSuchProcess:
                continue
            if name in cmd[1:3] and any("airflow" in c for c in cmd[:2]):
                found.append(proc.pid)
                found.extend(child.pid for child in proc.children(recursive=True))
        return sorted(set(found))

    def start_triggerer(self) -> None:
        self.extra.append(
            subprocess.Popen(
                [str(Path(sys.executable).parent / "airflow"), "triggerer"], env=self.env,
                stdout=open(self.home / "triggerer2.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                start_new_session=True, cwd=self.home,
            )
        )

    # ---------------------------------------------------------------- REST
    def token(self) -> str:
        if self._token is None:
            with urllib.request.urlopen(f"{self.base}/auth/token", timeout=10) as resp:
                self._token = json.loads(resp.read())["access_token"]
        return self._token

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if not path.startswith("/api/v2/monitor"):
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                text = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
        return json.loads(text) if text else None

    def trigger(self, dag_id: str) -> str:
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
        return str(run["dag_run_id"])

    def ti(self, dag_id: str, run_id: str, task_id: str = "run") -> dict[str, Any]:
        return dict(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"))

    def wait_state(self, dag_id: str, run_id: str, states: set[str], timeout: float = 120, task_id: str = "run") -> dict[str, Any]:
        deadline = time.time() + timeout
        ti: dict[str, Any] = {}
        while time.time() < deadline:
            ti = self.ti(dag_id, run_id, task_id)
            if ti.get("state") in states:
                return ti
            time.sleep(1)
        raise TimeoutError(f"{dag_id}/{run_id}/{task_id} not in {states} after {timeout}s: {ti}\n{self.log_tail()}")

    def xcom(self, dag_id: str, run_id: str, key: str, task_id: str = "run") -> Any:
        entry = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")
        return entry["value"]


@pytest.fixture(scope="session")
def standalone(sandbox: Any, examples: dict[str, Any]) -> Iterator[Standalone]:
    if shutil.which("airflow", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the airflow CLI is not installed next to this Python")
    busy = [p for p in (API_PORT, WORKER_LOG_PORT, TRIGGER_LOG_PORT) if not _port_free(p)]
    if busy:
        pytest.skip(f"loopback ports {busy} are in use (another airflow standalone?)")
    home = Path(tempfile.mkdtemp(prefix="airflow-flyte-standalone-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{API_PORT}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(API_PORT),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(WORKER_LOG_PORT),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(TRIGGER_LOG_PORT),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        # execution links point at the sandbox's console (its HTTP endpoint), as the README's connection does
        "AIRFLOW_CONN_FLYTE_DEFAULT": conn_uri(sandbox.endpoint, console_url=quote(sandbox.config.console_url(), safe="")),
    }
    runner = Standalone(home, env)
    try:
        runner.start()
        yield runner
    finally:
        runner.stop()
