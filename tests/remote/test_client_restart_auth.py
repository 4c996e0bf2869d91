"""Auth across a real sandbox restart (issue 10, item 2): the sandbox keeps its HTTP port (token endpoint) in its
data dir, and a client whose cached token endpoint stops answering discovers the new one."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

from airflow_provider_flyte.remote import AsyncFlyteRemote, Config, FlyteRemote
from airflow_provider_flyte.remote.config import PlatformConfig
from airflow_provider_flyte.sandbox.config import AuthSettings, SandboxConfig
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxProcess

P, D = "flytesnacks", "development"
SECRET = "restart-secret-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(data_dir: Path, port: int, http_port: int = 0) -> SandboxConfig:
    return SandboxConfig(
        data_dir=data_dir, port=port, http_port=http_port, auth=AuthSettings(enabled=True, client_secret=SECRET)
    )


def _client_config(endpoint: str) -> Config:
    return Config(
        platform=PlatformConfig(
            endpoint=endpoint, insecure=True, auth_mode="client_credentials",
            client_id=AuthSettings.client_id, client_secret=SECRET,
        )
    )


def test_the_http_port_survives_a_restart(tmp_path: Path) -> None:
    port = _free_port()
    first = SandboxProcess(_config(tmp_path, port)).start()
    http_endpoint = first.http_endpoint
    first.stop()
    second = SandboxProcess(_config(tmp_path, port)).start()
    try:
        assert second.http_endpoint == http_endpoint
    finally:
        second.stop()


def test_clients_rediscover_a_moved_token_endpoint(tmp_path: Path) -> None:
    port = _free_port()
    first = SandboxProcess(_config(tmp_path, port, http_port=_free_port())).start()
    v = "r" + uuid.uuid4().hex[:8]
    with FlyteRemote(_client_config(first.endpoint), default_project=P, default_domain=D) as remote:
        async_remote = AsyncFlyteRemote(_client_config(first.endpoint), default_project=P, default_domain=D)
        try:
            task = remote.register_task(
                inprocess_task("restart.add", f"{BUILTINS}:add", inputs={"a": int, "b": int}, outputs={"o0": int},
                               version=v)
            )
            before = remote.execute(task, inputs={"a": 1, "b": 2}, wait=True)
            asyncio.run(async_remote.fetch_execution(name=before.id.name))
            first.stop()  # tokens are lost, and the token endpoint moves to another port
            second = SandboxProcess(_config(tmp_path, port, http_port=_free_port())).start()
            try:
                assert second.http_endpoint != first.http_endpoint
                fetched = remote.fetch_execution(name=before.id.name)
                assert fetched.outputs["o0"] == 3
                again = asyncio.run(async_remote.fetch_execution(name=before.id.name))
                assert again.phase_name == "SUCCEEDED"
                assert remote.rpc_stats.auth_refreshes >= 1
            finally:
                second.stop()
        finally:
            asyncio.run(async_remote.close())
