"""gRPC channels and the two transports (blocking and asyncio) that run :class:`~.ops.Call`s.

Both transports apply the same per-call behaviour, written once in :class:`_CallPolicy`: authorization metadata,
per-call deadline, retries with exponential backoff + full jitter for transient codes on idempotent calls only,
one credential refresh on UNAUTHENTICATED, and error mapping through
:func:`~airflow_provider_flyte.remote.errors.error_from_status` (the only place gRPC codes become exceptions).
Plain HTTP (token endpoint, signed upload URLs) goes through :func:`http_request` with the same TLS settings.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_flyte.remote.config import PlatformConfig
from airflow_provider_flyte.remote.errors import FlyteError, FlyteSystemUnavailableError, error_from_status
from airflow_provider_flyte.remote.retry import Decision, RetryPolicy

if TYPE_CHECKING:
    import grpc
    import grpc.aio

    from airflow_provider_flyte.remote.auth import Authenticator
    from airflow_provider_flyte.remote.ops.call import Call

#: gRPC stub class of each service the client talks to.
STUBS: dict[str, tuple[str, str]] = {
    "AdminService": ("flyteidl.service.admin_pb2_grpc", "AdminServiceStub"),
    "SignalService": ("flyteidl.service.signal_pb2_grpc", "SignalServiceStub"),
    "DataProxyService": ("flyteidl.service.dataproxy_pb2_grpc", "DataProxyServiceStub"),
    "AuthMetadataService": ("flyteidl.service.auth_pb2_grpc", "AuthMetadataServiceStub"),
    "IdentityService": ("flyteidl.service.identity_pb2_grpc", "IdentityServiceStub"),
}

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


def channel_options(platform: PlatformConfig) -> list[tuple[str, Any]]:
    """Channel options like flytekit's: 32 KiB metadata, large messages, keepalive, optional HTTP proxy."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_metadata_size", 32 * 1024),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", 30000),
        ("grpc.keepalive_timeout_ms", 10000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    if platform.http_proxy_url:
        options.append(("grpc.http_proxy", platform.http_proxy_url))
    return options


def split_endpoint(endpoint: str, default_port: int = 443) -> tuple[str, int]:
    """``host[:port]`` -> ``(host, port)``."""
    host, sep, port = endpoint.rpartition(":")
    if sep and port.isdigit():
        return host.strip("[]"), int(port)
    return endpoint.strip("[]"), default_port


def root_certificates(platform: PlatformConfig) -> bytes | None:
    """PEM roots for a TLS channel: the server's own certificate (insecure_skip_verify), the CA file, or None
    (system roots)."""
    if platform.insecure_skip_verify:
        return ssl.get_server_certificate(split_endpoint(platform.endpoint)).encode()
    if platform.ca_cert_file_path:
        with open(platform.ca_cert_file_path, "rb") as fh:
            return fh.read()
    return None


def _channel_credentials(platform: PlatformConfig) -> grpc.ChannelCredentials:
    import grpc

    return grpc.ssl_channel_credentials(root_certificates=root_certificates(platform))


#: the keyword arguments flytekit's ``FlyteRemote(...)`` (and ``for_endpoint``/``auto``/``for_sandbox``) hand to
#: gRPC's channel constructor
CHANNEL_KWARGS = ("options", "compression", "credentials")


@dataclass(frozen=True)
class ChannelExtras:
    """flytekit's ``FlyteRemote(config, ..., **kwargs)``: ``options`` (gRPC channel arguments; they win over ours,
    where flytekit's own defaults would win over a user's repeated key), ``compression`` (a ``grpc.Compression``)
    and ``credentials`` (``grpc.ChannelCredentials`` replacing the TLS credentials built from the config)."""

    options: tuple[tuple[str, Any], ...] = ()
    compression: Any = None
    credentials: Any = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], insecure: bool) -> ChannelExtras:
        """Checked extras (``TypeError``/``ValueError`` naming the problem and the fix), before any connection."""
        unknown = sorted(set(kwargs) - set(CHANNEL_KWARGS))
        if unknown:
            raise TypeError(
                f"FlyteRemote() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}: as in flytekit, "
                f"extra keyword arguments go to the gRPC channel ({', '.join(CHANNEL_KWARGS)}); connection settings "
                "are PlatformConfig fields (Config.for_endpoint(endpoint, ..., rpc_timeout=...))"
            )
        given = kwargs.get("options") or ()
        pairs_hint = "pairs such as [('grpc.max_receive_message_length', 64 << 20)]"
        if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
            raise TypeError(f"options must be a list of (name, value) {pairs_hint}, got {given!r}")
        options = tuple(given)
        for option in options:
            if not (isinstance(option, tuple | list) and len(option) == 2 and isinstance(option[0], str)):
                raise TypeError(f"options must be (name, value) {pairs_hint}, got {option!r}")
        compression, credentials = kwargs.get("compression"), kwargs.get("credentials")
        if compression is not None or credentials is not None:
            import grpc

            if compression is not None and not isinstance(compression, grpc.Compression):
                raise TypeError(f"compression must be a grpc.Compression (e.g. grpc.Compression.Gzip), got {compression!r}")
            if credentials is not None and not isinstance(credentials, grpc.ChannelCredentials):
                raise TypeError(
                    f"credentials must be grpc.ChannelCredentials (e.g. grpc.ssl_channel_credentials(...)), "
                    f"got {credentials!r}"
                )
        if credentials is not None and insecure:
            raise ValueError(
                "credentials are for TLS channels, and this config is insecure (plaintext): drop credentials or "
                "connect with insecure=False"
            )
        return cls(tuple((str(k), v) for k, v in options), compression, credentials)


