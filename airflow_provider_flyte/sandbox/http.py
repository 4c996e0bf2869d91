"""The sandbox's HTTP endpoint (stdlib ``ThreadingHTTPServer`` in its own threads, so it never blocks the gRPC
event loop):

* ``PUT /blobs/<path>?<signature>``: uploads through URLs from ``CreateUploadLocation`` (signature, expiry and
  ``Content-MD5`` checked; streamed to a temporary file, then renamed into the blob store);
* ``GET /blobs/<path>?<signature>``: downloads through URLs from ``CreateDownloadLocation``/``CreateDownloadLink``
  (streamed from the file);
* ``POST /oauth2/token``: OAuth2 client-credentials token endpoint (HTTP Basic ``client_id:quote_plus(secret)`` as
  flytekit sends it, or ``client_id``/``client_secret`` form fields);
* ``GET /.well-known/oauth-authorization-server`` and ``GET /healthcheck``;
* ``/console/...``: the web console (:mod:`airflow_provider_flyte.sandbox.console`; GET, and POST of its forms);
* whatever :meth:`SandboxHttpServer.mount` adds for a path prefix (GET/HEAD).

Hostile clients are bounded (see :class:`HttpLimits`): the URL, the signature and credentials in headers are
checked before any body byte is read; bodies are capped (``Content-Length`` above the cap is refused at once) and
stream to disk; every request must progress (a base time plus one second per 64 KiB, else the connection is cut,
which also ends slow headers and slow chunked uploads); at most ``max_connections`` connections are served at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from google.protobuf import json_format

from airflow_provider_flyte.sandbox.auth import TokenStore, check_client_credentials, oauth2_metadata
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import AuthSettings
from airflow_provider_flyte.sandbox.console import Console, is_console_path
from airflow_provider_flyte.sandbox.dataproxy import SignedUrlError, UrlSigner, VerifiedRequest

log = logging.getLogger(__name__)

#: bytes per second a request must average after its base time (see :class:`HttpLimits`)
MIN_TRANSFER_RATE = 64 * 1024
#: largest token request body (a form with a client id and secret)
MAX_FORM_BYTES = 64 * 1024
#: bodies up to this size are read and dropped after an early rejection, so the client gets the answer (a larger
#: one closes the connection instead)
DRAIN_LIMIT = 64 * 1024
_COPY_CHUNK = 256 * 1024

#: a GET/HEAD handler mounted under a path prefix: called with the request handler (``path``, ``headers``,
#: ``send_response`` ... of :class:`http.server.BaseHTTPRequestHandler`)
Mounted = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on what one client can hold: body size, time, connections."""

    max_body_bytes: int = 1024 * 1024 * 1024
    read_timeout: float = 30.0
    max_connections: int = 64

    def __post_init__(self) -> None:
        if self.max_body_bytes < 0:
            raise ValueError(f"the HTTP body size cap must be >= 0 bytes, got {self.max_body_bytes}")
        if not self.read_timeout > 0:
            raise ValueError(f"the HTTP read timeout must be > 0 seconds, got {self.read_timeout}")
        if self.max_connections < 1:
            raise ValueError(f"the HTTP connection limit must be >= 1, got {self.max_connections}")


