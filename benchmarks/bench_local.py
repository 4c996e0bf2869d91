"""Executing a local flytekit workflow: our client vs flytekit's ``FlyteRemote``, against the same sandbox.

A generated module (in a temp source root) defines a workflow chaining 20 tasks. Each client executes it twice
from a fresh client object per call ("first": nothing registered yet; "repeat": unchanged code, as the next
Airflow task run or script run would). For each call: wall time of ``execute`` (registration, code shipping and
``CreateExecution``; not the run) and the RPCs it made, by method.

* **ours**: ``FlyteRemote.execute(local_wf)`` -- content-derived version, code shipped as a fast-registration
  bundle (flytekit's ``register_script`` equivalent), one ``Get`` when already registered;
* **flytekit, version=...**: flytekit's ``execute`` with an explicit version (no code shipping: the sandbox's
  task processes import the module from ``task_pythonpath``);
* **flytekit, interactive**: flytekit's ``interactive_mode_enabled=True`` (version from a hash, tasks pickled).

``--verify`` waits for the first execution of each client and checks the output (the 20 tasks run as flytekit
subprocesses, which takes a while). The sandbox runs as a separate process.

    python benchmarks/bench_local.py [--tasks 20] [--verify]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airflow_provider_flyte.remote import Config, FlyteRemote
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxProcess

P, D = "flytesnacks", "development"


def write_workflow_module(root: Path, tasks: int) -> Any:
    """A package in ``root`` whose module ``chain`` defines ``t0..t{n-1}`` and ``wf(x)`` chaining them."""
    package = "bench_local_" + uuid.uuid4().hex[:8]
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    lines = ["from flytekit import task, workflow", ""]
    for i in range(tasks):
        lines += ["@task", f"def t{i}(x: int) -> int:", f"    return x + {i}", ""]
    lines += ["@workflow", "def wf(x: int = 0) -> int:", "    v0 = t0(x=x)"]
    lines += [f"    v{i} = t{i}(x=v{i - 1})" for i in range(1, tasks)]
    lines += [f"    return v{tasks - 1}", ""]
    (root / package / "chain.py").write_text("\n".join(lines))
    sys.path.insert(0, str(root))
    import importlib

    return importlib.import_module(f"{package}.chain")


@contextlib.contextmanager
def count_grpc_calls() -> Iterator[Counter[str]]:
    """Count unary gRPC calls made through ``grpc`` channels (flytekit's client has no counters of its own)."""
    import grpc._channel as channel

    counts: Counter[str] = Counter()
    cls = channel._UnaryUnaryMultiCallable
    originals = {name: getattr(cls, name) for name in ("__call__", "with_call", "future")}

    def counting(name: str) -> Callable[..., Any]:
        original = originals[name]

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            method = self._method.decode() if isinstance(self._method, bytes) else str(self._method)
            counts[method.rsplit("/", 1)[-1]] += 1
            return original(self, *args, **kwargs)

        return call

    for name in originals:
        setattr(cls, name, counting(name))
    try:
        yield counts
    finally:
        for name, original in originals.items():
            setattr(cls, name, original)


def ours(endpoint: str, wf: Any) -> tuple[float, dict[str, int], Any]:
    with FlyteRemote(Config.for_sandbox(endpoint), P, D) as remote:
        start = time.perf_counter()
        execution = remote.execute(wf, {"x": 1})
        elapsed = time.perf_counter() - start
        return elapsed, dict(remote.rpc_stats.by_method), execution.id.name


def flytekit_execute(endpoint: str, wf: Any, interactive: bool, version: str | None) -> tuple[float, dict[str, int], Any]:
    from flytekit.configuration import Config as FkConfig
    from flytekit.remote import FlyteRemote as FkRemote

    remote = FkRemote(
        FkConfig.for_endpoint(endpoint, insecure=True), P, D, interactive_mode_enabled=interactive
    )
    with count_grpc_calls() as counts:
        start = time.perf_counter()
        execution = remote.execute(wf, inputs={"x": 1}, version=version)
        elapsed = time.perf_counter() - start
    return elapsed, dict(counts), execution.id.name


def wait_output(endpoint: str, name: str) -> Any:
    with FlyteRemote(Config.for_sandbox(endpoint), P, D) as remote:
        execution = remote.wait(remote.fetch_execution(name=name), timeout=900)
        return execution.outputs["o0"] if execution.is_successful else execution.phase_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="a new module (never registered) per round")
    parser.add_argument("--verify", action="store_true", help="wait for the first executions and check outputs")
    args = parser.parse_args()
    # flytekit's pyflyte-fast-execute starts pyflyte-execute through PATH
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        roots = [Path(tmp) / f"src{i}" for i in range(args.rounds)]
        modules = [write_workflow_module(root, args.tasks) for root in roots]
        config = SandboxConfig(
            data_dir=Path(tmp) / "sandbox", port=0, task_pythonpath=tuple(str(r) for r in roots)
        )
        with SandboxProcess(config) as sandbox:
            endpoint = sandbox.endpoint
            clients: dict[str, Callable[[Any, str], tuple[float, dict[str, int], Any]]] = {
                "ours (content version, fast bundle)": lambda wf, v: ours(endpoint, wf),
                "flytekit, version=...": lambda wf, v: flytekit_execute(endpoint, wf, False, v),
                "flytekit, interactive (pickled)": lambda wf, v: flytekit_execute(endpoint, wf, True, None),
            }
            times: dict[tuple[str, str], list[float]] = {}
            rpcs: dict[tuple[str, str], dict[str, int]] = {}
            first_names: dict[str, str] = {}
            for i, module in enumerate(modules):
                order = list(clients)[i % len(clients) :] + list(clients)[: i % len(clients)]
                for label in order:
                    version = "bench-" + uuid.uuid4().hex[:8]
                    for call in ("first", "repeat"):
                        elapsed, counts, name = clients[label](module.wf, version)
                        times.setdefault((label, call), []).append(elapsed)
                        rpcs[(label, call)] = counts
                        first_names.setdefault(label, name)
            print(
                f"\nexecute() of a local workflow of {args.tasks} tasks (fresh client per call; registration, code "
                f"shipping and CreateExecution, not the run); {args.rounds} rounds\n"
            )
            print(f"{'client':36} {'call':7} {'best s':>7} {'median':>7} {'RPCs':>5}  by method")
            for (label, call), values in times.items():
                counts = rpcs[(label, call)]
                detail = ", ".join(f"{m} {n}" for m, n in sorted(counts.items()))
                print(
                    f"{label:36} {call:7} {min(values):7.3f} {statistics.median(values):7.3f} "
                    f"{sum(counts.values()):5d}  {detail}"
                )
            if args.verify:
                expected = 1 + sum(range(args.tasks))
                for label, name in first_names.items():
                    print(f"{label}: output {wait_output(endpoint, name)} (expected {expected})")


if __name__ == "__main__":
    main()
