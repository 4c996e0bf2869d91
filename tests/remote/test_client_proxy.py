"""Proxies and interactive auth modes: ``http_proxy_url`` (a real HTTP CONNECT proxy in the test carries the gRPC
traffic), ``proxy_command`` (its token travels as ``proxy-authorization`` and is renewed once the proxy refuses
it), and flytekit's browser/device-code modes, which are refused up front."""

from __future__ import annotations

import select
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import version_pb2
from flyteidl.service import admin_pb2_grpc

from airflow_provider_flyte.remote import AsyncFlyteRemote, Config, FlyteRemote, PlatformConfig
from airflow_provider_flyte.remote.errors import (
    FlyteAuthenticationError,
    FlyteConfigError,
    FlyteSystemUnavailableError,
)
from airflow_provider_flyte.remote.ops.call import ADMIN, Call
from airflow_provider_flyte.sandbox.testing import SandboxThread

# ------------------------------------------------------------------------------------------- CONNECT proxy


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1: records each tunnel's target and pipes bytes both ways."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self._server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = request_line.split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            client.close()
            return
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host.strip("[]"), int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        pair = {client: upstream, upstream: client}
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(list(pair), [], [], 0.1)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectProxy]:
    for var in ("no_proxy", "NO_PROXY", "no_grpc_proxy", "http_proxy", "https_proxy", "grpc_proxy"):
        monkeypatch.delenv(var, raising=False)
    running = ConnectProxy()
    yield running
    running.close()


def test_grpc_traffic_goes_through_the_http_proxy(sandbox: SandboxThread, proxy: ConnectProxy) -> None:
    cfg = Config.for_sandbox(sandbox.endpoint, http_proxy_url=proxy.url)
    with FlyteRemote(cfg, default_project="flytesnacks", default_domain="development") as remote:
        assert remote.list_executions(limit=1) is not None
    assert proxy.targets and proxy.targets[0].endswith(f":{sandbox.endpoint.rsplit(':', 1)[1]}")


def test_an_unreachable_proxy_fails_the_call(sandbox: SandboxThread, proxy: ConnectProxy) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there any more
    cfg = Config.for_sandbox(
        sandbox.endpoint, http_proxy_url=f"http://127.0.0.1:{dead_port}", rpc_retries=0, rpc_timeout=5
    )
    with (
        FlyteRemote(cfg, default_project="flytesnacks", default_domain="development") as remote,
        pytest.raises(FlyteSystemUnavailableError),
    ):
        remote.list_executions(limit=1)
    assert proxy.targets == []  # and the working proxy was not involved


# ------------------------------------------------------------------------------------------- proxy_command