class _Rejected(Exception):
    """A request refused with an HTTP status (and whether its body can still be drained)."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers


class _Connection:
    """Progress of one connection, watched by the reaper: a request gets ``read_timeout`` seconds plus one second
    per :data:`MIN_TRANSFER_RATE` bytes it transferred."""

    __slots__ = ("sock", "started", "transferred")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.started = time.monotonic()
        self.transferred = 0

    def restart(self) -> None:
        self.started, self.transferred = time.monotonic(), 0

    def overdue(self, now: float, read_timeout: float) -> bool:
        return now - self.started > read_timeout + self.transferred / MIN_TRANSFER_RATE


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxHttpServer) -> None:
        self.app = app
        self.limits = app.limits
        self._connections: dict[Any, _Connection] = {}
        self._connections_lock = threading.Lock()
        self._reaper_stop = threading.Event()
        super().__init__(address, _Handler)
        self._reaper = threading.Thread(target=self._reap, name="flyte-sandbox-http-reaper", daemon=True)
        self._reaper.start()

    # -- connection accounting ---------------------------------------------------------------------------------
    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self._connections_lock:
            if len(self._connections) < self.limits.max_connections:
                self._connections[request] = _Connection(request)
                return True
        log.warning("HTTP connection from %s refused: %d connections open", client_address[0], len(self._connections))
        if self.app.ssl_context is None:
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return False

    def connection(self, request: Any) -> _Connection | None:
        with self._connections_lock:
            return self._connections.get(request)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def _reap(self) -> None:
        """Cut connections whose request does not progress (slow headers, slow bodies, idle keep-alive)."""
        while not self._reaper_stop.wait(0.5):
            now = time.monotonic()
            with self._connections_lock:
                overdue = [c for c in self._connections.values() if c.overdue(now, self.limits.read_timeout)]
            for connection in overdue:
                log.info("HTTP connection cut: its request made too little progress")
                with contextlib.suppress(OSError):
                    connection.sock.shutdown(socket.SHUT_RDWR)

    def close_connections(self) -> None:
        """Cut open (keep-alive) connections, so that nothing is served after a stop."""
        self._reaper_stop.set()
        with self._connections_lock:
            connections, self._connections = self._connections, {}
        for connection in connections.values():
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, so a slow client cannot stall accept().
        if self.app.ssl_context is not None:
            request.settimeout(self.limits.read_timeout)
            try:
                tls = self.app.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
            _Handler(tls, client_address, self, raw=request)
            return
        _Handler(request, client_address, self, raw=request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("HTTP connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "flyte-sandbox"

    def __init__(self, request: Any, client_address: Any, server: _Server, *, raw: Any = None) -> None:
        self._conn = server.connection(request if raw is None else raw)
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        self.request.settimeout(self.server.limits.read_timeout)  # every blocking read or write of the socket
        super().setup()

    # -- plumbing ----------------------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        if self._conn is not None:
            self._conn.restart()  # a new request (or the wait for it) gets its own time
        super().handle_one_request()

    def _progress(self, n: int) -> None:
        if self._conn is not None:
            self._conn.transferred += n

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": error, "error_description": message}, headers)

    def _reject(self, rejected: _Rejected, *, body_pending: bool) -> None:
        """Answer a refused request; a body that was not read is drained when small, else the connection ends."""
        if body_pending:
            try:
                length = self._declared_length()
            except _Rejected:
                length = None
            if length is not None and length <= DRAIN_LIMIT:
                with contextlib.suppress(OSError, _Rejected):
                    for _ in self._body_chunks(DRAIN_LIMIT):
                        pass
            else:
                self.close_connection = True
        self._error(rejected.status, rejected.error, rejected.message, rejected.headers)

    @property
    def app(self) -> SandboxHttpServer:
        return self.server.app

    # -- bodies ------------------------------------------------------------------------------------------------
    def _chunked(self) -> bool:
        return self.headers.get("Transfer-Encoding", "").lower() == "chunked"

    def _declared_length(self) -> int | None:
        """Content-Length (0 when there is neither a length nor chunked encoding); None for chunked bodies."""
        if self._chunked():
            return None
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError:
            raise _Rejected(400, "invalid_request", f"Content-Length {raw!r} is not a number") from None
        if length < 0:
            raise _Rejected(400, "invalid_request", f"Content-Length {raw!r} is negative")
        return length

    def _check_size(self, limit: int) -> None:
        length = self._declared_length()
        if length is not None and length > limit:
            raise _Rejected(413, "too_large", f"the body ({length} bytes) exceeds the limit of {limit} bytes")

    def _body_chunks(self, limit: int) -> Iterator[bytes]:
        """The body in pieces, at most ``limit`` bytes in all (``_Rejected`` 413 beyond; 400 when malformed)."""
        too_large = _Rejected(413, "too_large", f"the body exceeds the limit of {limit} bytes")
        if not self._chunked():
            remaining = self._declared_length() or 0
            if remaining > limit:
                raise too_large
            while remaining > 0:
                data = self.rfile.read(min(_COPY_CHUNK, remaining))
                if not data:
                    raise _Rejected(400, "invalid_request", "the body ended before Content-Length bytes")
                remaining -= len(data)
                self._progress(len(data))
                yield data
            return
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise _Rejected(400, "invalid_request", "malformed chunked encoding") from None
            if size == 0:
                for _ in range(100):  # trailers
                    if self.rfile.readline(1024) in (b"\r\n", b"\n", b""):
                        return
                raise _Rejected(400, "invalid_request", "too many trailer lines")
            total += size
            if size < 0 or total > limit:
                raise too_large
            while size > 0:
                data = self.rfile.read(min(_COPY_CHUNK, size))
                if not data:
                    raise _Rejected(400, "invalid_request", "the body ended inside a chunk")
                size -= len(data)
                self._progress(len(data))
                yield data
            self.rfile.readline(1024)

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
        elif (mounted := self.app.mounted(url.path)) is not None:
            mounted(self)
        else:
            self._error(404, "not_found", f"no such resource: {url.path}")

    do_HEAD = do_GET

    def do_PUT(self) -> None:
        url = urlsplit(self.path)
        try:
            granted = self._check_upload(url.path, url.query)
        except _Rejected as rejected:
            self._reject(rejected, body_pending=True)
            return
        try:
            self._upload(granted)
        except _Rejected as rejected:
            self._reject(rejected, body_pending=False)
            self.close_connection = True  # the rest of a refused body is not read

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if not is_console_path(url.path) and url.path != "/oauth2/token":
            self._reject(_Rejected(404, "not_found", f"no such resource: {url.path}"), body_pending=True)
            return
        try:
            if url.path == "/oauth2/token":
                self._token()
            else:
                self._check_size(MAX_FORM_BYTES)
                self._console(b"".join(self._body_chunks(MAX_FORM_BYTES)))
        except _Rejected as rejected:
            self._reject(rejected, body_pending=False)
            self.close_connection = True

    def handle_expect_100(self) -> bool:
        """Refuse before the client sends its body (``Expect: 100-continue``) when the headers already fail."""
        url = urlsplit(self.path)
        try:
            if self.command == "PUT":
                self._check_upload(url.path, url.query)
            elif self.command == "POST":
                if not is_console_path(url.path) and url.path != "/oauth2/token":
                    raise _Rejected(404, "not_found", f"no such resource: {url.path}")
                self._check_size(MAX_FORM_BYTES)
        except _Rejected as rejected:
            self.close_connection = True
            self._error(rejected.status, rejected.error, rejected.message, rejected.headers)
            return False
        return super().handle_expect_100()

    # -- handlers ----------------------------------------------------------------------------------------------
    def _console(self, body: bytes) -> None:
        console = self.app.console
        if console is None:
            self._error(503, "unavailable", "the console starts with the admin core; retry in a moment")
            return
        response = console.handle(self.command, self.path, self.headers, body)
        self._send(response.status, response.body, response.content_type, response.headers)

    def _check_upload(self, path: str, query: str) -> VerifiedRequest:
        """Everything about an upload that the headers decide: URL, signature, expiry, size, Content-MD5."""
        try:
            granted = self.app.signer.verify("PUT", path, query)
        except SignedUrlError as exc:
            raise _Rejected(exc.status, "rejected", exc.message) from None
        self._check_size(self.app.limits.max_body_bytes)
        if granted.content_md5 and self.headers.get("Content-MD5") is None:
            raise _Rejected(400, "rejected", "the Content-MD5 header is required: this URL was signed for a Content-MD5")
        return granted

    def _upload(self, granted: VerifiedRequest) -> None:
        target = BlobStore.path(granted.uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.md5(usedforsecurity=False)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for data in self._body_chunks(self.app.limits.max_body_bytes):
                    digest.update(data)
                    fh.write(data)
            actual = base64.b64encode(digest.digest()).decode()
            header = self.headers.get("Content-MD5")
            if header is not None and header.strip() != actual:
                raise _Rejected(
                    400, "rejected", f"Content-MD5 header {header.strip()!r} does not match the body's MD5 {actual!r}"
                )
            if granted.content_md5 and granted.content_md5 != actual:
                raise _Rejected(
                    403,
                    "rejected",
                    f"the body's MD5 {actual!r} differs from the MD5 {granted.content_md5!r} this URL was signed for",
                )
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._send(200, b"", "text/plain", {"ETag": f'"{digest.hexdigest()}"'})

    def _download(self, path: str, query: str) -> None:
        try:
            granted = self.app.signer.verify("GET", path, query)
        except SignedUrlError as exc:
            self._error(exc.status, "rejected", exc.message)
            return
        try:
            fh: IO[bytes] = BlobStore.path(granted.uri).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            self._error(404, "not_found", f"no blob at {granted.uri}")
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command == "HEAD":
                return
            while data := fh.read(_COPY_CHUNK):
                self.wfile.write(data)
                self._progress(len(data))

    def _basic_credentials(self) -> tuple[str, str] | None:
        authorization = self.headers.get("Authorization", "")
        if authorization[:6].lower() != "basic ":
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        raw_id, _, raw_secret = decoded.partition(":")
        return unquote_plus(raw_id), unquote_plus(raw_secret)

    def _token(self) -> None:
        settings = self.app.auth
        basic = self._basic_credentials()
        invalid = _Rejected(
            401, "invalid_client", "invalid client credentials", {"WWW-Authenticate": 'Basic realm="flyte-sandbox"'}
        )
        if settings.enabled and basic is not None and not check_client_credentials(settings, *basic):
            log.info("token request for client %r rejected: invalid client credentials", basic[0])
            self._reject(invalid, body_pending=True)  # before reading the body
            return
        self._check_size(MAX_FORM_BYTES)
        body = b"".join(self._body_chunks(MAX_FORM_BYTES))
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            self._error(
                400,
                "unsupported_grant_type",
                f"grant_type {form.get('grant_type')!r} is not supported; use client_credentials",
            )
            return
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if settings.enabled and not check_client_credentials(settings, client_id, secret):
            log.info("token request for client %r rejected: invalid client credentials", client_id)
            self._error(invalid.status, invalid.error, invalid.message, invalid.headers)
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
    """The HTTP endpoint, served by a background thread (one more thread per connection, ``limits`` bounding
    them)."""

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
        limits: HttpLimits | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.blobs = blobs
        self.signer = signer
        self.tokens = tokens
        self.auth = auth
        self.ssl_context = ssl_context
        self.limits = limits or HttpLimits()
        self._mounts: dict[str, Mounted] = {}
        #: the web console, set once the admin core runs (``/console`` answers 503 until then)
        self.console: Console | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def mount(self, prefix: str, handler: Mounted) -> None:
        """Serve GET/HEAD requests whose path starts with ``prefix`` (e.g. ``"/console"``) with ``handler``; the
        longest matching prefix wins. The built-in routes (``/blobs/``, ``/healthcheck``, ...) come first."""
        if not prefix.startswith("/"):
            raise ValueError(f"a mount prefix must start with '/', got {prefix!r}")
        self._mounts[prefix] = handler

    def mounted(self, path: str) -> Mounted | None:
        """The handler mounted for ``path``, if any."""
        matches = [p for p in self._mounts if path == p or path.startswith(p.rstrip("/") + "/")]
        return self._mounts[max(matches, key=len)] if matches else None

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
