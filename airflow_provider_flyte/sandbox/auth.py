"""OAuth2 client-credentials auth of the sandbox, as a Flyte deployment with auth enabled.

* :class:`TokenStore`: opaque random access tokens kept in memory (a restart invalidates them; clients refresh when
  they meet ``UNAUTHENTICATED``). Issued by the HTTP endpoint's ``POST /oauth2/token``.
* :class:`AuthGuard`: rejects every RPC but AuthMetadataService's that carries no valid ``Bearer`` token in the
  ``authorization`` or ``flyte-authorization`` metadata; on success the RPC runs with :func:`current_principal`
  returning the authenticated client id.
* :class:`AuthMetadataServicer` / :class:`IdentityServicer`: the anonymous discovery services flytekit calls
  before authenticating, and ``UserInfo``.
"""

from __future__ import annotations

import contextvars
import hmac
import secrets
import threading
import time
from typing import Any

import grpc
import grpc.aio
from flyteidl.service import auth_pb2, identity_pb2

from airflow_provider_flyte.sandbox.config import AuthSettings, SandboxConfig
from airflow_provider_flyte.sandbox.errors import unauthenticated

#: metadata keys a token is accepted from (flyteadmin copies its configured key into ``authorization``)
TOKEN_METADATA_KEYS = ("authorization", "flyte-authorization")
#: services that never need a token (flytekit calls them before it has one)
ANONYMOUS_SERVICES = frozenset({"AuthMetadataService"})
#: flytekit's default redirect for PKCE (unused by client credentials, advertised like flyteadmin does)
DEFAULT_REDIRECT_URI = "http://localhost:53593/callback"

#: invocation metadata key under which servicers of an authenticated RPC find the principal (see PrincipalContext)
PRINCIPAL_METADATA_KEY = "x-sandbox-principal"

_principal: contextvars.ContextVar[str] = contextvars.ContextVar("flyte_sandbox_principal", default="")


def current_principal() -> str:
    """The authenticated client id of the RPC being served ("" when auth is off or outside an RPC).

    The admin core calls this to fill ``ExecutionMetadata.principal`` and ``abort_metadata.principal``
    (flyteadmin's ``x-sandbox-principal``-style identity propagation, done with a context variable because
    grpc.aio invocation metadata cannot be extended by an interceptor).
    """
    return _principal.get()


class TokenStore:
    """Issued access tokens and their expiry; thread-safe (the HTTP endpoint runs in its own threads)."""

    def __init__(self, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, principal: str) -> tuple[str, int]:
        """A new token for ``principal``; returns ``(token, expires_in_seconds)``."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (principal, now + self.ttl_seconds)
        return token, self.ttl_seconds

    def principal(self, token: str) -> str | None:
        """The principal a valid, unexpired token was issued to, else ``None``."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()


def check_client_credentials(settings: AuthSettings, client_id: str, client_secret: str) -> bool:
    """Constant-time comparison of client credentials with the configured ones."""
    ok_id = hmac.compare_digest(client_id.encode(), settings.client_id.encode())
    ok_secret = hmac.compare_digest(client_secret.encode(), settings.client_secret.encode())
    return ok_id and ok_secret


def _bearer(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AuthGuard:
    """The authentication check every protected RPC goes through (see :class:`~.server.RpcGuard`)."""

    def __init__(self, tokens: TokenStore, settings: AuthSettings) -> None:
        self._tokens = tokens
        self._keys = frozenset({*TOKEN_METADATA_KEYS, settings.authorization_metadata_key.lower()})

    def applies(self, service: str, method: str) -> bool:
        return service not in ANONYMOUS_SERVICES

    async def check(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        for key, value in context.invocation_metadata() or ():
            if key in self._keys and isinstance(value, str):
                token = _bearer(value)
                principal = self._tokens.principal(token) if token else None
                if principal is not None:
                    _principal.set(principal)
                    return
        raise unauthenticated(
            "invalid or missing token: send 'Bearer <access token>' in the authorization or flyte-authorization "
            "metadata; get a token from the token endpoint advertised by AuthMetadataService.GetOAuth2Metadata"
        )


class PrincipalContext:
    """The servicer context handed to every servicer: the real ``grpc.aio`` context, except that
    ``invocation_metadata()`` carries the authenticated client id under ``x-sandbox-principal`` ("" when auth is
    off), never a value a client sent under that key itself.
    """

    __slots__ = ("_context", "_principal")

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any], principal: str) -> None:
        self._context = context
        self._principal = principal

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        received = self._context.invocation_metadata() or ()
        return (
            *((k, v) for k, v in received if k != PRINCIPAL_METADATA_KEY),
            (PRINCIPAL_METADATA_KEY, self._principal),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def oauth2_metadata(http_base_url: str) -> auth_pb2.OAuth2MetadataResponse:
    """The OAuth2 authorization server metadata (RFC 8414), served over gRPC and at
    ``/.well-known/oauth-authorization-server``."""
    return auth_pb2.OAuth2MetadataResponse(
        issuer=http_base_url,
        authorization_endpoint=f"{http_base_url}/oauth2/authorize",
        token_endpoint=f"{http_base_url}/oauth2/token",
        response_types_supported=["token"],
        scopes_supported=["all"],
        token_endpoint_auth_methods_supported=["client_secret_basic"],
        grant_types_supported=["client_credentials"],
    )


def public_client_config(
    config: SandboxConfig, http_base_url: str
) -> auth_pb2.PublicClientAuthConfigResponse:
    """``GetPublicClientConfig``: the client id and the metadata key clients put their token under."""
    return auth_pb2.PublicClientAuthConfigResponse(
        client_id=config.auth.client_id,
        redirect_uri=DEFAULT_REDIRECT_URI,
        scopes=list(config.auth.scopes),
        authorization_metadata_key=config.auth.authorization_metadata_key,
        service_http_endpoint=http_base_url,
    )


class AuthMetadataServicer:
    """AuthMetadataService: anonymous, answers whether auth is enabled or not (as flyteadmin does)."""

    def __init__(self, config: SandboxConfig, http_base_url: str) -> None:
        self._metadata = oauth2_metadata(http_base_url)
        self._client_config = public_client_config(config, http_base_url)

    async def GetOAuth2Metadata(
        self, request: auth_pb2.OAuth2MetadataRequest, context: Any
    ) -> auth_pb2.OAuth2MetadataResponse:
        return self._metadata

    async def GetPublicClientConfig(
        self, request: auth_pb2.PublicClientAuthConfigRequest, context: Any
    ) -> auth_pb2.PublicClientAuthConfigResponse:
        return self._client_config


class IdentityServicer:
    """IdentityService.UserInfo: the authenticated subject (empty when auth is off)."""

    async def UserInfo(
        self, request: identity_pb2.UserInfoRequest, context: Any
    ) -> identity_pb2.UserInfoResponse:
        subject = current_principal()
        return identity_pb2.UserInfoResponse(subject=subject, name=subject, preferred_username=subject)
