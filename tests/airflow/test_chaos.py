"""100 executions started and awaited through the operator (deferrable: the triggers; blocking: the worker's own
polls) while the sandbox fails 20% of RPCs with UNAVAILABLE and adds latency jitter, with the DEFAULT client
settings: every one ends with the right result, and the sandbox holds exactly 100 (no duplicates)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator
from airflow_provider_flyte.sandbox.config import FaultSettings

N = 100


class _TI:
    def __init__(self, run_id: str, task_id: str, try_number: int) -> None:
        self.dag_id, self.run_id, self.task_id, self.try_number, self.map_index = "chaos", run_id, task_id, try_number, -1
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def _ctx(run_id: str, task_id: str, try_number: int) -> dict[str, Any]:
    ti = _TI(run_id, task_id, try_number)
    return {"ti": ti, "task_instance": ti, "run_id": run_id}


@pytest.mark.slow
@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "blocking"])
def test_hundred_executions_under_faults(fresh_sandbox: Any, examples: Any, airflow_db: Any, deferrable: bool) -> None:
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config

    sb = fresh_sandbox(faults=FaultSettings(unavailable_fraction=0.2, delay_fraction=0.3, max_delay_seconds=0.05, seed=7))
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project="flytesnacks", default_domain="development") as r:
        for _ in range(20):  # registration goes through the same faults
            try:
                register_examples(r)
                break
            except Exception:
                time.sleep(0.1)
    os.environ["AIRFLOW_CONN_FLYTE_CHAOS"] = f"flyte://{sb.endpoint}?insecure=true&project=flytesnacks&domain=development"
    run_id = f"chaos-{time.time_ns()}"
    try:
        deferred: list[tuple[FlyteExecuteOperator, dict[str, Any], Any]] = []
        finished: list[Any] = []
        for i in range(N):
            op = FlyteExecuteOperator(task_id=f"t{i}", launch_plan="examples.arith", inputs={"a": i, "b": 1},
                                      flyte_conn_id="flyte_chaos", deferrable=deferrable, poll_interval=0.3)
            for try_number in range(1, 6):  # what Airflow's task retries do
                ctx = _ctx(run_id, f"t{i}", try_number)
                try:
                    finished.append(op.execute(ctx))  # the blocking operator waits here
                    break
                except TaskDeferred as exc:
                    deferred.append((op, ctx, exc.trigger))
                    break
                except AirflowFailException:
                    raise
                except AirflowException:
                    continue
            else:
                pytest.fail(f"t{i} could not start in 5 tries")
            op.hook.close()

        async def wait_all() -> list[Any]:
            async def one(trigger: Any) -> Any:
                return (await trigger.run().__anext__()).payload

            return await asyncio.gather(*(one(t) for _, _, t in deferred))

        events = asyncio.run(asyncio.wait_for(wait_all(), 300))
        results = finished
        for (op, ctx, _), event in zip(deferred, events, strict=True):
            for _ in range(5):
                try:
                    results.append(op.execute_complete(ctx, event=event))
                    break
                except AirflowFailException:
                    raise
                except AirflowException:
                    continue
            op.hook.close()
        assert results == [{"total": i + 1, "squared": (i + 1) ** 2} for i in range(N)]
        with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project="flytesnacks", default_domain="development") as r:
            for _ in range(10):
                try:
                    executions = r.list_executions(limit=1000)
                    break
                except Exception:
                    time.sleep(0.1)
        assert len(executions) == N
        assert all(e.phase_name == "SUCCEEDED" for e in executions)
    finally:
        os.environ.pop("AIRFLOW_CONN_FLYTE_CHAOS", None)
