"""The README demo: start the embedded Flyte sandbox, register the example workflows, run the
``example_flyte_execute`` DAG with ``dag.test()`` (its Flyte task defers and is resumed by the in-process
trigger run) and print the Flyte execution's outputs.

Run it through ``scripts/demo.sh`` (which creates the virtualenv first). Options: ``--port N`` (gRPC port of the
sandbox; default 30080, or ``FLYTE_SANDBOX_PORT``; when the port is taken, e.g. by ``flytectl demo``, a free one is
picked and the demo says so) and ``--keep-running`` (keep the sandbox up after the demo, to browse its console,
until Ctrl-C). The temporary directory is removed at the end, on failure too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = REPO / "example_dags"


DEFAULT_PORT = 30080


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the README demo against a fresh embedded Flyte sandbox."
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("FLYTE_SANDBOX_PORT", DEFAULT_PORT)),
        help="gRPC port of the sandbox (default: $FLYTE_SANDBOX_PORT or 30080; a free port is picked if it is taken)",
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="keep the sandbox running after the demo until Ctrl-C"
    )
    return parser.parse_args(argv)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(requested: int) -> int:
    """The requested port if it is free, else 0 (the sandbox then binds a free port)."""
    if requested == 0 or port_is_free(requested):
        return requested
    print(
        f"== port {requested} is busy (another sandbox, or `flytectl demo`?): the sandbox takes a free port instead "
        "(choose one with --port N or FLYTE_SANDBOX_PORT=N)",
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cleanup below runs on SIGTERM too
    work = Path(tempfile.mkdtemp(prefix="flyte-airflow-demo-"))
    try:
        return run(work, choose_port(args.port), args.keep_running)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, port: int, keep_running: bool) -> int:
    os.environ.update(
        {
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{work / 'airflow' / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        }
    )
    sys.path.insert(0, str(EXAMPLE_DAGS))

    from airflow_provider_flyte.remote import Config, FlyteRemote
    from airflow_provider_flyte.sandbox.config import SandboxConfig
    from airflow_provider_flyte.sandbox.testing import SandboxProcess

    print(
        f"== starting the Flyte sandbox on 127.0.0.1:{port or '<free port>'} (data in {work / 'sandbox'})",
        flush=True,
    )
    with SandboxProcess(SandboxConfig(data_dir=work / "sandbox", port=port)) as sandbox:
        endpoint = sandbox.endpoint
        print(f"== sandbox up: gRPC {endpoint}, console {sandbox.console_url}", flush=True)
        print("== registering the example workflows", flush=True)
        from flyte_examples_registry import register_examples

        with FlyteRemote(Config.for_sandbox(endpoint), "flytesnacks", "development") as remote:
            register_examples(remote)

        connection = (
            f"flyte://{endpoint}?insecure=true&project=flytesnacks&domain=development"
            f"&console_url={quote(sandbox.console_url, safe='')}"
        )
        os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = connection
        print("== airflow db migrate", flush=True)
        from airflow.utils import db

        db.initdb() if hasattr(db, "initdb") else db.upgradedb()

        print("== running the example_flyte_execute DAG with dag.test()", flush=True)
        import example_flyte_execute

        run = example_flyte_execute.dag.test()
        print(f"== DAG run finished: {run.state}", flush=True)

        with FlyteRemote(Config.for_sandbox(endpoint), "flytesnacks", "development") as remote:
            execution = remote.recent_executions(limit=1)[0]
            execution = remote.sync(execution)
            print(f"== Flyte execution {execution.id.name}: {execution.phase_name}")
            print(f"   console: {execution.execution_url}")
            for name, value in sorted(execution.outputs.to_dict().items()):
                print(f"   output {name} = {value!r}")
        print(next_steps(sandbox, execution, connection, keep_running), flush=True)
        if keep_running:
            wait_for_interrupt()
    return 0 if str(run.state) in {"success", "DagRunState.SUCCESS"} else 1


def next_steps(sandbox: Any, execution: Any, connection: str, keep_running: bool) -> str:
    """The closing "what just happened / what to try next" block."""
    host, port = sandbox.endpoint.rsplit(":", 1)
    console = (
        f"open {execution.execution_url}\n     (all executions: {sandbox.console_url})"
        if keep_running
        else "rerun with `scripts/demo.sh --keep-running` and open the console URL printed above"
    )
    return f"""
== What just happened
   * an embedded Flyte sandbox (flyteadmin + propeller, no Docker) started on {sandbox.endpoint};
   * the example workflows were registered (example_dags/flyte_examples_registry.py);
   * Airflow ran the DAG example_dags/example_flyte_execute.py with dag.test(): its FlyteExecuteOperator started
     launch plan examples.arith, deferred while it ran, and handed its outputs to the `report` task.
== What to try next
   * the Flyte console of that execution: {console}
   * run the DAGs in the Airflow UI, while the sandbox runs (--keep-running), from another shell:
       . .venv/bin/activate
       export AIRFLOW_CONN_FLYTE_DEFAULT='{connection}'
       export AIRFLOW__CORE__DAGS_FOLDER={EXAMPLE_DAGS}
       airflow standalone      # then open http://localhost:8080, DAG example_flyte_execute
   * edit the DAG: {EXAMPLE_DAGS / "example_flyte_execute.py"} (more in {EXAMPLE_DAGS}/, docs in docs/airflow.md)
   * use the client from Python: FLYTE_PLATFORM_URL={host}:{port} FLYTE_PLATFORM_INSECURE=true, then
     FlyteRemote(Config.auto(), "flytesnacks", "development") (see README.md)"""


def wait_for_interrupt() -> None:
    import time

    print(
        "== the sandbox keeps running; press Ctrl-C to stop it and remove the temporary directory", flush=True
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\n== stopping", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