def split_channel_kwargs(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(channel keyword arguments, the rest)`` of a constructor's ``**kwargs``."""
    channel = {k: v for k, v in kwargs.items() if k in CHANNEL_KWARGS}
    return channel, {k: v for k, v in kwargs.items() if k not in CHANNEL_KWARGS}


def _channel_kwargs(platform: PlatformConfig, extras: ChannelExtras) -> dict[str, Any]:
    # gRPC takes the first value of a repeated channel argument: the user's go first, so that they win
    options = list(extras.options) + channel_options(platform)
    kwargs: dict[str, Any] = {"options": options, "compression": extras.compression}
    if not platform.insecure:
        kwargs["credentials"] = extras.credentials or _channel_credentials(platform)
    return kwargs


def create_channel(platform: PlatformConfig, extras: ChannelExtras = ChannelExtras()) -> grpc.Channel:
    """A blocking gRPC channel to ``platform.endpoint`` (plaintext when ``insecure``, else TLS)."""
    import grpc

    kwargs = _channel_kwargs(platform, extras)
    if platform.insecure:
        return grpc.insecure_channel(platform.endpoint, **kwargs)
    return grpc.secure_channel(platform.endpoint, **kwargs)


def create_aio_channel(platform: PlatformConfig, extras: ChannelExtras = ChannelExtras()) -> grpc.aio.Channel:
    """An asyncio gRPC channel (bound to the running event loop)."""
    import grpc.aio

    kwargs = _channel_kwargs(platform, extras)
    if platform.insecure:
        return grpc.aio.insecure_channel(platform.endpoint, **kwargs)
    return grpc.aio.secure_channel(platform.endpoint, **kwargs)


def _stub(channel: Any, service: str) -> Any:
    module_name, cls_name = STUBS[service]
    return getattr(importlib.import_module(module_name), cls_name)(channel)


def _bind(channel: Any, call: Call) -> Any:
    """The channel's callable for ``call``'s method: the generated stub's, or one with ``call.decode`` as the
    response deserializer (every service in :data:`STUBS` is in the ``flyteidl.service`` package)."""
    if call.decode is None:
        return getattr(_stub(channel, call.service), call.method)
    return channel.unary_unary(
        f"/flyteidl.service.{call.service}/{call.method}",
        request_serializer=type(call.request).SerializeToString,
        response_deserializer=call.decode,
    )


# --------------------------------------------------------------------------------------------------- stats


@dataclass
class RpcStats:
    """Counts of RPC attempts (retries included) by method, for benchmarks and tests."""

    calls: int = 0
    retries: int = 0
    auth_refreshes: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, method: str) -> None:
        with self._lock:
            self.calls += 1
            self.by_method[method] += 1

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self.calls = self.retries = self.auth_refreshes = 0
            self.by_method.clear()


