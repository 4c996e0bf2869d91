"""Discovery of the server's auth settings (unauthenticated AuthMetadataService calls)."""

from __future__ import annotations

from airflow_provider_flyte.remote.auth import DEFAULT_HEADER_KEY, ServerAuthConfig
from airflow_provider_flyte.remote.errors import FlyteError, FlyteSystemUnavailableError, FlyteTimeoutError
from airflow_provider_flyte.remote.ops.call import AUTH_METADATA, Call, Op


def discover_auth() -> Op[ServerAuthConfig]:
    """GetPublicClientConfig (header key, scopes, audience) and GetOAuth2Metadata (token endpoint).

    A server without AuthMetadataService yields the defaults (header ``authorization``, no token endpoint); a
    server that cannot be reached (after the transport's retries) is an error, not a server without auth.
    """
    from flyteidl.service import auth_pb2

    header_key, scopes, audience, token_endpoint = DEFAULT_HEADER_KEY, (), None, None
    try:
        client = yield Call(
            AUTH_METADATA, "GetPublicClientConfig", auth_pb2.PublicClientAuthConfigRequest(), True
        )
        header_key = client.authorization_metadata_key or DEFAULT_HEADER_KEY
        scopes = tuple(client.scopes)
        audience = client.audience or None
    except (FlyteSystemUnavailableError, FlyteTimeoutError):
        raise
    except FlyteError:
        pass
    try:
        meta = yield Call(AUTH_METADATA, "GetOAuth2Metadata", auth_pb2.OAuth2MetadataRequest(), True)
        token_endpoint = meta.token_endpoint or None
    except (FlyteSystemUnavailableError, FlyteTimeoutError):
        raise
    except FlyteError:
        pass
    return ServerAuthConfig(
        header_key=header_key, token_endpoint=token_endpoint, scopes=scopes, audience=audience
    )
