"""The README demo: start the embedded Flyte sandbox, register the example workflows, run the
``example_flyte_execute`` DAG with ``dag.test()`` (its Flyte task defers and is resumed by the in-process
trigger run) and print the Flyte execution's outputs.

Run it through ``scripts/demo.sh`` (which creates the virtualenv first).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = REPO / "example_dags"


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="flyte-airflow-demo-"))
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

    port = int(os.environ.get("FLYTE_SANDBOX_PORT", "30080"))
    print(f"== starting the Flyte sandbox on 127.0.0.1:{port} (data in {work / 'sandbox'})", flush=True)
    with SandboxProcess(SandboxConfig(data_dir=work / "sandbox", port=port)) as sandbox:
        endpoint = sandbox.endpoint
        print("== registering the example workflows", flush=True)
        from flyte_examples_registry import register_examples

        with FlyteRemote(Config.for_sandbox(endpoint), "flytesnacks", "development") as remote:
            register_examples(remote)

        os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = (
            f"flyte://{endpoint}?insecure=true&project=flytesnacks&domain=development"
            f"&console_url={quote(sandbox.console_url, safe='')}"
        )
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
    shutil.rmtree(work, ignore_errors=True)
    return 0 if str(run.state) in {"success", "DagRunState.SUCCESS"} else 1


if __name__ == "__main__":
    raise SystemExit(main())