# --------------------------------------------------------------------------------------------- call policy


class _CallPolicy:
    """What both transports share: metadata, deadlines, retry decisions and error mapping."""

    def __init__(self, platform: PlatformConfig, auth: Authenticator, stats: RpcStats | None = None) -> None:
        self.platform = platform
        self.auth = auth
        self.stats = stats or RpcStats()
        self.retry = RetryPolicy(
            platform.rpc_retries, platform.retry_initial_backoff, platform.retry_max_backoff
        )

    def timeout(self, call: Call) -> float | None:
        return call.timeout if call.timeout is not None else self.platform.rpc_timeout

    def attempts(self, call: Call) -> _Attempts:
        """The retry state of one call."""
        return _Attempts(self, call)

    def error(self, exc: Exception, call: Call) -> FlyteError:
        """The client exception for a failed RPC (gRPC status mapped by ``error_from_status``)."""
        if isinstance(exc, FlyteError):
            return exc
        code = _code_name(exc)
        details = exc.details() if hasattr(exc, "details") else str(exc)
        message = details or code
        if code == "UNAVAILABLE":
            message += _tls_mismatch_hint(message, insecure=bool(self.platform.insecure))
        if code == "UNAUTHENTICATED" and self.auth.mode == "none":
            message += (
                " (the server requires authentication: configure auth_mode='client_credentials' with client_id and "
                "client_secret, 'static' with a token, or 'external_command' with a command)"
            )
        trailing = None
        if hasattr(exc, "trailing_metadata"):
            try:
                trailing = exc.trailing_metadata()
            except Exception:
                trailing = None
        return error_from_status(code, message, rpc=f"{call.service}.{call.method}", details=trailing)


class _Attempts:
    """One call's attempts: after a failed attempt, how long to wait before the next one (or the error to raise)."""

    def __init__(self, policy: _CallPolicy, call: Call) -> None:
        self.policy = policy
        self.call = call
        self.attempt = 0
        self.refreshed = False

    def delay_after(self, exc: Exception) -> float:
        """Seconds to wait before retrying after ``exc`` (0 after an auth refresh); raises the mapped
        :class:`FlyteError` when the call must not be retried."""
        policy = self.policy
        decision = policy.retry.decide(
            _code_name(exc),
            idempotent=self.call.idempotent,
            attempt=self.attempt,
            auth_refreshed=self.refreshed,
            can_refresh=policy.auth.can_refresh,
        )
        if decision is Decision.REFRESH_AUTH:
            policy.stats.auth_refreshes += 1
            self.refreshed = True
            policy.auth.invalidate()
            return 0.0
        if decision is Decision.RETRY:
            policy.stats.retries += 1
            delay = policy.retry.backoff(self.attempt)
            self.attempt += 1
            return delay
        raise policy.error(exc, self.call) from None


def _tls_mismatch_hint(message: str, *, insecure: bool) -> str:
    """What to change when a connection failed because client and server disagree about TLS."""
    if not insecure and "WRONG_VERSION_NUMBER" in message:
        return " (the server speaks plaintext: set insecure=true, or serve TLS on the server)"
    if insecure and "failed to connect" in message and "Socket closed" in message:
        return " (the server speaks TLS, or closed the connection: if it speaks TLS, set insecure=false)"
    return ""


