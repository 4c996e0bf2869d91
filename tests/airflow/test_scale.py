"""1,000 execution triggers in one event loop against the sandbox: the shared poller keeps the RPCs per poll
interval bounded (target <= 10), the CPU per poll cycle small, the memory per trigger under 50 KB, and every one
of the 1,000 events is right."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from typing import Any

import pytest

from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger
from airflow_provider_flyte.triggers.poller import REGISTRY

N = 1000
P, D = "flytesnacks", "development"


@pytest.mark.slow
@pytest.mark.usefixtures("flyte_conn")
def test_thousand_triggers(remote: Any, examples: dict[str, Any]) -> None:
    tag = time.time_ns() % 10**9
    names = []
    for i in range(N):
        seconds = 6.0 if i % 2 else 6.5
        names.append(remote.execute(examples["examples.slow"], {"seconds": seconds}, execution_name=f"k{tag}-{i}").id.name)
    failing = [remote.execute(examples["examples.fail"], {"message": f"m{i}"}, execution_name=f"kf{tag}-{i}").id.name
               for i in range(5)]

    async def main() -> dict[str, Any]:
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        triggers = [FlyteExecutionTrigger(n, P, D, poll_interval=1.0, log_node_progress=False) for n in names + failing]
        tasks = [asyncio.ensure_future(t.run().__anext__()) for t in triggers]
        await asyncio.sleep(1.5)  # everyone is waiting, one round done
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        per_trigger = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(triggers)
        poller = REGISTRY.pollers()[0]
        rounds0, rpcs0, cpu0 = poller.rounds, poller.rpc_count, time.thread_time()
        await asyncio.sleep(3.2)
        rounds, rpcs, cpu = poller.rounds - rounds0, poller.rpc_count - rpcs0, time.thread_time() - cpu0
        events = await asyncio.wait_for(asyncio.gather(*tasks), 120)
        return {"per_trigger": per_trigger, "rounds": rounds, "rpcs": rpcs, "cpu": cpu, "events": events}

    result = asyncio.run(main())
    events = [e.payload for e in result["events"]]
    print(
        f"\n{N + 5} triggers: {result['rpcs'] / result['rounds']:.1f} RPCs per poll interval, "
        f"{result['cpu'] / result['rounds'] * 1000:.1f} ms CPU per poll cycle (event-loop thread), "
        f"{result['per_trigger'] / 1024:.1f} KB per trigger"
    )
    assert [e["status"] for e in events[:N]] == ["success"] * N
    assert [e["execution_name"] for e in events[:N]] == names
    assert [e["status"] for e in events[N:]] == ["failed"] * 5
    assert result["rounds"] >= 2 and result["rpcs"] / result["rounds"] <= 10
    assert result["per_trigger"] < 50 * 1024
