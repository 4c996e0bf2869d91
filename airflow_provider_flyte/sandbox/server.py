"""The sandbox's gRPC server: one ``grpc.aio`` server serving flyteadmin's five services.

Every RPC goes through one wrapper (:func:`_wrap_method`) that applies the guards (fault injection, then
authentication), decodes the request (undecodable or over-deep bytes -> ``INVALID_ARGUMENT``, no traceback) and
maps errors the way flyteadmin does:

* :class:`~airflow_provider_flyte.sandbox.errors.SandboxError` -> its gRPC code and message (and its
  ``grpc-status-details-bin`` trailing metadata when it carries status details);
* ``NotImplementedError`` and methods a servicer does not implement -> ``UNIMPLEMENTED``;
* any other exception -> ``INTERNAL`` with a message naming the RPC (logged with its traceback). Never ``UNKNOWN``:
  flytekit's client treats ``UNKNOWN`` as an authentication failure and would start a login flow.

Servicers receive a :class:`~airflow_provider_flyte.sandbox.auth.PrincipalContext`: the call's context whose
invocation metadata carries the authenticated client id as ``x-sandbox-principal``
(:func:`~airflow_provider_flyte.sandbox.auth.current_principal` returns it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import ipaddress
import logging
import secrets
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import grpc
import grpc.aio
from flyteidl.service import (
    admin_pb2,
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    signal_pb2,
    signal_pb2_grpc,
)
from google.protobuf import message_factory
from google.protobuf.message import DecodeError

from airflow_provider_flyte.sandbox.auth import (
    AuthGuard,
    AuthMetadataServicer,
    IdentityServicer,
    PrincipalContext,
    TokenStore,
    current_principal,
)
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.console import Console
from airflow_provider_flyte.sandbox.dataproxy import DataProxyServicer, UrlSigner
from airflow_provider_flyte.sandbox.errors import SandboxError
from airflow_provider_flyte.sandbox.faults import FaultInjector
from airflow_provider_flyte.sandbox.http import HttpLimits, SandboxHttpServer

log = logging.getLogger(__name__)

#: flytekit's channel accepts 20 MiB; flyteadmin is configured to accept large registrations too.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class AdminLike(Protocol):
    """What the server needs from the admin core (``airflow_provider_flyte.sandbox.admin.AdminCore``)."""

    admin_servicer: Any
    signal_servicer: Any

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def get_data(self, flyte_url: str) -> Any: ...


AdminFactory = Callable[[SandboxConfig, BlobStore], AdminLike]


class RpcGuard(Protocol):
    """A check run before every RPC it applies to; it raises :class:`SandboxError` to reject the call."""

    def applies(self, service: str, method: str) -> bool:
        """Whether the guard runs for this RPC (decided once, when the handlers are built)."""
        ...

    async def check(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> None: ...


@dataclasses.dataclass(frozen=True)
class _Service:
    descriptor: Any  # google.protobuf ServiceDescriptor
    base: type  # the generated *Servicer base class, whose methods mean "not implemented"


_SERVICES = {
    "AdminService": _Service(
        admin_pb2.DESCRIPTOR.services_by_name["AdminService"], admin_pb2_grpc.AdminServiceServicer
    ),
    "SignalService": _Service(
        signal_pb2.DESCRIPTOR.services_by_name["SignalService"], signal_pb2_grpc.SignalServiceServicer
    ),
    "DataProxyService": _Service(
        dataproxy_pb2.DESCRIPTOR.services_by_name["DataProxyService"],
        dataproxy_pb2_grpc.DataProxyServiceServicer,
    ),
    "AuthMetadataService": _Service(
        auth_pb2.DESCRIPTOR.services_by_name["AuthMetadataService"], auth_pb2_grpc.AuthMetadataServiceServicer
    ),
    "IdentityService": _Service(
        identity_pb2.DESCRIPTOR.services_by_name["IdentityService"], identity_pb2_grpc.IdentityServiceServicer
    ),
}


def _message_class(descriptor: Any) -> Any:
    return message_factory.GetMessageClass(descriptor)


def _is_implemented(servicer: Any, base: type, name: str) -> bool:
    impl = getattr(servicer, name, None)
    return impl is not None and getattr(impl, "__func__", impl) is not getattr(base, name, None)


def _decode(rpc: str, message_class: Any, data: bytes) -> Any:
    """The request message of ``data``; undecodable or over-deep input is INVALID_ARGUMENT (never gRPC's UNKNOWN,
    which flytekit takes for an authentication failure), reported without a traceback."""
    try:
        return message_class.FromString(data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise SandboxError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{rpc}: the request is not a valid {message_class.DESCRIPTOR.full_name} message "
            f"({type(exc).__name__}: {exc or 'undecodable'}); send a serialized protobuf message of that type",
        ) from None


def _wrap_method(
    rpc: str,
    impl: Callable[[Any, Any], Any] | None,
    guards: Sequence[RpcGuard],
    message_class: Any,
) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]:
    """The single place where an RPC's request is decoded, its guards run and its errors become gRPC statuses."""
    method = rpc.rsplit("/", 1)[-1]
    is_async = impl is not None and inspect.iscoroutinefunction(impl)

    async def handler(raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        failure: SandboxError
        try:
            for guard in guards:
                await guard.check(method, context)
            if impl is None:
                raise NotImplementedError
            request = _decode(rpc, message_class, raw)
            # servicers see the authenticated principal as x-sandbox-principal metadata (see auth.PrincipalContext)
            servicer_context = PrincipalContext(context, current_principal())
            response = await impl(request, servicer_context) if is_async else impl(request, servicer_context)
            if response is None:  # would fail serialization, which gRPC reports as UNKNOWN
                raise TypeError("the servicer returned no response message")
            return response
        except SandboxError as exc:
            failure = exc
        except grpc.aio.AbortError:
            raise  # the servicer aborted the call itself
        except NotImplementedError:
            failure = SandboxError(
                grpc.StatusCode.UNIMPLEMENTED, f"{rpc} is not implemented by the Flyte sandbox"
            )
        except Exception as exc:
            log.exception("%s failed", rpc)
            failure = SandboxError(
                grpc.StatusCode.INTERNAL,
                f"{rpc} failed inside the Flyte sandbox: {type(exc).__name__}: {exc}",
            )
        failure = failure.bounded()
        metadata = (("grpc-status-details-bin", failure.details),) if failure.details else ()
        await context.abort(failure.code, failure.message, trailing_metadata=metadata)

    return handler


def _generic_handler(
    name: str, servicer: Any, guards: Sequence[RpcGuard]
) -> grpc.GenericRpcHandler[Any, Any]:
    service = _SERVICES[name]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for m in service.descriptor.methods:
        rpc = f"/{service.descriptor.full_name}/{m.name}"
        impl = getattr(servicer, m.name) if _is_implemented(servicer, service.base, m.name) else None
        applicable = [g for g in guards if g.applies(name, m.name)]
        handlers[m.name] = grpc.unary_unary_rpc_method_handler(
            _wrap_method(rpc, impl, applicable, _message_class(m.input_type)),
            request_deserializer=None,  # raw bytes: decoded in the handler, where a failure gets a proper status
            response_serializer=_message_class(m.output_type).SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.descriptor.full_name, handlers)


def _default_admin_factory(config: SandboxConfig, blobs: BlobStore) -> AdminLike:
    from airflow_provider_flyte.sandbox.admin import AdminCore

    admin: AdminLike = AdminCore(config, blobs)
    return admin


_SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),  # a second sandbox on the same port must fail, not share it
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5000),
]