def _code_name(exc: Exception) -> str:
    code = exc.code() if hasattr(exc, "code") else None
    return getattr(code, "name", "UNKNOWN")


# ------------------------------------------------------------------------------------------- transports


class _Transport:
    """What both transports share: the call policy (deadlines, retries, error mapping, stats) and the extras of
    the channel they create."""

    def __init__(
        self,
        platform: PlatformConfig,
        auth: Authenticator,
        stats: RpcStats | None = None,
        extras: ChannelExtras = ChannelExtras(),
    ) -> None:
        self.policy = _CallPolicy(platform, auth, stats)
        self.extras = extras
        self._methods: dict[tuple[str, str, Any], Any] = {}
        self._lock = threading.Lock()

    @property
    def stats(self) -> RpcStats:
        return self.policy.stats


class SyncTransport(_Transport):
    """Runs calls on a blocking gRPC channel."""

    _channel: grpc.Channel | None = None  # created on the first call

    def _method(self, call: Call) -> Any:
        key = (call.service, call.method, call.decode)
        fn = self._methods.get(key)
        if fn is None:
            with self._lock:
                if self._channel is None:
                    self._channel = create_channel(self.policy.platform, self.extras)
                fn = _bind(self._channel, call)
                self._methods[key] = fn
        return fn

    def _ensure_auth_configured(self) -> None:
        auth = self.policy.auth
        if auth.needs_server_config:
            from airflow_provider_flyte.remote.ops.auth import discover_auth

            auth.set_server_config(self.run(discover_auth(), authenticated=False))

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        auth = self.policy.auth
        self._ensure_auth_configured()
        try:
            return auth.metadata()
        except FlyteSystemUnavailableError:
            if not auth.endpoint_unreachable():
                raise
        self._ensure_auth_configured()  # the token endpoint may have moved: discover it again, try once more
        return auth.metadata()

    def invoke(self, call: Call, *, authenticated: bool = True) -> Any:
        """Run one call with deadline, auth metadata, retries and error mapping; return the response."""
        import grpc

        fn = self._method(call)
        policy = self.policy
        attempts = policy.attempts(call)
        while True:
            metadata: tuple[tuple[str, str], ...] = ()
            if authenticated:
                metadata = self._metadata()
            policy.stats.record(call.method)
            try:
                return fn(call.request, timeout=policy.timeout(call), metadata=metadata or None)
            except grpc.RpcError as exc:
                time.sleep(attempts.delay_after(exc))

    def run(self, op: Any, *, authenticated: bool = True) -> Any:
        """Drive a sans-IO operation (generator of calls) to completion and return its result."""
        from airflow_provider_flyte.remote.ops.call import drive_sync

        return drive_sync(op, lambda call: self.invoke(call, authenticated=authenticated))

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = None
            self._methods.clear()


