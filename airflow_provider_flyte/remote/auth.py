"""Authentication: where a bearer token comes from and which metadata key carries it.

Modes (see :func:`~.config.normalize_auth_mode`):

* ``none``: no credentials (a server that asks for credentials then fails with a message saying what to
  configure). flytekit's interactive ``standard``/``Pkce``/``DeviceFlow`` modes need a browser or a person and are
  refused by the configuration (:func:`~.config.normalize_auth_mode`) with the modes that work unattended.
* ``client_credentials``: the OAuth2 client-credentials grant against the token endpoint the server advertises
  (``AuthMetadataService``), HTTP Basic ``client_id:quote_plus(secret)`` like flytekit; cached, refreshed shortly
  before expiry and once when the server answers UNAUTHENTICATED. When the token endpoint cannot be reached, the
  server's auth metadata is discovered again before one more try (a restarted server may have moved it).
* ``static``: a bearer token / API key from the config.
* ``external_command``: a program that prints a token; its output is cached until the server rejects it.

The header key is the server's ``authorization_metadata_key`` (default ``authorization``). Independently of the
mode, ``proxy_command`` (as flytekit's) runs a program whose output is sent as ``proxy-authorization: Bearer
<token>`` on every RPC and on token-endpoint requests, for an authenticating proxy in front of Flyte Admin. Secrets
never appear in logs, reprs or error messages.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass

from airflow_provider_flyte.remote.config import PlatformConfig
from airflow_provider_flyte.remote.errors import FlyteAuthenticationError

DEFAULT_HEADER_KEY = "authorization"
PROXY_HEADER_KEY = "proxy-authorization"
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ServerAuthConfig:
    """What the server advertises through ``GetPublicClientConfig`` and ``GetOAuth2Metadata``."""

    header_key: str = DEFAULT_HEADER_KEY
    token_endpoint: str | None = None
    scopes: tuple[str, ...] = ()
    audience: str | None = None


@dataclass(frozen=True)
class Token:
    """An access token and the monotonic time it expires at (None: unknown / never)."""

    value: str
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"Token(value='***', expires_at={self.expires_at!r})"


def run_token_command(argv: tuple[str, ...], what: str) -> str:
    """The token a command prints (stripped stdout); :class:`FlyteAuthenticationError` if it fails or prints
    nothing. ``what`` names the setting in errors (``command`` / ``proxy_command``)."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FlyteAuthenticationError(f"{what} {argv[0]!r} could not run: {exc}") from None
    token = proc.stdout.strip()
    if proc.returncode != 0 or not token:
        raise FlyteAuthenticationError(
            f"{what} {argv[0]!r} exited with status {proc.returncode}"
            f"{' and printed no token' if not token else ''}: {proc.stderr.strip()[:300]}"
        )
    return token


class ProxyToken:
    """The ``proxy-authorization`` token from ``proxy_command``: fetched before the first call, cached until the
    proxy (or the server behind it) answers UNAUTHENTICATED."""

    def __init__(self, argv: tuple[str, ...]) -> None:
        self.argv = argv
        self._value: str | None = None
        self._lock = threading.Lock()

    def cached_metadata(self) -> Metadata | None:
        value = self._value
        return None if value is None else ((PROXY_HEADER_KEY, f"Bearer {value}"),)

    def metadata(self) -> Metadata:
        with self._lock:
            if self._value is None:
                self._value = run_token_command(self.argv, "proxy_command")
            return ((PROXY_HEADER_KEY, f"Bearer {self._value}"),)

    def invalidate(self) -> None:
        with self._lock:
            self._value = None

    def __repr__(self) -> str:
        return f"ProxyToken(argv0={self.argv[0]!r})"


