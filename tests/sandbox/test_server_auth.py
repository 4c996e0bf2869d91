"""OAuth2 client-credentials auth: token endpoint over HTTP, token checks on every RPC, over real gRPC."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from urllib.parse import quote_plus

import grpc
import pytest
import requests
from flyteidl.admin import version_pb2
from flyteidl.service import (
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
)

from airflow_provider_flyte.sandbox.config import AuthSettings
from airflow_provider_flyte.sandbox.testing import SandboxThread

CLIENT_ID = "airflow"
SECRET = "s3cr3t/+ &=x"  # characters flytekit's quote_plus encoding changes


def _start(fresh_sandbox: Callable[..., SandboxThread], **auth: object) -> SandboxThread:
    settings = {"enabled": True, "client_id": CLIENT_ID, "client_secret": SECRET, **auth}
    return fresh_sandbox(auth=AuthSettings(**settings))  # type: ignore[arg-type]


def _token_endpoint(channel: grpc.Channel) -> str:
    metadata = auth_pb2_grpc.AuthMetadataServiceStub(channel).GetOAuth2Metadata(
        auth_pb2.OAuth2MetadataRequest(), timeout=10
    )
    return str(metadata.token_endpoint)


def _flytekit_style_token(url: str, client_id: str = CLIENT_ID, secret: str = SECRET) -> requests.Response:
    """Exactly what flytekit's client-credentials flow sends (flytekit/clients/auth/token_client.py)."""
    basic = base64.b64encode(f"{client_id}:{quote_plus(secret)}".encode()).decode()
    return requests.post(
        url,
        data={"grant_type": "client_credentials", "scope": "all"},
        headers={
            "Authorization": f"Basic {basic}",
            "Cache-Control": "no-cache",
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=10,
    )


def _get_version(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> str:
    response = admin_pb2_grpc.AdminServiceStub(channel).GetVersion(
        version_pb2.GetVersionRequest(), metadata=metadata, timeout=10
    )
    return str(response.control_plane_version.Version)


def test_no_token_is_unauthenticated_but_discovery_is_anonymous(
    fresh_sandbox: Callable[..., SandboxThread],
) -> None:
    running = _start(fresh_sandbox)
    with grpc.insecure_channel(running.endpoint) as channel:
        assert _token_endpoint(channel) == f"{running.http_endpoint}/oauth2/token"
        client = auth_pb2_grpc.AuthMetadataServiceStub(channel).GetPublicClientConfig(
            auth_pb2.PublicClientAuthConfigRequest(), timeout=10
        )
        assert client.client_id == CLIENT_ID
        assert client.authorization_metadata_key == "flyte-authorization"
        calls: list[Callable[[], object]] = [
            lambda: _get_version(channel),
            lambda: identity_pb2_grpc.IdentityServiceStub(channel).UserInfo(
                identity_pb2.UserInfoRequest(), timeout=10
            ),
            lambda: dataproxy_pb2_grpc.DataProxyServiceStub(channel).CreateUploadLocation(
                dataproxy_pb2.CreateUploadLocationRequest(
                    project="flytesnacks", domain="development", filename_root="x"
                ),
                timeout=10,
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "invalid or missing token" in (err.value.details() or "")


def test_token_from_endpoint_works_in_either_header(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    running = _start(fresh_sandbox)
    with grpc.insecure_channel(running.endpoint) as channel:
        response = _flytekit_style_token(_token_endpoint(channel))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        token = body["access_token"]
        for key in ("authorization", "flyte-authorization"):
            assert _get_version(channel, ((key, f"Bearer {token}"),))
        user = identity_pb2_grpc.IdentityServiceStub(channel).UserInfo(
            identity_pb2.UserInfoRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10
        )
        assert user.subject == CLIENT_ID  # the principal reaches the servicers


def test_form_credentials_are_accepted(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    running = _start(fresh_sandbox)
    response = requests.post(
        f"{running.http_endpoint}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    with grpc.insecure_channel(running.endpoint) as channel:
        assert _get_version(channel, (("authorization", f"Bearer {response.json()['access_token']}"),))


def test_wrong_credentials_and_grant_are_refused(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    running = _start(fresh_sandbox)
    url = f"{running.http_endpoint}/oauth2/token"
    for client_id, secret in ((CLIENT_ID, "wrong"), ("someone-else", SECRET), (CLIENT_ID, "")):
        response = _flytekit_style_token(url, client_id, secret)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    response = requests.post(url, data={"grant_type": "password"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_bad_and_expired_tokens_are_rejected(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    running = _start(fresh_sandbox, token_ttl_seconds=1)
    with grpc.insecure_channel(running.endpoint) as channel:
        token = _flytekit_style_token(_token_endpoint(channel)).json()["access_token"]
        assert _get_version(channel, (("authorization", f"Bearer {token}"),))
        for value in ("Bearer not-a-token", f"Basic {token}", token, "Bearer "):
            with pytest.raises(grpc.RpcError) as err:
                _get_version(channel, (("authorization", value),))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        time.sleep(1.1)
        with pytest.raises(grpc.RpcError) as err:
            _get_version(channel, (("authorization", f"Bearer {token}"),))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_restart_invalidates_tokens(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    first = _start(fresh_sandbox)
    with grpc.insecure_channel(first.endpoint) as channel:
        token = _flytekit_style_token(_token_endpoint(channel)).json()["access_token"]
    first.stop()
    second = fresh_sandbox(data_dir=first.data_dir, auth=first.config.auth)
    with grpc.insecure_channel(second.endpoint) as channel, pytest.raises(grpc.RpcError) as err:
        _get_version(channel, (("authorization", f"Bearer {token}"),))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_auth_without_secret_refuses_to_start(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    with pytest.raises(ValueError, match="FLYTE_SANDBOX_CLIENT_SECRET"):
        fresh_sandbox(auth=AuthSettings(enabled=True))


def test_auth_off_needs_no_token_and_the_token_endpoint_still_answers(sandbox: SandboxThread) -> None:
    with grpc.insecure_channel(sandbox.endpoint) as channel:
        assert _get_version(channel)
        assert _get_version(channel, (("authorization", "Bearer whatever"),))
    response = _flytekit_style_token(f"{sandbox.http_endpoint}/oauth2/token", "anyone", "anything")
    assert response.status_code == 200
    metadata = requests.get(
        f"{sandbox.http_endpoint}/.well-known/oauth-authorization-server", timeout=10
    ).json()
    assert metadata["token_endpoint"] == f"{sandbox.http_endpoint}/oauth2/token"
    assert requests.get(f"{sandbox.http_endpoint}/healthcheck", timeout=10).status_code == 200


@pytest.mark.flytekit
def test_flytekit_client_credentials_flow(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    """flytekit's own client discovers the token endpoint, gets a token and refreshes it on UNAUTHENTICATED."""
    from flytekit.clients.raw import RawSynchronousFlyteClient
    from flytekit.configuration import PlatformConfig

    running = _start(fresh_sandbox, token_ttl_seconds=1)
    client = RawSynchronousFlyteClient(
        PlatformConfig(
            endpoint=running.endpoint,
            insecure=True,
            client_id=CLIENT_ID,
            client_credentials_secret=SECRET,
            auth_mode="client_credentials",
        )
    )
    assert client.get_domains().domains
    time.sleep(1.1)  # the token expired: flytekit refreshes once and retries
    assert client.get_domains().domains


def test_principal_reaches_the_admin_and_cannot_be_spoofed(
    fresh_sandbox: Callable[..., SandboxThread],
) -> None:
    from tests.sandbox.test_restart import WF, _register_and_run, _wait_phase

    running = _start(fresh_sandbox)
    with grpc.insecure_channel(running.endpoint) as channel:
        token = _flytekit_style_token(_token_endpoint(channel)).json()["access_token"]
        # a client-sent x-sandbox-principal is replaced by the authenticated client id
        metadata = (("authorization", f"Bearer {token}"), ("x-sandbox-principal", "mallory"))
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        _register_and_run(stub, "auth.principal", 0, "by-airflow", metadata=metadata)
        execution = _wait_phase(stub, "by-airflow", {WF.SUCCEEDED}, metadata=metadata)
        assert execution.spec.metadata.principal == CLIENT_ID


def test_principal_cannot_be_spoofed_with_auth_off(sandbox: SandboxThread) -> None:
    from tests.sandbox.test_restart import WF, _register_and_run, _wait_phase

    metadata = (("x-sandbox-principal", "mallory"),)
    with grpc.insecure_channel(sandbox.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        _register_and_run(stub, "auth.off.principal", 0, "anonymous-run", metadata=metadata)
        execution = _wait_phase(stub, "anonymous-run", {WF.SUCCEEDED})
    assert execution.spec.metadata.principal != "mallory"
