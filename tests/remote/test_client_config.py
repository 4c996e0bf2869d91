"""Client configuration, names, retry policy, console URLs, lazy import: no server needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_flyte.remote.config import Config, PlatformConfig, read_platform_settings
from airflow_provider_flyte.remote.console import console_base_url, entity_url, execution_url
from airflow_provider_flyte.remote.errors import FlyteConfigError, FlyteInvalidInputError
from airflow_provider_flyte.remote.names import (
    ADMIN_NAME_ALPHABET,
    generate_execution_name,
    resolve_execution_name,
    validate_execution_name,
)
from airflow_provider_flyte.remote.retry import Decision, RetryPolicy


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No FLYTE_* variables and a home without config files."""
    for key in list(os.environ):
        if key.startswith(("FLYTE_", "FLYTECTL_", "_FLYTECTL_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------------------ PlatformConfig


def test_secrets_are_masked_in_repr_and_str() -> None:
    cfg = PlatformConfig(
        endpoint="flyte.example.com:443", client_id="me", client_secret="s3cr3t-value", token=None
    )
    text = repr(cfg) + str(cfg) + repr(Config(platform=cfg))
    assert "s3cr3t-value" not in text
    assert "client_secret='***'" in text
    assert "client_id='me'" in text
    static = PlatformConfig(endpoint="x:1", token="tok-123456")
    assert "tok-123456" not in repr(static)


def test_flytekit_secret_argument_name_is_accepted() -> None:
    cfg = PlatformConfig(endpoint="x:443", client_id="id", client_credentials_secret="sec")
    assert cfg.client_secret == "sec"
    assert cfg.auth_mode == "client_credentials"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ClientSecret", "client_credentials"),
        ("basic", "client_credentials"),
        ("CLIENT_CREDENTIALS", "client_credentials"),
        ("ExternalCommand", "external_command"),
        ("external_process", "external_command"),
        ("static", "static"),
    ],
)
def test_auth_mode_aliases(given: str, expected: str) -> None:
    kwargs = {"client_id": "i", "client_secret": "s", "token": "t", "command": ("echo", "t")}
    assert PlatformConfig(endpoint="x:1", auth_mode=given, **kwargs).auth_mode == expected


