"""Connecting: plaintext, TLS (custom CA, system roots, skip-verify), auth modes, retries, error mapping.

These run the sandbox's real gRPC server (interceptors, TLS, OAuth2 token endpoint, fault injection) with a
small admin core of their own, so they exercise the client's transport independently of the admin emulation.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import version_pb2
from flyteidl.service import admin_pb2_grpc

from airflow_provider_flyte.remote import AsyncFlyteRemote, Config, FlyteRemote
from airflow_provider_flyte.remote.errors import (
    FlyteAuthenticationError,
    FlyteEntityNotFoundError,
    FlyteError,
    FlyteSystemError,
    FlyteSystemUnavailableError,
    FlyteTimeoutError,
)
from airflow_provider_flyte.remote.ops.call import ADMIN, Call
from airflow_provider_flyte.sandbox.config import AuthSettings, FaultSettings
from airflow_provider_flyte.sandbox.errors import not_found
from airflow_provider_flyte.sandbox.testing import SandboxThread, TlsFiles, make_tls_files

SECRET = "s3cr3t+with/odd=chars"


class _Admin(admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
    """A tiny admin: GetVersion answers, GetExecution says NOT_FOUND, everything else is UNIMPLEMENTED.

    ``script`` says what the next GetVersion calls do before answering: ``"exhausted"`` aborts with
    RESOURCE_EXHAUSTED, ``"slow"`` answers after ``SLOW_SECONDS`` (past a short client deadline).
    """

    SLOW_SECONDS = 1.0

    def __init__(self) -> None:
        self.versions = 0
        self.metadata: list[dict[str, str]] = []
        self.script: list[str] = []

    async def GetVersion(self, request: Any, context: Any) -> Any:
        self.versions += 1
        self.metadata.append(dict(context.invocation_metadata() or ()))
        action = self.script.pop(0) if self.script else None
        if action == "exhausted":
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "rate limited, slow down")
        elif action == "slow":
            await asyncio.sleep(self.SLOW_SECONDS)
        return version_pb2.GetVersionResponse(control_plane_version=version_pb2.Version(Version="mini"))

    async def GetExecution(self, request: Any, context: Any) -> Any:
        raise not_found(f"missing entity of type execution with identifier {request.id.name}")


class MiniAdminCore:
    def __init__(self, config: Any, blobs: Any) -> None:
        self.admin_servicer = _Admin()
        self.signal_servicer = object()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def get_data(self, flyte_url: str) -> Any:
        raise NotImplementedError


def _version_call() -> Call:
    return Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), True)


def _get_version(remote: FlyteRemote) -> Any:
    return remote._run(_once(_version_call()))


def _once(call: Call) -> Any:
    response = yield call
    return response


@pytest.fixture
def mini(fresh_sandbox: Callable[..., SandboxThread]) -> Callable[..., SandboxThread]:
    def start(**fields: Any) -> SandboxThread:
        return fresh_sandbox(admin_factory=MiniAdminCore, **fields)

    return start


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _admin(sb: SandboxThread) -> _Admin:
    servicer = sb.sandbox.admin.admin_servicer
    assert isinstance(servicer, _Admin)
    return servicer


# ------------------------------------------------------------------------------------------------- channel


def test_plaintext_and_rpc_count(mini: Callable[..., SandboxThread]) -> None:
    sb = mini()
    with FlyteRemote(Config.for_sandbox(sb.endpoint)) as remote:
        assert _get_version(remote).control_plane_version.Version == "mini"
        _get_version(remote)
        assert remote.rpc_count == 2 and remote.rpc_stats.by_method["GetVersion"] == 2
        assert _admin(sb).versions == 2


def test_tls_with_custom_ca(mini: Callable[..., SandboxThread], tls_files: TlsFiles) -> None:
    sb = mini(tls_cert_file=tls_files.cert, tls_key_file=tls_files.key)
    with FlyteRemote(Config.for_endpoint(sb.endpoint, ca_cert_file_path=str(tls_files.ca_cert))) as remote:
        assert _get_version(remote).control_plane_version.Version == "mini"
    # system roots do not know the test CA: the handshake fails (UNAVAILABLE after the retries)
    with FlyteRemote(Config.for_endpoint(sb.endpoint, rpc_retries=1, retry_initial_backoff=0.01)) as remote:
        with pytest.raises(FlyteSystemUnavailableError):
            _get_version(remote)
        assert remote.rpc_count == 2  # the first attempt and its one retry
    # a plaintext client cannot talk to a TLS server
    with (
        FlyteRemote(Config.for_endpoint(sb.endpoint, insecure=True, rpc_retries=0, rpc_timeout=5)) as remote,
        pytest.raises(FlyteSystemError),
    ):
        _get_version(remote)


def test_tls_skip_verify_trusts_the_presented_certificate(
    tmp_path: Path, mini: Callable[..., SandboxThread]
) -> None:
    # the client was given no CA: it trusts whatever certificate the server presents
    files = make_tls_files(tmp_path / "self")
    sb = mini(tls_cert_file=files.cert, tls_key_file=files.key)
    cfg = Config.for_endpoint(sb.endpoint, insecure_skip_verify=True)
    with FlyteRemote(cfg) as remote:
        assert _get_version(remote).control_plane_version.Version == "mini"


# --------------------------------------------------------------------------------------------------- auth


@pytest.fixture
def auth_sandbox(mini: Callable[..., SandboxThread]) -> SandboxThread:
    return mini(
        auth=AuthSettings(enabled=True, client_id="airflow", client_secret=SECRET, token_ttl_seconds=3600)
    )


def test_client_credentials(auth_sandbox: SandboxThread) -> None:
    cfg = Config.for_endpoint(auth_sandbox.endpoint, insecure=True, client_id="airflow", client_secret=SECRET)
    with FlyteRemote(cfg) as remote:
        _get_version(remote)
        _get_version(remote)
        # discovery (2 anonymous RPCs) once, then the token is cached
        assert remote.rpc_stats.by_method["GetPublicClientConfig"] == 1
        assert remote.rpc_stats.by_method["GetOAuth2Metadata"] == 1
        sent = _admin(auth_sandbox).metadata[-1]
        assert sent["flyte-authorization"].startswith("Bearer ")  # the server's authorization_metadata_key
        assert SECRET not in repr(remote._auth) and SECRET not in repr(remote.config)


def test_wrong_secret_and_no_credentials(auth_sandbox: SandboxThread) -> None:
    cfg = Config.for_endpoint(
        auth_sandbox.endpoint, insecure=True, client_id="airflow", client_secret="nope-x"
    )
    with FlyteRemote(cfg) as remote, pytest.raises(FlyteAuthenticationError) as info:
        _get_version(remote)
    assert "nope-x" not in str(info.value) and "client_id" in str(info.value)
    with (
        FlyteRemote(Config.for_endpoint(auth_sandbox.endpoint, insecure=True)) as remote,
        pytest.raises(FlyteAuthenticationError, match="client_credentials"),
    ):
        _get_version(remote)


def test_token_refresh_before_expiry_and_on_unauthenticated(mini: Callable[..., SandboxThread]) -> None:
    sb = mini(auth=AuthSettings(enabled=True, client_id="airflow", client_secret=SECRET, token_ttl_seconds=1))
    cfg = Config.for_endpoint(
        sb.endpoint, insecure=True, client_id="airflow", client_secret=SECRET, token_refresh_margin=0.5
    )
    with FlyteRemote(cfg) as remote:
        _get_version(remote)
        first = remote._auth._token
        assert first is not None
        import time

        time.sleep(0.6)  # within the refresh margin: a new token is fetched before the call
        _get_version(remote)
        second = remote._auth._token
        assert second is not None and second.value != first.value
        assert remote.rpc_stats.auth_refreshes == 0
        # the server forgets every token (e.g. it restarted): UNAUTHENTICATED -> one refresh -> success
        sb.sandbox.tokens.revoke_all()
        _get_version(remote)
        assert remote.rpc_stats.auth_refreshes == 1
        assert _admin(sb).versions == 3


def _token_command(sb: SandboxThread) -> list[str]:
    script = (
        "import base64, json, sys, urllib.request\n"
        f"req = urllib.request.Request('{sb.http_endpoint}/oauth2/token', data=b'grant_type=client_credentials',"
        f" headers={{'Authorization': 'Basic ' + base64.b64encode(b'airflow:' + sys.argv[1].encode()).decode(),"
        " 'Content-Type': 'application/x-www-form-urlencoded'})\n"
        "print(json.load(urllib.request.urlopen(req))['access_token'])\n"
    )
    from urllib.parse import quote_plus

    return [sys.executable, "-c", script, quote_plus(SECRET)]


def test_external_command_and_static_token(auth_sandbox: SandboxThread) -> None:
    command = _token_command(auth_sandbox)
    with FlyteRemote(Config.for_endpoint(auth_sandbox.endpoint, insecure=True, command=command)) as remote:
        assert remote.config.platform.auth_mode == "external_command"
        _get_version(remote)
        token = remote._auth._token
        assert token is not None
    with FlyteRemote(Config.for_endpoint(auth_sandbox.endpoint, insecure=True, token=token.value)) as remote:
        _get_version(remote)
    with (
        FlyteRemote(Config.for_endpoint(auth_sandbox.endpoint, insecure=True, token="bogus")) as remote,
        pytest.raises(FlyteAuthenticationError),
    ):
        _get_version(remote)
    failing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    with (
        FlyteRemote(Config.for_endpoint(auth_sandbox.endpoint, insecure=True, command=failing)) as remote,
        pytest.raises(FlyteAuthenticationError, match="exited with status 3"),
    ):
        _get_version(remote)


async def test_async_client_credentials_and_refresh(auth_sandbox: SandboxThread) -> None:
    cfg = Config.for_endpoint(auth_sandbox.endpoint, insecure=True, client_id="airflow", client_secret=SECRET)
    remote = AsyncFlyteRemote(cfg)
    try:
        response = await remote._run(_once(_version_call()))
        assert response.control_plane_version.Version == "mini"
        auth_sandbox.sandbox.tokens.revoke_all()
        await asyncio.gather(*(remote._run(_once(_version_call())) for _ in range(3)))
        assert remote.rpc_stats.auth_refreshes >= 1
    finally:
        await remote.close()


# ------------------------------------------------------------------------------------------ faults/errors


def test_retries_idempotent_calls_only(mini: Callable[..., SandboxThread]) -> None:
    sb = mini(faults=FaultSettings(unavailable_fraction=0.5, seed=7))
    cfg = Config.for_endpoint(sb.endpoint, insecure=True, rpc_retries=10, retry_initial_backoff=0.001)
    with FlyteRemote(cfg) as remote:
        for _ in range(20):
            _get_version(remote)
        assert _admin(sb).versions == 20  # every call reached the admin exactly once
        assert remote.rpc_stats.retries > 0
        assert remote.rpc_count == 20 + remote.rpc_stats.retries
        failures = 0
        for _ in range(20):
            try:
                remote._run(_once(Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), False)))
            except FlyteSystemUnavailableError as exc:
                failures += 1
                assert "injected fault" in str(exc)
        assert failures > 0  # non-idempotent calls are never retried


def test_resource_exhausted_and_deadlines_are_retried_then_mapped(mini: Callable[..., SandboxThread]) -> None:
    sb = mini()
    admin = _admin(sb)
    cfg = Config.for_endpoint(
        sb.endpoint, insecure=True, rpc_retries=3, retry_initial_backoff=0.001, rpc_timeout=0.3
    )
    with FlyteRemote(cfg) as remote:
        _get_version(remote)  # the channel is up: later deadlines measure the server, not the connect
        remote.rpc_stats.reset()
        # RESOURCE_EXHAUSTED and a call past its per-call deadline (DEADLINE_EXCEEDED) are transient: retried
        admin.script = ["exhausted", "slow", "exhausted"]
        assert _get_version(remote).control_plane_version.Version == "mini"
        assert remote.rpc_stats.retries == 3 and remote.rpc_count == 4
        # every attempt past its deadline: FlyteTimeoutError once the retries are spent
        remote.rpc_stats.reset()
        admin.script = ["slow"] * 4
        with pytest.raises(FlyteTimeoutError, match="GetVersion") as timed_out:
            _get_version(remote)
        assert timed_out.value.grpc_code == "DEADLINE_EXCEEDED" and remote.rpc_count == 4
        # a call's own deadline wins over the configured one
        admin.script = ["slow"]
        slow_ok = Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), True, timeout=5.0)
        assert remote._run(_once(slow_ok)).control_plane_version.Version == "mini"
        # a non-idempotent call is not retried: the first RESOURCE_EXHAUSTED is the answer
        remote.rpc_stats.reset()
        admin.script = ["exhausted"]
        once = Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), False)
        with pytest.raises(FlyteSystemUnavailableError, match="rate limited") as exhausted:
            remote._run(_once(once))
        assert exhausted.value.grpc_code == "RESOURCE_EXHAUSTED" and remote.rpc_count == 1


async def test_async_client_retries_and_deadlines(mini: Callable[..., SandboxThread]) -> None:
    sb = mini()
    admin = _admin(sb)
    cfg = Config.for_endpoint(
        sb.endpoint, insecure=True, rpc_retries=2, retry_initial_backoff=0.001, rpc_timeout=0.3
    )
    remote = AsyncFlyteRemote(cfg)
    try:
        await remote._run(_once(_version_call()))
        remote.rpc_stats.reset()
        admin.script = ["slow", "exhausted"]
        assert (await remote._run(_once(_version_call()))).control_plane_version.Version == "mini"
        assert remote.rpc_stats.retries == 2
        admin.script = ["slow"] * 3
        with pytest.raises(FlyteTimeoutError, match="GetVersion"):
            await remote._run(_once(_version_call()))
    finally:
        await remote.close()


def test_error_mapping(mini: Callable[..., SandboxThread]) -> None:
    sb = mini()
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project="p", default_domain="d") as remote:
        with pytest.raises(FlyteEntityNotFoundError, match="missing entity"):
            remote.fetch_execution(name="nope")
        with pytest.raises(FlyteSystemError) as info:
            remote.terminate("x")
        assert info.value.grpc_code == "UNIMPLEMENTED"
    with (
        FlyteRemote(
            Config.for_endpoint("127.0.0.1:1", insecure=True, rpc_retries=1, retry_initial_backoff=0.001)
        ) as remote,
        pytest.raises(FlyteSystemUnavailableError),
    ):
        _get_version(remote)


# ------------------------------------------------------------------- flytekit's channel keyword arguments


def test_channel_options_win_over_ours(mini: Callable[..., SandboxThread]) -> None:
    """``FlyteRemote(config, options=[...])`` as flytekit: the options reach the channel and win over our defaults
    (a receive limit below the response's size fails the call, which our 32 MiB default would not)."""
    sb = mini()
    tiny = [("grpc.max_receive_message_length", 2)]
    with (
        FlyteRemote(Config.for_sandbox(sb.endpoint, rpc_retries=0), options=tiny) as remote,
        pytest.raises(FlyteError, match="larger than max"),
    ):
        remote.get_version()
    # for_endpoint/for_sandbox hand channel arguments to the client and the rest to PlatformConfig
    remote = FlyteRemote.for_endpoint(sb.endpoint, insecure=True, options=tiny, rpc_retries=0)
    assert remote.config.platform.rpc_retries == 0
    with remote, pytest.raises(FlyteError, match="larger than max"):
        remote.get_version()
    with FlyteRemote.for_sandbox(endpoint=sb.endpoint, options=[("grpc.primary_user_agent", "mine")]) as remote:
        assert remote.get_version() == "mini"


async def test_async_channel_options_and_compression(mini: Callable[..., SandboxThread]) -> None:
    sb = mini()
    tiny = [("grpc.max_receive_message_length", 2)]
    remote = AsyncFlyteRemote(Config.for_sandbox(sb.endpoint, rpc_retries=0), options=tiny)
    try:
        with pytest.raises(FlyteError, match="larger than max"):
            await remote.get_version()
    finally:
        await remote.close()
    remote = AsyncFlyteRemote(Config.for_sandbox(sb.endpoint), compression=grpc.Compression.Gzip)
    try:
        assert await remote.get_version() == "mini"
    finally:
        await remote.close()


def test_channel_credentials_replace_the_configs(mini: Callable[..., SandboxThread], tls_files: TlsFiles) -> None:
    """``credentials=grpc.ssl_channel_credentials(...)`` (flytekit's way to bring a CA) replaces the TLS
    credentials built from the config, which knows no CA for this server here."""
    sb = mini(tls_cert_file=tls_files.cert, tls_key_file=tls_files.key)
    credentials = grpc.ssl_channel_credentials(tls_files.ca_cert.read_bytes())
    with FlyteRemote(Config.for_endpoint(sb.endpoint), credentials=credentials) as remote:
        assert remote.get_version() == "mini"
    with (
        FlyteRemote(Config.for_endpoint(sb.endpoint, rpc_retries=0)) as remote,
        pytest.raises(FlyteSystemUnavailableError),
    ):
        remote.get_version()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"timeout": 5}, TypeError, r"unexpected keyword argument\(s\) 'timeout'.*options, compression, credentials"),
        ({"options": [("grpc.x",)]}, TypeError, r"\(name, value\) pairs"),
        ({"options": ["grpc.x"]}, TypeError, r"\(name, value\) pairs"),
        ({"options": "grpc.x"}, TypeError, r"a list of \(name, value\) pairs"),
        ({"options": {"grpc.x": 1}}, TypeError, r"a list of \(name, value\) pairs"),
        ({"options": 5}, TypeError, r"a list of \(name, value\) pairs"),
        ({"compression": "gzip"}, TypeError, r"grpc.Compression"),
        ({"credentials": "ca.pem"}, TypeError, r"grpc.ChannelCredentials"),
    ],
)
def test_bad_channel_arguments_are_refused_up_front(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        FlyteRemote(Config.for_endpoint("127.0.0.1:1", insecure=True), **kwargs)
    with pytest.raises(error, match=message):
        AsyncFlyteRemote(Config.for_endpoint("127.0.0.1:1", insecure=True), **kwargs)


def test_credentials_on_a_plaintext_config_are_refused(tls_files: TlsFiles) -> None:
    credentials = grpc.ssl_channel_credentials(tls_files.ca_cert.read_bytes())
    with pytest.raises(ValueError, match=r"credentials are for TLS channels.*insecure"):
        FlyteRemote(Config.for_endpoint("127.0.0.1:1", insecure=True), credentials=credentials)
