"""Register the Flyte workflows the example DAGs run (sandbox in-process tasks, no flytekit, no containers).

Used by the README demo and the tests::

    from airflow_provider_flyte.remote.client import FlyteRemote
    from flyte_examples_registry import register_examples

    with FlyteRemote.for_sandbox(endpoint="127.0.0.1:30080") as remote:
        register_examples(remote)

Registration is idempotent (registering identical entities again is a no-op). What gets registered, in
``flytesnacks/development`` by default:

* ``examples.arith`` (workflow + launch plan): ``total = a + b``, ``squared = total * total``;
* ``examples.greet`` (launch plan, ``name`` defaults to ``"world"``): ``greeting = "hello <name>"``;
* ``examples.slow``: sleeps ``seconds`` and returns them (for waits, timeouts and cancellation);
* ``examples.fail``: always fails with a USER error naming ``message``;
* ``examples.approval``: ``square(x)``, then the approval gate ``review``, then ``result = x*x + 1``;
* ``examples.late_approval``: sleeps ``seconds``, then waits at the gate ``review``; ``slept`` passes through;
* ``examples.input_gate``: waits for the integer signal ``threshold``, then ``result = threshold + 1``;
* ``examples.daily``: a cron launch plan (``0 0 * * *``, kickoff input ``run_date``) for backfills;
* ``examples.pipeline``: ``extract`` then ``load``, each counting its runs in files under ``workdir``; ``load``
  fails on its very first run (a transient outage), so a retry shows what a recovery reuses;
* ``examples.report``: writes a file ``report`` (``report.csv``) and a directory ``parts`` for ``title``;
* ``examples.publish``: takes a CSV file ``report`` and returns it as ``published`` (file in, file out).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

EXAMPLES_VERSION = "v1"
ARITH = "examples.arith"
GREET = "examples.greet"
SLOW = "examples.slow"
FAIL = "examples.fail"
APPROVAL = "examples.approval"
APPROVAL_GATE = "review"
LATE_APPROVAL = "examples.late_approval"
INPUT_GATE = "examples.input_gate"
INPUT_SIGNAL = "threshold"
DAILY = "examples.daily"
DAILY_CRON = "0 0 * * *"
PIPELINE = "examples.pipeline"
REPORT = "examples.report"
PUBLISH = "examples.publish"


def register_examples(
    remote: Any, project: str = "flytesnacks", domain: str = "development", version: str = EXAMPLES_VERSION
) -> dict[str, Any]:
    """Register the example tasks, workflows and launch plans; returns the launch plans by name."""
    from flyteidl.core import literals_pb2, types_pb2

    from airflow_provider_flyte.remote import specs
    from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task

    integer, string, floating = (specs.simple_type(t) for t in ("INTEGER", "STRING", "FLOAT"))
    datetime_t = specs.simple_type("DATETIME")

    def task(name: str, fn: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> Any:
        template = inprocess_task(
            f"examples.tasks.{name}", f"{BUILTINS}:{fn}", inputs, outputs,
            version=version, project=project, domain=domain,
        )
        return remote.register_task(template).id

    add_id = task("add", "add", {"a": integer, "b": integer}, {"o0": integer})
    square_id = task("square", "square", {"x": integer}, {"o0": integer})
    hello_id = task("say_hello", "say_hello", {"name": string}, {"o0": string})
    sleep_id = task("sleep", "sleep_seconds", {"seconds": floating}, {"o0": floating})
    fail_id = task("fail", "fail", {"message": string}, {})
    stamp_id = task("echo_datetime", "echo", {"x": datetime_t}, {"o0": datetime_t})
    tally_id = task("tally", "tally", {"directory": string, "name": string}, {"o0": integer})
    csv_file = types_pb2.LiteralType(blob=types_pb2.BlobType(format="csv", dimensionality=types_pb2.BlobType.SINGLE))
    folder = types_pb2.LiteralType(blob=types_pb2.BlobType(format="", dimensionality=types_pb2.BlobType.MULTIPART))
    report_id = task("write_report", "write_report", {"title": string}, {"o0": csv_file, "o1": folder})
    echo_csv_id = task("echo_csv", "echo", {"x": csv_file}, {"o0": csv_file})
    flaky_id = task("fail_first_run", "fail_first_run", {"directory": string, "name": string}, {"o0": integer})

    def start(var: str) -> Any:
        return specs.binding_from_promise("start-node", var)

    def workflow(name: str, inputs: dict[str, Any], outputs: dict[str, Any], nodes: list[Any], bound: dict[str, Any]) -> Any:
        template = specs.workflow_template(
            specs.identifier("WORKFLOW", project, domain, name, version),
            specs.interface(inputs, outputs),
            nodes,
            bound,
        )
        return remote.register_workflow(template)

    def literal(**scalar: Any) -> Any:
        lit = literals_pb2.Literal()
        for key, value in scalar.items():
            setattr(lit.scalar.primitive, key, value)
        return lit

    workflow(
        ARITH, {"a": integer, "b": integer}, {"total": integer, "squared": integer},
        [
            specs.task_node("n0", add_id, {"a": start("a"), "b": start("b")}),
            specs.task_node("n1", square_id, {"x": specs.binding_from_promise("n0", "o0")}),
        ],
        {"total": specs.binding_from_promise("n0", "o0"), "squared": specs.binding_from_promise("n1", "o0")},
    )
    greet_wf = workflow(
        f"{GREET}.wf", {"name": string}, {"greeting": string},
        [specs.task_node("n0", hello_id, {"name": start("name")})],
        {"greeting": specs.binding_from_promise("n0", "o0")},
    )
    remote.register_launch_plan(
        specs.launch_plan_spec(
            greet_wf.id,
            default_inputs=specs.parameter_map({"name": string}, {"name": literal(string_value="world")}),
        ),
        name=GREET,
        version=version,
    )
    workflow(
        SLOW, {"seconds": floating}, {"slept": floating},
        [specs.task_node("n0", sleep_id, {"seconds": start("seconds")})],
        {"slept": specs.binding_from_promise("n0", "o0")},
    )
    workflow(
        FAIL, {"message": string}, {},
        [specs.task_node("n0", fail_id, {"message": start("message")})],
        {},
    )
    workflow(
        APPROVAL, {"x": integer}, {"result": integer},
        [
            specs.task_node("n0", square_id, {"x": start("x")}),
            specs.gate_approve_node("n1", APPROVAL_GATE, "n0", "o0"),
            specs.task_node("n2", add_id, {"a": specs.binding_from_promise("n1", "o0"), "b": literal(integer=1)}),
        ],
        {"result": specs.binding_from_promise("n2", "o0")},
    )
    workflow(
        LATE_APPROVAL, {"seconds": floating}, {"slept": floating},
        [
            specs.task_node("n0", sleep_id, {"seconds": start("seconds")}),
            specs.gate_approve_node("n1", APPROVAL_GATE, "n0", "o0"),
        ],
        {"slept": specs.binding_from_promise("n1", "o0")},
    )
    workflow(
        INPUT_GATE, {}, {"result": integer},
        [
            specs.gate_signal_node("n0", INPUT_SIGNAL, integer),
            specs.task_node("n1", add_id, {"a": specs.binding_from_promise("n0", "o0"), "b": literal(integer=1)}),
        ],
        {"result": specs.binding_from_promise("n1", "o0")},
    )
    daily_wf = workflow(
        f"{DAILY}.wf", {"run_date": datetime_t}, {"stamp": datetime_t},
        [specs.task_node("n0", stamp_id, {"x": start("run_date")})],
        {"stamp": specs.binding_from_promise("n0", "o0")},
    )
    remote.register_launch_plan(
        specs.launch_plan_spec(
            daily_wf.id,
            default_inputs=specs.parameter_map({"run_date": datetime_t}),
            cron=DAILY_CRON,
            kickoff_time_input_arg="run_date",
        ),
        name=DAILY,
        version=version,
    )
    workflow(
        PIPELINE, {"workdir": string}, {"extracted": integer, "loaded": integer},
        [
            specs.task_node("extract", tally_id, {"directory": start("workdir"), "name": literal(string_value="extract")}),
            specs.task_node(
                "load", flaky_id, {"directory": start("workdir"), "name": literal(string_value="load")},
                upstream=["extract"],
            ),
        ],
        {"extracted": specs.binding_from_promise("extract", "o0"), "loaded": specs.binding_from_promise("load", "o0")},
    )
    workflow(
        REPORT, {"title": string}, {"report": csv_file, "parts": folder},
        [specs.task_node("n0", report_id, {"title": start("title")})],
        {"report": specs.binding_from_promise("n0", "o0"), "parts": specs.binding_from_promise("n0", "o1")},
    )
    workflow(
        PUBLISH, {"report": csv_file}, {"published": csv_file},
        [specs.task_node("n0", echo_csv_id, {"x": start("report")})],
        {"published": specs.binding_from_promise("n0", "o0")},
    )
    return {
        name: remote.fetch_launch_plan(project, domain, name, version)
        for name in (ARITH, GREET, SLOW, FAIL, APPROVAL, LATE_APPROVAL, INPUT_GATE, DAILY, PIPELINE, REPORT, PUBLISH)
    }


def daily_ticks(start: dt.datetime, end: dt.datetime) -> int:
    """How many ``examples.daily`` instances a backfill of ``[start, end)`` runs (midnights after ``start``)."""
    from croniter import croniter

    count, it = 0, croniter(DAILY_CRON, start)
    while it.get_next(dt.datetime) < end:
        count += 1
    return count