def test_auth_mode_is_picked_from_what_is_given() -> None:
    assert PlatformConfig(endpoint="x:1").auth_mode == "none"
    assert PlatformConfig(endpoint="x:1", token="t").auth_mode == "static"
    assert PlatformConfig(endpoint="x:1", command=["printf", "t"]).auth_mode == "external_command"
    assert PlatformConfig(endpoint="x:1", command=["printf", "t"]).command == ("printf", "t")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"endpoint": ""}, "endpoint is empty"),
        ({"endpoint": "https://flyte.example.com"}, "without a scheme"),
        ({"endpoint": "host:port"}, "invalid port"),
        ({"endpoint": "h:1", "insecure": True, "insecure_skip_verify": True}, "plaintext channel"),
        ({"endpoint": "h:1", "ca_cert_file_path": "/nonexistent/ca.pem"}, "does not exist"),
        (
            {"endpoint": "h:1", "auth_mode": "client_credentials", "client_id": "x"},
            "needs client_id and client_secret",
        ),
        ({"endpoint": "h:1", "auth_mode": "static"}, "needs token"),
        ({"endpoint": "h:1", "auth_mode": "external_command"}, "needs command"),
        ({"endpoint": "h:1", "auth_mode": "kerberos"}, "unknown auth_mode"),
        ({"endpoint": "h:1", "rpc_retries": -1}, "rpc_retries"),
        ({"endpoint": "h:1", "rpc_timeout": 0}, "rpc_timeout"),
    ],
)
def test_invalid_configs_fail_early_with_the_fix(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(FlyteConfigError, match=fragment):
        PlatformConfig(**kwargs)  # type: ignore[arg-type]


def test_dns_prefix_is_dropped_and_factories() -> None:
    assert PlatformConfig(endpoint="dns:///flyte.example.com:443").endpoint == "flyte.example.com:443"
    sandbox = Config.for_sandbox()
    assert sandbox.platform.endpoint == "127.0.0.1:30080" and sandbox.platform.insecure
    ep = Config.for_endpoint("flyte.example.com:443")
    assert not ep.platform.insecure and ep.platform.auth_mode == "none"


# --------------------------------------------------------------------------------------------- Config.auto


def test_auto_reads_flytectl_yaml(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = clean_env / "secret"
    secret_file.write_text("from-file\n")
    cfg_file = clean_env / "config.yaml"
    cfg_file.write_text(
        "admin:\n"
        "  endpoint: dns:///flyte.example.com:8443\n"
        "  insecure: false\n"
        "  clientId: my-client\n"
        f"  clientSecretLocation: {secret_file}\n"
        "  scopes: [all, offline]\n"
        "console:\n"
        "  endpoint: https://console.example.com\n"
    )
    monkeypatch.setenv("FLYTECTL_CONFIG", str(cfg_file))
    cfg = Config.auto().platform
    assert cfg.endpoint == "flyte.example.com:8443"
    assert cfg.client_id == "my-client"
    assert cfg.client_secret == "from-file"  # trailing newline stripped
    assert cfg.auth_mode == "client_credentials"  # a secret location forces client credentials, like flytekit
    assert cfg.scopes == ("all", "offline")
    assert cfg.console_endpoint == "https://console.example.com"


def test_env_vars_win_over_the_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = clean_env / "flytekit.config"
    ini.write_text("[platform]\nurl = from-ini:81\ninsecure = true\n[credentials]\nclient_id = ini-id\n")
    monkeypatch.setenv("FLYTE_PLATFORM_URL", "from-env:82")
    cfg = PlatformConfig.auto()  # ./flytekit.config is found in the working directory
    assert cfg.endpoint == "from-env:82"
    assert cfg.insecure is True
    assert cfg.client_id == "ini-id"
    monkeypatch.setenv("FLYTE_PLATFORM_INSECURE", "False")
    assert PlatformConfig.auto().insecure is False


def test_home_config_and_secret_env_var(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home_cfg = clean_env / ".flyte" / "config.yaml"
    home_cfg.parent.mkdir()
    home_cfg.write_text(
        "admin:\n  endpoint: home:1\n  insecure: true\n  clientId: c\n  clientSecretEnvVar: MY_SECRET\n"
    )
    monkeypatch.setenv("MY_SECRET", "env-secret")
    settings = read_platform_settings()
    assert settings["endpoint"] == "home:1"
    assert settings["client_secret"] == "env-secret"
    assert settings["auth_mode"] == "client_credentials"


def test_no_config_file_gives_defaults(clean_env: Path) -> None:
    assert read_platform_settings() == {}
    with pytest.raises(FlyteConfigError, match="does not exist"):
        Config.auto(clean_env / "missing.yaml")


# -------------------------------------------------------------------------------------------------- names


def test_generated_names_look_like_flyteadmins() -> None:
    names = {generate_execution_name() for _ in range(200)}
    assert len(names) == 200
    for name in names:
        assert len(name) == 20 and name[0] == "a"
        assert set(name[1:]) <= set(ADMIN_NAME_ALPHABET)
        validate_execution_name(name)


def test_name_rules() -> None:
    assert (
        validate_execution_name("My-Run-1") == "My-Run-1"
    )  # lowercased before the check, as flyteadmin does
    for bad in ["1abc", "a_b", "a.b", "", "a" * 64]:
        with pytest.raises(FlyteInvalidInputError):
            validate_execution_name(bad)
    with pytest.raises(FlyteInvalidInputError, match="mutually exclusive"):
        resolve_execution_name("a", "b")
    prefixed = resolve_execution_name(None, "nightly")
    assert prefixed.startswith("nightly-") and len(prefixed) == len("nightly-") + 19
    with pytest.raises(FlyteInvalidInputError, match="at most 43"):
        resolve_execution_name(None, "p" * 44)
    assert len(resolve_execution_name(None, "p" * 43)) == 63


# -------------------------------------------------------------------------------------------------- retry


def test_retry_decisions() -> None:
    policy = RetryPolicy(max_retries=2)
    kw = {"auth_refreshed": False, "can_refresh": False}
    assert policy.decide("UNAVAILABLE", idempotent=True, attempt=0, **kw) is Decision.RETRY
    assert policy.decide("RESOURCE_EXHAUSTED", idempotent=True, attempt=1, **kw) is Decision.RETRY
    assert (
        policy.decide("DEADLINE_EXCEEDED", idempotent=True, attempt=2, **kw) is Decision.RAISE
    )  # budget spent
    assert policy.decide("UNAVAILABLE", idempotent=False, attempt=0, **kw) is Decision.RAISE
    assert policy.decide("NOT_FOUND", idempotent=True, attempt=0, **kw) is Decision.RAISE
    assert (
        policy.decide("UNAUTHENTICATED", idempotent=False, attempt=0, auth_refreshed=False, can_refresh=True)
        is Decision.REFRESH_AUTH
    )
    assert (
        policy.decide("UNAUTHENTICATED", idempotent=True, attempt=0, auth_refreshed=True, can_refresh=True)
        is Decision.RAISE
    )


def test_backoff_is_full_jitter_under_a_growing_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=0.5)
    for attempt, cap in [(0, 0.1), (1, 0.2), (2, 0.4), (5, 0.5)]:
        samples = [policy.backoff(attempt) for _ in range(300)]
        assert all(0.0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.7 and min(samples) < cap * 0.3


# --------------------------------------------------------------------------------------------- console


def test_console_urls() -> None:
    from flyteidl.core import identifier_pb2

    base = console_base_url(PlatformConfig(endpoint="127.0.0.1:30080", insecure=True))
    assert base == "http://127.0.0.1:30080"
    assert console_base_url(PlatformConfig(endpoint="f:443", console_endpoint="https://ui.example.com/")) == (
        "https://ui.example.com"
    )
    exec_id = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="n")
    assert execution_url(base, exec_id) == "http://127.0.0.1:30080/console/projects/p/domains/d/executions/n"
    lp = identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN, project="p", domain="d", name="x", version="v"
    )
    assert entity_url(base, lp).endswith("/console/projects/p/domains/d/launch_plan/x/version/v")


# ------------------------------------------------------------------------------------------- lazy import


def test_importing_the_package_loads_no_grpc_or_flyteidl() -> None:
    code = (
        "import sys, airflow_provider_flyte.remote as r\n"
        "heavy = [m for m in ('grpc', 'flyteidl', 'google.protobuf') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "r.PlatformConfig\n"
        "assert 'grpc' not in sys.modules\n"
        "r.FlyteRemote\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_both_clients_expose_the_same_methods_with_the_same_signatures() -> None:
    import inspect

    from airflow_provider_flyte.remote import AsyncFlyteRemote, FlyteRemote

    public = sorted(
        n for n in dir(FlyteRemote) if not n.startswith("_") and callable(getattr(FlyteRemote, n))
    )
    assert {"execute", "wait", "sync", "set_input", "upload_file", "download", "launch_backfill"} <= set(
        public
    )
    pure = {
        "generate_console_url",
        "generate_console_http_domain",
        "get_extra_headers_for_protocol",
        "for_endpoint",
        "auto",
        "for_sandbox",
    }
    for name in public:
        sync_fn, async_fn = getattr(FlyteRemote, name), getattr(AsyncFlyteRemote, name)
        assert inspect.signature(sync_fn) == inspect.signature(async_fn), name
        assert inspect.iscoroutinefunction(async_fn) == (name not in pure), name
        assert not inspect.iscoroutinefunction(sync_fn), name
    assert inspect.signature(FlyteRemote.execute).return_annotation == "FlyteWorkflowExecution"
