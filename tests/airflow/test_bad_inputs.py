"""Table of bad inputs across the connection, operator arguments, input values, execution names, signals and
backfill dates: each one fails with a message naming the problem, and nothing is created in Flyte."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_flyte.hooks.connection import FlyteConnectionError, parse_connection
from airflow_provider_flyte.operators.flyte import (
    FlyteBackfillOperator,
    FlyteExecuteOperator,
    FlyteSignalOperator,
)

pytestmark = pytest.mark.usefixtures("flyte_conn")


def conn(**fields: Any) -> Callable[[], Any]:
    base: dict[str, Any] = {"conn_type": "flyte", "host": "flyte.example.com", "extra": {}}
    base.update(fields)
    return lambda: parse_connection("bad", **base)


def ctor(cls: type, **kwargs: Any) -> Callable[[], Any]:
    return lambda: cls(task_id="bad_args", **kwargs)


class _TI:
    def __init__(self) -> None:
        self.dag_id, self.run_id, self.task_id = "bad_dag", f"run-{time.time_ns()}", "bad_task"
        self.try_number, self.map_index = 1, -1

    def xcom_push(self, key: str, value: Any) -> None:
        pass


def run(cls: type, **kwargs: Any) -> Callable[[], Any]:
    def call() -> Any:
        op = cls(task_id="bad_task", **kwargs)
        ti = _TI()
        return op.execute({"ti": ti, "task_instance": ti, "run_id": ti.run_id})

    return call


def execute(**kwargs: Any) -> Callable[[], Any]:
    kwargs.setdefault("launch_plan", "examples.arith")
    kwargs.setdefault("inputs", {"a": 1, "b": 2})
    return run(FlyteExecuteOperator, deferrable=False, **kwargs)


CASES: list[tuple[str, Callable[[], Any], str]] = [
    # connection
    ("conn type", conn(conn_type="http"), r"connection type 'http'; set it to 'flyte'"),
    ("empty host", conn(host=""), r"Host is empty"),
    ("host with path", conn(host="flyte.example.com/api"), r"has a path"),
    ("host scheme", conn(host="ftp://flyte.example.com"), r"scheme 'ftp'"),
    ("port not a number", conn(port="abc"), r"Port 'abc' is not a number"),
    ("port range", conn(port=70000), r"out of range"),
    ("schema", conn(schema="https3"), r"Schema 'https3' is not a scheme"),
    ("insecure value", conn(extra={"insecure": "maybe"}), r"'insecure' must be true or false"),
    ("plaintext + CA", conn(extra={"insecure": True, "ca_cert": "/etc/hosts"}), r"insecure=true .* ca_cert"),
    ("plaintext + skip", conn(extra={"insecure": True, "insecure_skip_verify": True}), r"insecure_skip_verify"),
    ("interactive auth", conn(extra={"auth_mode": "pkce"}), r"needs a browser"),
    ("unknown auth", conn(extra={"auth_mode": "oauth9"}), r"unknown auth_mode 'oauth9'"),
    ("no secret", conn(login="cid", extra={"auth_mode": "client_credentials"}), r"client secret in the Password"),
    ("no client id", conn(password="s3cr3t-value", extra={"auth_mode": "client_credentials"}), r"client id in Login"),
    ("password without auth", conn(password="s3cr3t-value", extra={"auth_mode": "none"}), r"Password is set but"),
    ("secret in extra", conn(extra={"client_secret": "s3cr3t-value"}), r"Password field instead"),
    ("unknown extra", conn(extra={"projct": "x"}), r"unknown extra 'projct'"),
    ("console url", conn(extra={"console_url": "ftp://console"}), r"'console_url' must start with http"),
    ("proxy", conn(extra={"http_proxy": "proxy:3128"}), r"'http_proxy' must be a URL"),
    ("command missing", conn(extra={"auth_mode": "external_command"}), r"needs extra 'command'"),
    ("CA file missing", conn(extra={"ca_cert": "/no/such/ca.pem"}), r"neither PEM text nor an existing file"),
    ("scheme vs insecure", conn(schema="grpc", extra={"insecure": "false"}), r"scheme 'grpc' means plaintext"),
    ("login vs client_id", conn(login="a", extra={"client_id": "b"}), r"Login and extra 'client_id' differ"),
    # operator arguments (DAG parse time)
    ("two entities", ctor(FlyteExecuteOperator, launch_plan="a", task="b"), r"exactly one of launch_plan"),
    ("no entity", ctor(FlyteExecuteOperator), r"exactly one of launch_plan, workflow or task \(got none\)"),
    ("max_parallelism", ctor(FlyteExecuteOperator, task="t", max_parallelism=-1), r"max_parallelism"),
    ("poll interval", ctor(FlyteExecuteOperator, task="t", poll_interval=0), r"poll_interval must be positive"),
    ("timeout type", ctor(FlyteExecuteOperator, task="t", timeout="soon"), r"timeout must be a number of seconds"),
    ("inputs type", ctor(FlyteExecuteOperator, task="t", inputs=[1, 2]), r"inputs must be a dict"),
    ("signal action", ctor(FlyteSignalOperator, execution_name="e", signal_id="s", action="approve_all"),
     r"action must be one of approve, reject, set_input"),
    ("set_input value", ctor(FlyteSignalOperator, execution_name="e", signal_id="s", action="set_input"),
     r"'set_input' needs a value"),
    ("approve value", ctor(FlyteSignalOperator, execution_name="e", signal_id="s", value=3), r"takes no value"),
    ("failure policy", ctor(FlyteBackfillOperator, launch_plan="lp", failure_policy="whatever"), r"failure_policy"),
    # input values and entities (run time; nothing may be created)
    ("input type", execute(inputs={"a": "two", "b": 2}), r"Input 'a': expected int, got 'two'"),
    ("unknown input", execute(inputs={"a": 1, "b": 2, "c": 3}), r"no input\(s\) \['c'\]"),
    ("missing input", execute(inputs={"a": 1}), r"needs input\(s\) \['b'\]"),
    ("unknown launch plan", execute(launch_plan="examples.nope"), r"no launch plan named 'examples\.nope'"),
    ("labels", execute(labels={"team": 1}), r"labels must be a dict of strings"),
    ("tags", execute(tags="nightly"), r"tags must be a list of strings"),
    ("empty entity", execute(launch_plan="  "), r"launch_plan must be a non-empty entity name"),
    ("notification phase", execute(notifications=[{"phases": ["RUNNING"], "email": ["a@b.c"]}]),
     r"notifications\[0\]: phase\(s\) \['RUNNING'\] cannot notify"),
    ("notification channel", execute(notifications=[{"phases": ["FAILED"]}]),
     r"notifications\[0\] needs exactly one of email, slack, pager_duty"),
    ("notifications + disable", ctor(FlyteExecuteOperator, task="t", notifications=[], disable_notifications=True),
     r"notifications and disable_notifications=True contradict"),
    ("no project", execute(flyte_conn_id="flyte_noproject"), r"no Flyte project: pass project=\.\.\."),
    # execution names
    ("name charset", execute(execution_name="Bad_Name!"), r"execution_name 'Bad_Name!' is invalid"),
    ("name length", execute(execution_name="a" * 70), r"has 70 characters; Flyte allows at most 63"),
    ("name start", execute(execution_name="1abc"), r"start with a letter"),
    # signals
    ("signal on missing execution",
     run(FlyteSignalOperator, execution_name="nosuchexecution", signal_id="review"), r"missing entity of type execution .*nosuchexecution"),
    ("empty signal id", run(FlyteSignalOperator, execution_name="e", signal_id=" "), r"signal_id must be a non-empty"),
    # backfill dates
    ("backfill order", run(FlyteBackfillOperator, launch_plan="examples.daily", from_date="2024-02-01",
                           to_date="2024-01-01"), r"from_date .* must be before to_date"),
    ("backfill date format", run(FlyteBackfillOperator, launch_plan="examples.daily", from_date="yesterday",
                                 to_date="2024-01-01"), r"from_date 'yesterday' is not an ISO-8601"),
    ("backfill empty interval", run(FlyteBackfillOperator, launch_plan="examples.daily"),
     r"from_date/to_date are not set and the DAG run has no data interval"),
    ("backfill non-cron", run(FlyteBackfillOperator, launch_plan="examples.arith", from_date="2024-01-01",
                              to_date="2024-01-05"), r"(?i)schedul"),
]


@pytest.fixture(scope="module")
def noproject_conn(sandbox: Any) -> Any:
    os.environ["AIRFLOW_CONN_FLYTE_NOPROJECT"] = f"flyte://{sandbox.endpoint}?insecure=true"
    yield
    os.environ.pop("AIRFLOW_CONN_FLYTE_NOPROJECT", None)


def test_there_are_at_least_30_cases() -> None:
    assert len(CASES) >= 30


@pytest.fixture(scope="module")
def executions_before(sandbox: Any, examples: dict[str, Any]) -> Any:
    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config

    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), default_project="flytesnacks",
                     default_domain="development") as remote:
        yield lambda: {e.id.name for e in remote.list_executions(limit=100000)}


@pytest.mark.parametrize(("case", "call", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_clearly_and_creates_nothing(
    case: str, call: Callable[[], Any], pattern: str, noproject_conn: Any, executions_before: Any
) -> None:
    before = executions_before()
    from airflow.providers.common.compat.sdk import AirflowFailException

    with pytest.raises(Exception) as raised:
        call()
    message = str(raised.value)
    assert re.search(pattern, message), f"{case}: {type(raised.value).__name__}: {message}"
    # a connection problem is a FlyteConnectionError, a bad argument a ValueError at DAG parse time, and a bad
    # value at run time fails the task without retries (a retry cannot fix it)
    assert isinstance(raised.value, FlyteConnectionError | ValueError | AirflowFailException), repr(raised.value)
    assert executions_before() == before, f"{case} created an execution"