class Authenticator:
    """Produces the authorization metadata for RPCs. Base class = mode ``none``."""

    mode = "none"
    #: whether a refresh can produce different credentials (so UNAUTHENTICATED is worth one retry)
    can_refresh = False
    #: whether the server's auth config must be discovered before the first authenticated RPC
    needs_server_config = False

    def __init__(self, platform: PlatformConfig) -> None:
        self.platform = platform
        self.server = ServerAuthConfig()
        self._token: Token | None = None
        self._lock = threading.Lock()
        self.proxy = ProxyToken(platform.proxy_command) if platform.proxy_command else None
        # a proxy token can be renewed too, so UNAUTHENTICATED is worth one retry with it
        self.can_refresh = type(self).can_refresh or self.proxy is not None

    def set_server_config(self, server: ServerAuthConfig) -> None:
        """Record the server's auth config (from :func:`~.ops.auth.discover_auth`)."""
        self.server = server
        self.needs_server_config = False

    def _fresh(self, token: Token | None) -> bool:
        if token is None:
            return False
        return (
            token.expires_at is None
            or time.monotonic() < token.expires_at - self.platform.token_refresh_margin
        )

    def cached_metadata(self) -> Metadata | None:
        """Metadata without blocking, or None when a token must be fetched first (call :meth:`metadata`)."""
        proxy = self.proxy.cached_metadata() if self.proxy is not None else ()
        if self.mode == "none" or proxy is None:
            return proxy
        token = self._token
        return self._as_metadata(token) + proxy if token is not None and self._fresh(token) else None

    def metadata(self) -> Metadata:
        """Metadata for the next RPC; may block to fetch a token (thread-safe, one fetch at a time)."""
        proxy = self.proxy.metadata() if self.proxy is not None else ()
        if self.mode == "none":
            return proxy
        with self._lock:
            if not self._fresh(self._token):
                self._token = self.fetch_token()
            assert self._token is not None
            return self._as_metadata(self._token) + proxy

    def _as_metadata(self, token: Token) -> Metadata:
        return ((self.server.header_key, f"Bearer {token.value}"),)

    def invalidate(self) -> None:
        """Forget the cached token (after the server answered UNAUTHENTICATED)."""
        with self._lock:
            self._token = None
        if self.proxy is not None:
            self.proxy.invalidate()

    def fetch_token(self) -> Token:
        """Obtain a new token (blocking)."""
        raise NotImplementedError

    def endpoint_unreachable(self) -> bool:
        """The token endpoint could not be reached: forget the server's auth config so that it is discovered
        again (a restarted server may advertise another token endpoint). True if rediscovery can help."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode!r}, header_key={self.server.header_key!r})"


class StaticTokenAuthenticator(Authenticator):
    """A token given in the config; sent under the server's header key."""

    mode = "static"
    needs_server_config = True

    def fetch_token(self) -> Token:
        assert self.platform.token
        return Token(self.platform.token)


class CommandAuthenticator(Authenticator):
    """Runs ``platform.command``; its stdout (stripped) is the token, cached until the server rejects it."""

    mode = "external_command"
    can_refresh = True
    needs_server_config = True

    def fetch_token(self) -> Token:
        return Token(run_token_command(self.platform.command or (), "auth command"))


class ClientCredentialsAuthenticator(Authenticator):
    """OAuth2 client-credentials grant against the token endpoint the server advertises."""

    mode = "client_credentials"
    can_refresh = True
    needs_server_config = True

    def endpoint_unreachable(self) -> bool:
        self.needs_server_config = True
        return True

    def fetch_token(self) -> Token:
        from airflow_provider_flyte.remote.transport import http_request

        endpoint = self.server.token_endpoint
        if not endpoint:
            raise FlyteAuthenticationError(
                "the server advertises no OAuth2 token endpoint (AuthMetadataService.GetOAuth2Metadata): "
                "client_credentials auth is not available there; check the endpoint or use auth_mode 'static'"
            )
        platform = self.platform
        assert platform.client_id and platform.client_secret
        basic = base64.b64encode(
            f"{platform.client_id}:{urllib.parse.quote_plus(platform.client_secret)}".encode()
        ).decode()
        body: dict[str, str] = {"grant_type": "client_credentials"}
        scopes = platform.scopes or self.server.scopes
        if scopes:
            body["scope"] = " ".join(scopes)
        audience = platform.audience or self.server.audience
        if audience:
            body["audience"] = audience
        started = time.monotonic()
        resp = http_request(
            platform,
            "POST",
            endpoint,
            data=urllib.parse.urlencode(body).encode(),
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "Cache-Control": "no-cache",
                **dict(self.proxy.metadata() if self.proxy is not None else ()),
            },
            timeout=platform.rpc_timeout,
        )
        if resp.status != 200:
            raise FlyteAuthenticationError(
                f"token endpoint {endpoint} refused client {platform.client_id!r} with HTTP {resp.status}: "
                f"{resp.body[:300].decode(errors='replace')} (check client_id / client_secret)"
            )
        try:
            payload = json.loads(resp.body)
            value = str(payload["access_token"])
        except (ValueError, KeyError, TypeError):
            raise FlyteAuthenticationError(
                f"token endpoint {endpoint} answered without an access_token"
            ) from None
        expires_in = payload.get("expires_in")
        expires_at = started + float(expires_in) if isinstance(expires_in, int | float) else None
        return Token(value, expires_at)


_BY_MODE: dict[str, type[Authenticator]] = {
    "none": Authenticator,
    "static": StaticTokenAuthenticator,
    "external_command": CommandAuthenticator,
    "client_credentials": ClientCredentialsAuthenticator,
}


def create_authenticator(platform: PlatformConfig) -> Authenticator:
    """The authenticator for ``platform.auth_mode``."""
    return _BY_MODE[platform.auth_mode or "none"](platform)