class _ProxyGuardedAdmin(admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
    """Answers GetVersion only with ``proxy-authorization: Bearer <accepted>``, as an authenticating proxy would."""

    def __init__(self, accepted: str) -> None:
        self.accepted = accepted
        self.seen: list[dict[str, str]] = []

    def GetVersion(self, request: Any, context: Any) -> Any:
        metadata = {k: v for k, v in context.invocation_metadata()}
        self.seen.append(metadata)
        if metadata.get("proxy-authorization") != f"Bearer {self.accepted}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "proxy refused the request")
        return version_pb2.GetVersionResponse(control_plane_version=version_pb2.Version(Version="guarded"))


@pytest.fixture
def guarded() -> Iterator[tuple[str, _ProxyGuardedAdmin]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    admin = _ProxyGuardedAdmin("tok-2")
    admin_pb2_grpc.add_AdminServiceServicer_to_server(admin, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", admin
    server.stop(grace=None)


def _counting_command(tmp_path: Path) -> tuple[str, ...]:
    """A command printing ``tok-<n>`` where n counts its runs (kept in a file)."""
    counter = tmp_path / "runs"
    script = (
        "import pathlib, sys\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print(f'tok-{n}')\n"
    )
    return (sys.executable, "-c", script)


def _version() -> Any:
    response = yield Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), True)
    return response


def test_proxy_command_token_is_sent_and_renewed_once_refused(
    guarded: tuple[str, _ProxyGuardedAdmin], tmp_path: Path
) -> None:
    endpoint, admin = guarded
    cfg = Config.for_endpoint(endpoint, insecure=True, proxy_command=_counting_command(tmp_path))
    with FlyteRemote(cfg) as remote:
        # tok-1 is refused: one renewal (the command runs again), tok-2 passes
        assert remote._run(_version()).control_plane_version.Version == "guarded"
        assert [m.get("proxy-authorization") for m in admin.seen] == ["Bearer tok-1", "Bearer tok-2"]
        assert remote.rpc_stats.auth_refreshes == 1
        remote._run(_version())  # the renewed token is cached: the command does not run again
        assert (tmp_path / "runs").read_text() == "2"
        assert "authorization" not in admin.seen[-1]  # auth mode none: only the proxy header


def test_proxy_command_goes_with_an_auth_mode_and_the_async_client(
    guarded: tuple[str, _ProxyGuardedAdmin], tmp_path: Path
) -> None:
    endpoint, admin = guarded
    (tmp_path / "runs").write_text("1")  # the next run prints tok-2, the accepted one
    cfg = Config.for_endpoint(
        endpoint, insecure=True, token="api-key", proxy_command=_counting_command(tmp_path)
    )
    assert cfg.platform.auth_mode == "static"

    async def call() -> Any:
        async with AsyncFlyteRemote(cfg) as remote:
            return await remote._run(_version())

    import asyncio

    assert asyncio.run(call()).control_plane_version.Version == "guarded"
    sent = admin.seen[-1]
    assert sent["proxy-authorization"] == "Bearer tok-2" and sent["authorization"] == "Bearer api-key"


def test_a_failing_proxy_command_names_itself(guarded: tuple[str, _ProxyGuardedAdmin]) -> None:
    endpoint, _ = guarded
    failing = (sys.executable, "-c", "import sys; sys.exit(5)")
    with (
        FlyteRemote(Config.for_endpoint(endpoint, insecure=True, proxy_command=failing)) as remote,
        pytest.raises(FlyteAuthenticationError, match=r"proxy_command .* exited with status 5"),
    ):
        remote._run(_version())


def test_proxy_command_is_read_from_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FLYTE_CREDENTIALS_PROXY_COMMAND", "FLYTE_PLATFORM_URL", "FLYTE_CREDENTIALS_AUTH_MODE"):
        monkeypatch.delenv(var, raising=False)
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text(
        "admin:\n  endpoint: dns:///x.example.com:443\n  proxyCommand: [gcloud, auth, token]\n"
    )
    assert PlatformConfig.auto(yaml_file).proxy_command == ("gcloud", "auth", "token")
    monkeypatch.setenv("FLYTE_CREDENTIALS_PROXY_COMMAND", "print-token,--fresh")
    assert PlatformConfig.auto(yaml_file).proxy_command == ("print-token", "--fresh")


# -------------------------------------------------------------------------------------- interactive modes


@pytest.mark.parametrize("mode", ["Pkce", "standard", "DeviceFlow", "device_flow"])
def test_interactive_auth_modes_fail_fast_naming_the_unattended_ones(mode: str) -> None:
    with pytest.raises(FlyteConfigError) as info:
        FlyteRemote(Config.for_endpoint("flyte.example.com:443", auth_mode=mode))
    message = str(info.value)
    assert mode in message and "interactive" in message
    for supported in ("client_credentials", "static", "external_command", "'none'"):
        assert supported in message


def test_interactive_mode_from_a_flytectl_config_fails_with_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYTE_CREDENTIALS_AUTH_MODE", raising=False)
    cfg = tmp_path / "config-sandbox.yaml"
    cfg.write_text("admin:\n  endpoint: localhost:30080\n  authType: Pkce\n  insecure: true\n")
    with pytest.raises(FlyteConfigError, match="FLYTE_CREDENTIALS_AUTH_MODE=none"):
        Config.auto(cfg)
    monkeypatch.setenv("FLYTE_CREDENTIALS_AUTH_MODE", "none")
    assert Config.auto(cfg).platform.auth_mode == "none"