def _bind(server: grpc.aio.Server, address: str, tls: tuple[bytes, bytes] | None) -> int:
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, grpc.ssl_server_credentials([(tls[1], tls[0])]))
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(
            f"cannot bind the sandbox's gRPC server to {address}: the port is in use (another sandbox?); "
            "choose another --port (0 picks a free one)"
        )
    return port


def _read_tls(config: SandboxConfig) -> tuple[bytes, bytes] | None:
    if config.tls_cert_file is None and config.tls_key_file is None:
        return None
    if config.tls_cert_file is None or config.tls_key_file is None:
        raise ValueError(
            "TLS needs both a certificate and a key: set tls_cert_file and tls_key_file (--tls-cert/--tls-key)"
        )
    return Path(config.tls_cert_file).read_bytes(), Path(config.tls_key_file).read_bytes()


class Sandbox:
    """The embedded Flyte Admin: gRPC server + HTTP endpoint + admin core, on the running event loop.

    ``config.port`` / ``config.http_port`` 0 pick free ports; after :meth:`start`, :attr:`config` holds the bound
    ports (and is what the admin core was built with).

    Usage::

        async with Sandbox(SandboxConfig(data_dir=path, port=0)) as sandbox:
            print(sandbox.endpoint)
    """

    def __init__(self, config: SandboxConfig, *, admin_factory: AdminFactory | None = None) -> None:
        self._requested = config
        self.config = config
        self._admin_factory = admin_factory or _default_admin_factory
        self._server: grpc.aio.Server | None = None
        self._http: SandboxHttpServer | None = None
        self.admin: AdminLike | None = None
        self.blobs: BlobStore | None = None
        self.tokens = TokenStore(config.auth.token_ttl_seconds)
        self._http_endpoint = ""
        self._stopped = asyncio.Event()

    # -- addresses ---------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.config.port

    @property
    def endpoint(self) -> str:
        """``host:port`` of the gRPC server (what ``PlatformConfig.endpoint`` takes)."""
        return self.config.endpoint

    @property
    def tls(self) -> bool:
        return self.config.tls_cert_file is not None

    @property
    def http_server(self) -> SandboxHttpServer:
        """The HTTP endpoint (e.g. to :meth:`~SandboxHttpServer.mount` more GET routes under a path prefix)."""
        if self._http is None:
            raise RuntimeError("the sandbox is not started")
        return self._http

    @property
    def http_endpoint(self) -> str:
        """Base URL of the HTTP endpoint (signed URLs, ``/oauth2/token``), e.g. ``http://127.0.0.1:41234``."""
        if not self._http_endpoint:
            raise RuntimeError("the sandbox is not started")
        return self._http_endpoint

    # -- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the ports, start the admin core, then serve. On failure everything started is stopped again."""
        config = self._requested
        if config.auth.enabled and not config.auth.client_secret:
            raise ValueError(
                "auth is enabled but no client secret is set: pass --auth-client-secret or set "
                "FLYTE_SANDBOX_CLIENT_SECRET (AuthSettings.client_secret)"
            )
        check_exposure(config)
        tls = _read_tls(config)
        limits = HttpLimits(
            max_body_bytes=config.http_max_body_bytes,
            read_timeout=config.http_read_timeout,
            max_connections=config.http_max_connections,
        )
        guards: list[RpcGuard] = []
        if _faults_enabled(config):
            guards.append(FaultInjector(config.faults))
        if config.auth.enabled:
            guards.append(AuthGuard(self.tokens, config.auth))
        config.data_dir.mkdir(parents=True, exist_ok=True)
        blobs = self.blobs = BlobStore(config.blob_root)
        self._server = server = grpc.aio.server(options=_SERVER_OPTIONS)
        try:
            port = _bind(server, f"{config.host}:{config.port}", tls)
            ssl_context: ssl.SSLContext | None = None
            if tls is not None:
                ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ssl_context.load_cert_chain(str(config.tls_cert_file), str(config.tls_key_file))
            signer = UrlSigner(secrets.token_bytes(32), blobs)
            preferred = _preferred_http_port(config)
            self._http = http = SandboxHttpServer(
                host=config.host,
                port=preferred or config.http_port,
                blobs=blobs,
                signer=signer,
                tokens=self.tokens,
                auth=config.auth,
                ssl_context=ssl_context,
                limits=limits,
            )
            try:
                http.start()
            except OSError:
                if preferred is None:
                    raise
                log.warning("HTTP port %d is taken; picking a free one", preferred)
                http.requested_port = 0
                http.start()
            _remember_http_port(config, http.port)
            self._http_endpoint = signer.base_url = http.base_url
            self.config = dataclasses.replace(config, port=port, http_port=http.port)

            self.admin = admin = self._admin_factory(self.config, blobs)
            await admin.start()
            http.console = Console(
                admin,
                asyncio.get_running_loop(),
                blobs=blobs,
                sign_download=lambda uri, ttl: signer.sign("GET", uri, ttl),
                auth=config.auth,
                tokens=self.tokens,
            )
            servicers = {
                "AdminService": admin.admin_servicer,
                "SignalService": admin.signal_servicer,
                "DataProxyService": DataProxyServicer(blobs, signer, admin),
                "AuthMetadataService": AuthMetadataServicer(self.config, http.base_url),
                "IdentityService": IdentityServicer(),
            }
            server.add_generic_rpc_handlers(
                tuple(_generic_handler(name, servicer, guards) for name, servicer in servicers.items())
            )
            await server.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.stop(grace=None)
            raise
        log.info("Flyte sandbox serving on %s (HTTP %s)", self.endpoint, self._http_endpoint)

    async def stop(self, grace: float | None = 1.0) -> None:
        """Stop serving (in-flight RPCs get ``grace`` seconds), stop the admin core and the HTTP endpoint."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace)
        admin, self.admin = self.admin, None
        try:
            if admin is not None:
                await admin.stop()
        finally:
            http, self._http = self._http, None
            if http is not None:
                await asyncio.to_thread(http.stop)
            self._stopped.set()

    async def wait_stopped(self) -> None:
        """Wait until :meth:`stop` has completed."""
        await self._stopped.wait()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


#: file in the data directory holding the HTTP port of the last run (reused when ``http_port`` is 0, so that the
#: token endpoint clients cached stays valid across restarts)
HTTP_PORT_FILE = "http-port"


def _preferred_http_port(config: SandboxConfig) -> int | None:
    """The HTTP port to try first when ``http_port`` is 0: the gRPC port + 1 when that is given (so console links
    and the token endpoint are known from the endpoint alone: ``Config.for_sandbox`` relies on it), else the last
    run's port (the token endpoint clients cached stays valid across restarts)."""
    if config.http_port != 0:
        return None
    if config.port != 0 and config.port < 65535:
        return config.port + 1
    return _remembered_http_port(config)


