"""Exposure (issue 10, item 7): no unauthenticated non-loopback bind unless asked for, and in-process tasks run
only callables of allowed modules (``os:system`` is refused before it is imported)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_flyte.remote import Config, FlyteRemote
from airflow_provider_flyte.sandbox import cli
from airflow_provider_flyte.sandbox.config import AuthSettings, SandboxConfig
from airflow_provider_flyte.sandbox.inprocess import inprocess_task
from airflow_provider_flyte.sandbox.server import is_loopback
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.1.2.3")


def test_a_public_bind_without_auth_is_refused(
    fresh_sandbox: Callable[..., SandboxThread], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=r"refusing to serve on 0\.0\.0\.0 without auth.*--insecure-public"):
        fresh_sandbox(host="0.0.0.0")
    assert cli.main(["--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path / "cli")]) == 1
    assert "--insecure-public" in capsys.readouterr().err


def test_a_public_bind_is_allowed_with_auth_or_when_asked_for(
    fresh_sandbox: Callable[..., SandboxThread], caplog: pytest.LogCaptureFixture
) -> None:
    assert fresh_sandbox(host="0.0.0.0", auth=AuthSettings(enabled=True, client_secret="s3cret-public")).endpoint
    with caplog.at_level(logging.WARNING):
        assert fresh_sandbox(host="0.0.0.0", insecure_public=True).endpoint
    assert "WITHOUT auth" in caplog.text


def _run(endpoint: str, callable_path: str, marker: Path | None = None) -> tuple[str, str]:
    """Register and run an in-process task of ``callable_path``; returns (phase, error message)."""
    v = "x" + uuid.uuid4().hex[:8]
    with FlyteRemote(Config.for_sandbox(endpoint), default_project=P, default_domain=D) as remote:
        if marker is not None:
            task = remote.register_task(
                inprocess_task("exposed", callable_path, inputs={"command": str}, outputs={"o0": int}, version=v)
            )
            done = remote.execute(task, inputs={"command": f"touch {marker}"}, wait=True)
        else:
            task = remote.register_task(inprocess_task("exposed", callable_path, outputs={"o0": int}, version=v))
            done = remote.execute(task, wait=True)
        error = done.closure.error.message if done.closure.HasField("error") else ""
        return done.phase_name, error


def test_in_process_callables_outside_the_allow_list_are_refused(
    fresh_sandbox: Callable[..., SandboxThread], tmp_path: Path
) -> None:
    sb = fresh_sandbox()
    marker = tmp_path / "pwned"
    phase, error = _run(sb.endpoint, "os:system", marker)
    assert phase == "FAILED"
    assert "'os:system' is not allowed" in error and "--inprocess-module os" in error
    assert not marker.exists()  # nothing ran


def test_allowed_modules_run(
    fresh_sandbox: Callable[..., SandboxThread], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    (code / "mytasks").mkdir(parents=True)
    (code / "mytasks" / "__init__.py").write_text("def seven() -> int:\n    return 7\n")
    monkeypatch.syspath_prepend(str(code))
    on_pythonpath = fresh_sandbox(task_pythonpath=(str(code),))  # modules on --pythonpath are allowed
    assert _run(on_pythonpath.endpoint, "mytasks:seven") == ("SUCCEEDED", "")
    assert _run(on_pythonpath.endpoint, "os:getpid")[0] == "FAILED"
    configured = fresh_sandbox(inprocess_modules=("os",))  # and configured prefixes
    assert _run(configured.endpoint, "os:getpid") == ("SUCCEEDED", "")
    assert _run(configured.endpoint, "mytasks:seven")[0] == "FAILED"


def test_cli_options_round_trip(tmp_path: Path) -> None:
    config = SandboxConfig(
        data_dir=tmp_path, insecure_public=True, inprocess_modules=("a.b", "c"), http_max_body_bytes=5 * 1024,
        http_read_timeout=2.5, http_max_connections=7,
    )
    parsed = cli.config_from_args(cli.build_parser().parse_args(cli.config_to_argv(config)), environ={})
    assert parsed == config
