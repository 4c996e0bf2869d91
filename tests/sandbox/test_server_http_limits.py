"""The HTTP endpoint against hostile clients, over real sockets, with the sandbox in its own process (so its RSS
is measured alone): huge declared bodies are refused from the headers (no body byte needed), bodies above the cap
are refused, accepted uploads stream to disk, slow uploads and slow headers are cut, connections are bounded."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import psutil
import pytest
from flyteidl.service import dataproxy_pb2, dataproxy_pb2_grpc

from airflow_provider_flyte.sandbox.config import AuthSettings, SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxProcess

P, D = "flytesnacks", "development"
MB = 1024 * 1024
SECRET = "http-limits-secret"


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    started: list[SandboxProcess] = []

    def start(**fields: Any) -> SandboxProcess:
        fields.setdefault("data_dir", tmp_path / f"sb-{len(started)}")
        fields.setdefault("port", 0)
        process = SandboxProcess(SandboxConfig(**fields))
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


def _rss(process: SandboxProcess) -> int:
    return int(psutil.Process(process.pid).memory_info().rss)


def _connect(process: SandboxProcess) -> socket.socket:
    url = urlsplit(process.http_endpoint)
    sock = socket.create_connection((url.hostname, url.port), timeout=20)
    sock.settimeout(20)
    return sock


def _status(sock: socket.socket) -> int:
    """The status code of the response on ``sock`` (read without sending any body)."""
    head = b""
    while b"\r\n" not in head:
        data = sock.recv(4096)
        assert data, "the server closed the connection without an answer"
        head += data
    return int(head.split(b" ", 2)[1])


def _request_head(method: str, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: sandbox", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _upload_url(process: SandboxProcess, filename: str, token: str | None = None) -> str:
    with grpc.insecure_channel(process.endpoint) as channel:
        metadata = [("flyte-authorization", f"Bearer {token}")] if token else None
        response = dataproxy_pb2_grpc.DataProxyServiceStub(channel).CreateUploadLocation(
            dataproxy_pb2.CreateUploadLocationRequest(project=P, domain=D, filename_root="limits", filename=filename),
            timeout=10,
            metadata=metadata,
        )
    url = urlsplit(response.signed_url)
    return f"{url.path}?{url.query}"


def _token(process: SandboxProcess) -> str:
    import requests

    basic = base64.b64encode(f"{AuthSettings.client_id}:{SECRET}".encode()).decode()
    response = requests.post(
        f"{process.http_endpoint}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def test_unauthenticated_huge_bodies_are_refused_from_the_headers(start_process: Callable[..., SandboxProcess]) -> None:
    process = start_process(auth=AuthSettings(enabled=True, client_secret=SECRET))
    before = _rss(process)
    bad_basic = base64.b64encode(b"intruder:guess").decode()
    cases = [
        ("PUT", "/blobs/flytesnacks/x?signature=forged&expires=9999999999", {}, 403),
        ("POST", "/oauth2/token", {"Authorization": f"Basic {bad_basic}"}, 401),
        ("POST", "/oauth2/token", {}, 413),  # a form body: 64 KiB at most
        ("POST", "/anything", {}, 404),
    ]
    for method, target, headers, expected in cases * 3:
        with _connect(process) as sock:
            sock.sendall(_request_head(method, target, {**headers, "Content-Length": str(400 * MB)}))
            assert _status(sock) == expected, (method, target)  # answered before any body byte was sent
            sent = 0
            try:  # the server reads none of it: the connection ends instead
                while sent < 400 * MB:
                    sent += sock.send(b"\0" * MB)
            except OSError:
                pass
            assert sent < 400 * MB
    assert _rss(process) - before < 30 * MB


def test_uploads_stream_to_disk_under_the_cap(start_process: Callable[..., SandboxProcess]) -> None:
    process = start_process(http_max_body_bytes=300 * MB)
    target = _upload_url(process, "big.bin")
    before = _rss(process)
    with _connect(process) as sock:
        sock.sendall(_request_head("PUT", target, {"Content-Length": str(200 * MB)}))
        block = b"\1" * MB
        for _ in range(200):
            sock.sendall(block)
        assert _status(sock) == 200
    assert _rss(process) - before < 50 * MB  # 200 MB went to disk, not to memory
    stored = list((process.config.data_dir / "blobs").rglob("big.bin"))
    assert len(stored) == 1 and stored[0].stat().st_size == 200 * MB
    assert stored[0].stat().st_mode & 0o077 == 0


def test_bodies_above_the_cap_are_refused(start_process: Callable[..., SandboxProcess]) -> None:
    process = start_process(http_max_body_bytes=1 * MB)
    with _connect(process) as sock:  # declared: refused from the headers
        sock.sendall(_request_head("PUT", _upload_url(process, "a.bin"), {"Content-Length": str(2 * MB)}))
        assert _status(sock) == 413
    with _connect(process) as sock:  # chunked: refused once the cap is passed
        sock.sendall(_request_head("PUT", _upload_url(process, "b.bin"), {"Transfer-Encoding": "chunked"}))
        chunk = b"%x\r\n" % (256 * 1024) + b"\2" * (256 * 1024) + b"\r\n"
        try:
            for _ in range(5):
                sock.sendall(chunk)
        except OSError:
            pass
        assert _status(sock) == 413
    assert not list((process.config.data_dir / "blobs").rglob("*.bin"))


def _is_cut(sock: socket.socket, send: Callable[[], None], limit: float = 60.0) -> bool:
    """Keep a request trickling (``send`` every 0.2 s) until the server cuts it; False if it never does."""
    end = time.monotonic() + limit
    sock.settimeout(0.2)
    while time.monotonic() < end:
        try:
            send()
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return True
        if not data or b" 408 " in data or b" 400 " in data:
            return True
    return False


def test_slow_uploads_and_slow_headers_are_cut(start_process: Callable[..., SandboxProcess]) -> None:
    process = start_process(http_read_timeout=1.0)
    with _connect(process) as sock:
        sock.sendall(_request_head("PUT", _upload_url(process, "slow.bin"), {"Transfer-Encoding": "chunked"}))
        assert _is_cut(sock, lambda: sock.sendall(b"1\r\nx\r\n"))
    with _connect(process) as sock:
        sock.sendall(b"GET /healthcheck HTTP/1.1\r\n")
        assert _is_cut(sock, lambda: sock.sendall(b"X"))
    with _connect(process) as sock:  # the endpoint still serves
        sock.sendall(_request_head("GET", "/healthcheck", {}))
        assert _status(sock) == 200


def test_concurrent_connections_are_bounded(start_process: Callable[..., SandboxProcess]) -> None:
    process = start_process(http_max_connections=4)
    idle = [_connect(process) for _ in range(4)]
    try:
        time.sleep(0.5)  # let the server accept them
        with _connect(process) as extra:
            extra.sendall(_request_head("GET", "/healthcheck", {}))
            assert _status(extra) == 503
    finally:
        for sock in idle:
            sock.close()
    for _ in range(100):  # freed slots serve again
        with _connect(process) as sock:
            sock.sendall(_request_head("GET", "/healthcheck", {}))
            if _status(sock) == 200:
                break
        time.sleep(0.1)
    else:
        pytest.fail("the endpoint did not serve again after the connections closed")


def test_mounted_prefixes_serve_get_requests(fresh_sandbox: Callable[..., Any]) -> None:
    import urllib.error
    import urllib.request
    from http.server import BaseHTTPRequestHandler

    sb = fresh_sandbox()

    def hello(handler: BaseHTTPRequestHandler) -> None:
        body = f"hello {handler.path}".encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    sb.sandbox.http_server.mount("/reports", hello)
    with urllib.request.urlopen(f"{sb.http_endpoint}/reports/projects/x", timeout=10) as response:
        assert response.read() == b"hello /reports/projects/x"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{sb.http_endpoint}/reportsx", timeout=10)
    assert info.value.code == 404