class AsyncTransport(_Transport):
    """Runs calls on a ``grpc.aio`` channel; the channel is (re)created for the running event loop."""

    _channel: grpc.aio.Channel | None = None  # created on the first call of each event loop
    _loop: asyncio.AbstractEventLoop | None = None

    def _method(self, call: Call) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._channel is None:
            # grpc.aio channels belong to one loop; Airflow triggers and tests may use several over time.
            self._channel = create_aio_channel(self.policy.platform, self.extras)
            self._loop = loop
            self._methods.clear()
        key = (call.service, call.method, call.decode)
        fn = self._methods.get(key)
        if fn is None:
            fn = _bind(self._channel, call)
            self._methods[key] = fn
        return fn

    async def _ensure_auth_configured(self) -> None:
        auth = self.policy.auth
        if auth.needs_server_config:
            from airflow_provider_flyte.remote.ops.auth import discover_auth

            auth.set_server_config(await self.run(discover_auth(), authenticated=False))

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        await self._ensure_auth_configured()
        auth = self.policy.auth
        cached = auth.cached_metadata()
        if cached is not None:
            return cached
        # the token fetch is blocking HTTP or a subprocess: keep it off the event loop
        try:
            return await asyncio.to_thread(auth.metadata)
        except FlyteSystemUnavailableError:
            if not auth.endpoint_unreachable():
                raise
        await self._ensure_auth_configured()  # the token endpoint may have moved: discover it again, try once more
        return await asyncio.to_thread(auth.metadata)

    async def invoke(self, call: Call, *, authenticated: bool = True) -> Any:
        """Async twin of :meth:`SyncTransport.invoke`."""
        import grpc

        fn = self._method(call)
        policy = self.policy
        attempts = policy.attempts(call)
        while True:
            metadata = await self._metadata() if authenticated else ()
            policy.stats.record(call.method)
            try:
                return await fn(call.request, timeout=policy.timeout(call), metadata=metadata or None)
            except grpc.RpcError as exc:
                await asyncio.sleep(attempts.delay_after(exc))

    async def run(self, op: Any, *, authenticated: bool = True) -> Any:
        """Drive a sans-IO operation to completion on the event loop; ``Local`` steps run in a thread."""
        from airflow_provider_flyte.remote.ops.call import drive_async

        async def invoke(call: Call) -> Any:
            return await self.invoke(call, authenticated=authenticated)

        return await drive_async(op, invoke)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
        self._channel = None
        self._loop = None
        self._methods.clear()


# --------------------------------------------------------------------------------------------------- HTTP


@functools.lru_cache(maxsize=8)
def _ssl_context(insecure_skip_verify: bool, ca_cert_file_path: str | None) -> ssl.SSLContext:
    if insecure_skip_verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=ca_cert_file_path)


def http_ssl_context(platform: PlatformConfig) -> ssl.SSLContext:
    """TLS context for HTTP calls, honouring ``insecure_skip_verify`` and ``ca_cert_file_path`` (built once per
    setting: loading the system roots costs tens of milliseconds)."""
    ca = str(platform.ca_cert_file_path) if platform.ca_cert_file_path else None
    return _ssl_context(bool(platform.insecure_skip_verify), ca)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]


def http_request(
    platform: PlatformConfig,
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = 60.0,
) -> HttpResponse:
    """One HTTP request with the platform's TLS and proxy settings (stdlib urllib). Non-2xx is returned, not raised;
    connection failures raise :class:`FlyteError` subclasses without echoing request headers (they hold secrets)."""
    handlers: list[urllib.request.BaseHandler] = []
    if url.startswith("https:"):
        handlers.append(urllib.request.HTTPSHandler(context=http_ssl_context(platform)))
    if platform.http_proxy_url:
        handlers.append(
            urllib.request.ProxyHandler({"http": platform.http_proxy_url, "https": platform.http_proxy_url})
        )
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    try:
        with opener.open(request, timeout=timeout) as resp:
            return HttpResponse(resp.status, resp.read(), dict(resp.headers.items()))
    except urllib.error.HTTPError as exc:
        return HttpResponse(exc.code, exc.read() or b"", dict(exc.headers.items()) if exc.headers else {})
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise error_from_status(
            "UNAVAILABLE", f"HTTP {method} {_strip_query(url)} failed: {reason}"
        ) from None


def _strip_query(url: str) -> str:
    """URL without its query string (signed URLs carry credentials there)."""
    return url.split("?", 1)[0]


__all__ = [
    "CHANNEL_KWARGS",
    "STUBS",
    "AsyncTransport",
    "ChannelExtras",
    "HttpResponse",
    "RpcStats",
    "SyncTransport",
    "channel_options",
    "create_aio_channel",
    "create_channel",
    "http_request",
    "http_ssl_context",
    "root_certificates",
]
