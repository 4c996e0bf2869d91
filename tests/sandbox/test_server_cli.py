"""``flyte-sandbox`` command line and :class:`SandboxProcess` (a real child process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import version_pb2
from flyteidl.service import admin_pb2_grpc, identity_pb2, identity_pb2_grpc

from airflow_provider_flyte.sandbox.cli import (
    CLIENT_SECRET_ENV,
    build_parser,
    config_from_args,
    config_to_argv,
)
from airflow_provider_flyte.sandbox.config import AuthSettings, FaultSettings, SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxProcess, SandboxThread


def _parse(argv: list[str], environ: dict[str, str] | None = None) -> SandboxConfig:
    return config_from_args(build_parser().parse_args(argv), environ or {})


def test_defaults() -> None:
    config = _parse([])
    assert (config.host, config.port, config.http_port) == ("127.0.0.1", 30080, 0)
    assert config.data_dir == Path("~/.flyte-sandbox").expanduser().resolve()
    assert not config.auth.enabled
    assert config.faults == FaultSettings(exempt_methods=frozenset())
    assert config.tls_cert_file is None


def test_argv_round_trip(tmp_path: Path) -> None:
    config = SandboxConfig(
        data_dir=tmp_path / "data",
        host="127.0.0.1",
        port=0,
        http_port=0,
        projects=("p1", "p2"),
        domains=("development",),
        console_base_url="http://console.example",
        auth=AuthSettings(enabled=True, client_id="me", client_secret="sec ret", token_ttl_seconds=60),
        faults=FaultSettings(
            unavailable_fraction=0.25,
            delay_fraction=0.5,
            max_delay_seconds=0.2,
            seed=3,
            exempt_methods=frozenset({"CreateExecution"}),
        ),
        task_pythonpath=(str(tmp_path / "a"), str(tmp_path / "b")),
        max_task_processes=2,
        tls_cert_file=tmp_path / "c.pem",
        tls_key_file=tmp_path / "k.pem",
    )
    argv = config_to_argv(config)
    assert "sec ret" not in argv  # the secret never goes on a command line
    assert _parse(argv, {CLIENT_SECRET_ENV: "sec ret"}) == config


def test_auth_is_on_when_a_secret_is_given() -> None:
    assert _parse([], {CLIENT_SECRET_ENV: "x"}).auth.enabled
    flag = _parse(["--auth-client-secret", "y", "--auth-client-id", "c"], {CLIENT_SECRET_ENV: "x"}).auth
    assert (flag.enabled, flag.client_secret, flag.client_id) == (True, "y", "c")


def test_pythonpath_and_delay_shorthands(tmp_path: Path) -> None:
    config = _parse(
        [
            "--pythonpath",
            f"{tmp_path}/a{os.pathsep}{tmp_path}/b",
            "--pythonpath",
            str(tmp_path / "c"),
            "--delay",
            "0.5",
        ]
    )
    assert config.task_pythonpath == tuple(str(tmp_path / x) for x in "abc")
    assert (config.faults.delay_fraction, config.faults.max_delay_seconds) == (1.0, 0.5)


def test_console_script_help() -> None:
    script = shutil.which("flyte-sandbox", path=str(Path(sys.executable).parent))
    assert script is not None, "flyte-sandbox is not installed in this environment (pip install -e .)"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--data-dir" in result.stdout
    assert "--fail-fraction" in result.stdout


def test_process_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = SandboxConfig(
        data_dir=tmp_path / "data", port=0, faults=FaultSettings(exempt_methods=frozenset())
    )
    process = SandboxProcess(config).start()
    try:
        assert process.config.port > 0
        assert process.http_endpoint.startswith("http://127.0.0.1:")
        with grpc.insecure_channel(process.endpoint) as channel:
            version = admin_pb2_grpc.AdminServiceStub(channel).GetVersion(
                version_pb2.GetVersionRequest(), timeout=10
            )
            assert version.control_plane_version.Version
        log = process.log_path.read_text()
        assert "Flyte sandbox is ready" in log
        assert process.endpoint in log
        assert process.console_url in log
    finally:
        code = process.stop()
    assert code == 0


def test_process_with_auth_gets_the_secret_from_the_environment(tmp_path: Path) -> None:
    config = SandboxConfig(
        data_dir=tmp_path, port=0, auth=AuthSettings(enabled=True, client_id="c", client_secret="proc-secret")
    )
    with SandboxProcess(config) as process:
        import requests

        token = requests.post(
            f"{process.http_endpoint}/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "c", "client_secret": "proc-secret"},
            timeout=10,
        ).json()["access_token"]
        with grpc.insecure_channel(process.endpoint) as channel:
            user = identity_pb2_grpc.IdentityServiceStub(channel).UserInfo(
                identity_pb2.UserInfoRequest(),
                metadata=(("flyte-authorization", f"Bearer {token}"),),
                timeout=10,
            )
        assert user.subject == "c"


def test_process_reports_a_taken_port(sandbox: SandboxThread, tmp_path: Path) -> None:
    process = SandboxProcess(SandboxConfig(data_dir=tmp_path, port=sandbox.config.port))
    with pytest.raises(RuntimeError, match=r"exited with code 1[\s\S]*in use"):
        process.start(timeout=60)
