"""The sandbox's HTTP endpoint (stdlib ``ThreadingHTTPServer`` in its own threads, so it never blocks the gRPC
event loop):

* ``PUT /blobs/<path>?<signature>``: uploads through URLs from ``CreateUploadLocation`` (signature, expiry and
  ``Content-MD5`` checked; written atomically into the blob store);
* ``GET /blobs/<path>?<signature>``: downloads through URLs from ``CreateDownloadLocation``/``CreateDownloadLink``;
* ``POST /oauth2/token``: OAuth2 client-credentials token endpoint (HTTP Basic ``client_id:quote_plus(secret)`` as
  flytekit sends it, or ``client_id``/``client_secret`` form fields);
* ``GET /.well-known/oauth-authorization-server`` and ``GET /healthcheck``;
* ``/console/...``: the web console (:mod:`airflow_provider_flyte.sandbox.console`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from google.protobuf import json_format

from airflow_provider_flyte.sandbox.auth import TokenStore, check_client_credentials, oauth2_metadata
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import AuthSettings
from airflow_provider_flyte.sandbox.console import Console, is_console_path
from airflow_provider_flyte.sandbox.dataproxy import SignedUrlError, UrlSigner, md5_base64

log = logging.getLogger(__name__)

#: seconds an idle or stuck HTTP connection is kept
CONNECTION_TIMEOUT = 60.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxHttpServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut open (keep-alive) connections, so that nothing is served after a stop."""
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, so a slow client cannot stall accept().
        if self.app.ssl_context is not None:
            request.settimeout(CONNECTION_TIMEOUT)
            try:
                request = self.app.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("HTTP connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_TIMEOUT
    server_version = "flyte-sandbox"

    # -- plumbing ----------------------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": error, "error_description": message}, headers)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    @property
    def app(self) -> SandboxHttpServer:
        return self.server.app

    # -- routes ------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if is_console_path(url.path):
            self._console(b"")
        elif url.path == "/healthcheck":
            self._json(200, {"status": "ok"})
        elif url.path == "/.well-known/oauth-authorization-server":
            metadata = json_format.MessageToDict(
                oauth2_metadata(self.app.base_url), preserving_proto_field_name=True
            )
            self._json(200, metadata)
        elif url.path.startswith("/blobs/"):
            self._download(url.path, url.query)
        else:
            self._error(404, "not_found", f"no such resource: {url.path}")

    do_HEAD = do_GET

    def do_PUT(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        try:
            self._upload(url.path, url.query, body)
        except SignedUrlError as exc:
            self._error(exc.status, "rejected", exc.message)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        if is_console_path(url.path):
            self._console(body)
        elif url.path == "/oauth2/token":
            self._token(body)
        else:
            self._error(404, "not_found", f"no such resource: {url.path}")

    # -- handlers ----------------------------------------------------------------------------------------------
    def _console(self, body: bytes) -> None:
        console = self.app.console
        if console is None:
            self._error(503, "unavailable", "the console starts with the admin core; retry in a moment")
            return
        response = console.handle(self.command, self.path, self.headers, body)
        self._send(response.status, response.body, response.content_type, response.headers)

    def _upload(self, path: str, query: str, body: bytes) -> None:
        granted = self.app.signer.verify("PUT", path, query)
        actual = md5_base64(body)
        header = self.headers.get("Content-MD5")
        if granted.content_md5 and header is None:
            raise SignedUrlError(
                400, "the Content-MD5 header is required: this URL was signed for a Content-MD5"
            )
        if header is not None and header.strip() != actual:
            raise SignedUrlError(
                400, f"Content-MD5 header {header.strip()!r} does not match the body's MD5 {actual!r}"
            )
        if granted.content_md5 and granted.content_md5 != actual:
            raise SignedUrlError(
                403,
                f"the body's MD5 {actual!r} differs from the MD5 {granted.content_md5!r} this URL was signed for",
            )
        self.app.blobs.write_bytes(granted.uri, body)
        etag = binascii.hexlify(base64.b64decode(actual)).decode()
        self._send(200, b"", "text/plain", {"ETag": f'"{etag}"'})

    def _download(self, path: str, query: str) -> None:
        try:
            granted = self.app.signer.verify("GET", path, query)
        except SignedUrlError as exc:
            self._error(exc.status, "rejected", exc.message)
            return
        try:
            data = self.app.blobs.read_bytes(granted.uri)
        except (FileNotFoundError, IsADirectoryError):
            self._error(404, "not_found", f"no blob at {granted.uri}")
            return
        self._send(200, data, "application/octet-stream")

    def _token(self, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            self._error(
                400,
                "unsupported_grant_type",
                f"grant_type {form.get('grant_type')!r} is not supported; use client_credentials",
            )
            return
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        authorization = self.headers.get("Authorization", "")
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            raw_id, _, raw_secret = decoded.partition(":")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        settings = self.app.auth
        if settings.enabled and not check_client_credentials(settings, client_id, secret):
            log.info("token request for client %r rejected: invalid client credentials", client_id)
            self._error(
                401,
                "invalid_client",
                "invalid client credentials",
                {"WWW-Authenticate": 'Basic realm="flyte-sandbox"'},
            )
            return
        token, expires_in = self.app.tokens.issue(client_id or settings.client_id)
        self._json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": form.get("scope") or " ".join(settings.scopes),
            },
            {"Cache-Control": "no-store"},
        )


class SandboxHttpServer:
    """The HTTP endpoint, served by a background thread (one more thread per connection)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        blobs: BlobStore,
        signer: UrlSigner,
        tokens: TokenStore,
        auth: AuthSettings,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.blobs = blobs
        self.signer = signer
        self.tokens = tokens
        self.auth = auth
        self.ssl_context = ssl_context
        #: the web console, set once the admin core runs (``/console`` answers 503 until then)
        self.console: Console | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HTTP endpoint is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a daemon thread; raises ``OSError`` naming the port if it is taken."""
        try:
            server = _Server((self.host, self.requested_port), self)
        except OSError as exc:
            raise OSError(
                f"cannot bind the sandbox's HTTP endpoint to {self.host}:{self.requested_port}: {exc}; "
                "choose another --http-port (0 picks a free one)"
            ) from exc
        server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="flyte-sandbox-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (blocking; call it from a worker thread in async code)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