def _remembered_http_port(config: SandboxConfig) -> int | None:
    try:
        port = int((config.data_dir / HTTP_PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def _remember_http_port(config: SandboxConfig, port: int) -> None:
    path = config.data_dir / HTTP_PORT_FILE
    tmp = path.with_name(f".{HTTP_PORT_FILE}.tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(path)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only reaches this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def check_exposure(config: SandboxConfig) -> None:
    """Refuse a non-loopback bind without auth (anyone reaching the port could register and run in-process
    callables), unless ``insecure_public`` says the exposure is intended."""
    if is_loopback(config.host) or config.auth.enabled:
        return
    if not config.insecure_public:
        raise ValueError(
            f"refusing to serve on {config.host} without auth: anyone who reaches this address could run "
            f"workflows and in-process tasks on this machine; enable auth (FLYTE_SANDBOX_CLIENT_SECRET or "
            "--auth-client-secret), bind to 127.0.0.1, or pass --insecure-public (insecure_public=True) to accept it"
        )
    log.warning(
        "the Flyte sandbox serves on %s WITHOUT auth (--insecure-public): anyone reaching it can run workflows",
        config.host,
    )


def _faults_enabled(config: SandboxConfig) -> bool:
    faults = config.faults
    return faults.unavailable_fraction > 0 or (faults.delay_fraction > 0 and faults.max_delay_seconds > 0)
