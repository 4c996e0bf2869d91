"""FlyteHook / FlyteAsyncHook: connection URIs, settings, test_connection against real sandboxes."""

from __future__ import annotations

import os
import socket
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.hooks.connection import parse_connection
from airflow_provider_flyte.hooks.flyte import FlyteAsyncHook, FlyteHook
from airflow_provider_flyte.sandbox.config import AuthSettings


@pytest.fixture
def env_conn() -> Any:
    added: list[str] = []

    def set_conn(conn_id: str, uri: str) -> str:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        os.environ[key] = uri
        added.append(key)
        return conn_id

    yield set_conn
    for key in added:
        os.environ.pop(key, None)


def test_sandbox_uri(env_conn: Any) -> None:
    conn_id = env_conn("flyte_uri", "flyte://127.0.0.1:30080?insecure=true&project=flytesnacks&domain=development")
    settings = FlyteHook(conn_id).get_settings()
    assert (settings.endpoint, settings.insecure, settings.project, settings.domain, settings.auth_mode) == (
        "127.0.0.1:30080", True, "flytesnacks", "development", "none"
    )


def test_tls_and_client_credentials_uri(env_conn: Any) -> None:
    secret = "p@ss/word+1"
    conn_id = env_conn(
        "flyte_tls", f"flyte://my-client:{urllib.parse.quote(secret, safe='')}@flyte.example.com/grpcs?scopes=all,offline"
    )
    settings = FlyteHook(conn_id).get_settings()
    assert settings.endpoint == "flyte.example.com:443" and not settings.insecure
    assert (settings.auth_mode, settings.client_id, settings.client_secret) == ("client_credentials", "my-client", secret)
    assert settings.scopes == ("all", "offline")
    assert secret not in repr(settings) and secret not in repr(FlyteHook(conn_id).get_client_config())


def test_host_forms() -> None:
    def endpoint(**kw: Any) -> tuple[str, bool]:
        s = parse_connection("c", conn_type="flyte", **kw)
        return s.endpoint, s.insecure

    assert endpoint(host="grpc://localhost:30080") == ("localhost:30080", True)
    assert endpoint(host="dns:///flyte.example.com") == ("flyte.example.com:443", False)
    assert endpoint(host="flyte.example.com", port=8089, schema="grpcs") == ("flyte.example.com:8089", False)
    assert endpoint(host="localhost", extra={"insecure": "true"}) == ("localhost:30080", True)


def test_pem_ca_cert_is_written_to_a_file(tmp_path: Any) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    settings = parse_connection("c", conn_type="flyte", host="h", extra={"ca_cert": pem})
    assert settings.ca_cert_file_path
    assert Path(settings.ca_cert_file_path).read_text() == pem


def test_static_token_and_command_modes() -> None:
    s = parse_connection("c", conn_type="flyte", host="h", password="tok-123456")
    assert (s.auth_mode, s.token) == ("static", "tok-123456")
    s = parse_connection("c", conn_type="flyte", host="h", extra={"command": '["printf", "tok"]'})
    assert (s.auth_mode, s.command) == ("external_command", ("printf", "tok"))


def test_test_connection_succeeds_against_the_sandbox(sandbox: Any, env_conn: Any) -> None:
    conn_id = env_conn("flyte_ok", f"flyte://{sandbox.endpoint}?insecure=true&project=flytesnacks&domain=development")
    ok, message = FlyteHook(conn_id).test_connection()
    assert ok, message
    assert sandbox.endpoint in message and "project 'flytesnacks' exists" in message


def test_test_connection_reports_a_missing_project(sandbox: Any, env_conn: Any) -> None:
    conn_id = env_conn("flyte_noproj", f"flyte://{sandbox.endpoint}?insecure=true&project=nosuchproject")
    ok, message = FlyteHook(conn_id).test_connection()
    assert not ok and "nosuchproject" in message


def test_test_connection_reports_an_unreachable_endpoint(env_conn: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn_id = env_conn("flyte_down", f"flyte://127.0.0.1:{port}?insecure=true")
    hook = FlyteHook(conn_id)
    ok, message = hook.test_connection()
    assert not ok and "Unavailable" in message


def test_test_connection_proves_credentials(fresh_sandbox: Any, env_conn: Any) -> None:
    sb = fresh_sandbox(auth=AuthSettings(enabled=True, client_id="cid", client_secret="right-secret"))
    good = env_conn("flyte_good", f"flyte://cid:right-secret@{sb.endpoint}?insecure=true")
    bad = env_conn("flyte_bad", f"flyte://cid:wrong-secret@{sb.endpoint}?insecure=true")
    ok, message = FlyteHook(good).test_connection()
    assert ok and "client_credentials" in message, message
    ok, message = FlyteHook(bad).test_connection()
    assert not ok and "Authentication" in message
    assert "wrong-secret" not in message


async def test_async_hook_reads_the_connection_and_talks_to_flyte(sandbox: Any, env_conn: Any) -> None:
    conn_id = env_conn("flyte_async", f"flyte://{sandbox.endpoint}?insecure=true&project=flytesnacks&domain=development")
    hook = FlyteAsyncHook(conn_id)
    settings = await hook.get_settings()
    assert settings.endpoint == sandbox.endpoint
    remote = await hook.get_remote()
    try:
        assert isinstance(await remote.list_executions("flytesnacks", "development", limit=1), list)
    finally:
        await remote.close()


# -- hardening (issue 10, item 5): Extra that is not a JSON object, invalid JSON, a missing connection ------------
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('["insecure", true]', "must be a JSON object"),
        ('"insecure"', "must be a JSON object"),
        ('{"insecure": true, "project": "p"', "Extra is not valid JSON"),
    ],
)
def test_extra_that_is_not_a_json_object_is_a_connection_error(env_conn: Any, extra: str, expected: str) -> None:
    import json

    from airflow_provider_flyte.hooks.connection import FlyteConnectionError

    conn_id = env_conn(
        "flyte_bad_extra", json.dumps({"conn_type": "flyte", "host": "127.0.0.1", "port": 30080, "extra": extra})
    )
    with pytest.raises(FlyteConnectionError, match=expected) as info:
        FlyteHook(conn_id).get_settings()
    assert "flyte_bad_extra" in str(info.value)


def test_extra_errors_reach_the_async_hook_too(env_conn: Any) -> None:
    import asyncio
    import json

    from airflow_provider_flyte.hooks.connection import FlyteConnectionError

    conn_id = env_conn("flyte_bad_extra_async", json.dumps({"conn_type": "flyte", "host": "h", "extra": "[1, 2]"}))
    with pytest.raises(FlyteConnectionError, match="must be a JSON object"):
        asyncio.run(FlyteAsyncHook(conn_id).get_settings())


def test_a_missing_connection_fails_the_task_without_retries(flyte_conn: str) -> None:
    from datetime import datetime

    from airflow_provider_flyte._compat import AirflowFailException
    from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator

    op = FlyteExecuteOperator(task_id="t", launch_plan="any.lp", flyte_conn_id="no_such_flyte_connection")

    class _TI:
        dag_id, run_id, task_id, map_index, try_number = "d", "r", "t", -1, 1
        start_date = datetime.now()

    with pytest.raises(AirflowFailException, match=r"no_such_flyte_connection.* does not exist"):
        op.execute({"ti": _TI()})
