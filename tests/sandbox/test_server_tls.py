"""TLS: gRPC and the HTTP endpoint served with a certificate from a throw-away CA."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import requests
from flyteidl.admin import version_pb2
from flyteidl.service import admin_pb2_grpc, auth_pb2, auth_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc

from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.testing import SandboxThread, TlsFiles, make_tls_files


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def test_tls_with_the_ca_works(fresh_sandbox: Callable[..., SandboxThread], tls_files: TlsFiles) -> None:
    running = fresh_sandbox(tls_cert_file=tls_files.cert, tls_key_file=tls_files.key)
    assert running.http_endpoint.startswith("https://")
    credentials = grpc.ssl_channel_credentials(tls_files.ca_cert.read_bytes())
    for target in (running.endpoint, f"localhost:{running.config.port}"):
        with grpc.secure_channel(target, credentials) as channel:
            version = admin_pb2_grpc.AdminServiceStub(channel).GetVersion(
                version_pb2.GetVersionRequest(), timeout=10
            )
            assert version.control_plane_version.Version
            metadata = auth_pb2_grpc.AuthMetadataServiceStub(channel).GetOAuth2Metadata(
                auth_pb2.OAuth2MetadataRequest(), timeout=10
            )
            assert metadata.token_endpoint.startswith("https://")

    # the HTTP endpoint speaks TLS too: upload through the signed https URL
    data = b"over tls"
    md5 = hashlib.md5(data).digest()
    with grpc.secure_channel(running.endpoint, credentials) as channel:
        location = dataproxy_pb2_grpc.DataProxyServiceStub(channel).CreateUploadLocation(
            dataproxy_pb2.CreateUploadLocationRequest(
                project="flytesnacks", domain="development", content_md5=md5, filename="t.bin"
            ),
            timeout=10,
        )
    assert location.signed_url.startswith("https://")
    response = requests.put(
        location.signed_url,
        data=data,
        headers=dict(location.headers),
        verify=str(tls_files.ca_cert),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert BlobStore.path(location.native_url).read_bytes() == data
    assert requests.get(f"{running.http_endpoint}/healthcheck", verify=str(tls_files.ca_cert), timeout=10).ok


def test_clients_without_the_ca_fail(
    fresh_sandbox: Callable[..., SandboxThread], tls_files: TlsFiles
) -> None:
    running = fresh_sandbox(tls_cert_file=tls_files.cert, tls_key_file=tls_files.key)
    request = version_pb2.GetVersionRequest()
    channels = [
        grpc.secure_channel(running.endpoint, grpc.ssl_channel_credentials()),  # system roots only
        grpc.insecure_channel(running.endpoint),  # plaintext against a TLS port
    ]
    other_ca = make_tls_files(Path(running.data_dir) / "other-ca")
    channels.append(
        grpc.secure_channel(running.endpoint, grpc.ssl_channel_credentials(other_ca.ca_cert.read_bytes()))
    )
    for channel in channels:
        with channel, pytest.raises(grpc.RpcError) as err:
            admin_pb2_grpc.AdminServiceStub(channel).GetVersion(request, timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{running.http_endpoint}/healthcheck", timeout=10)
    # and the server still serves good clients afterwards
    with grpc.secure_channel(
        running.endpoint, grpc.ssl_channel_credentials(tls_files.ca_cert.read_bytes())
    ) as ok:
        assert (
            admin_pb2_grpc.AdminServiceStub(ok).GetVersion(request, timeout=10).control_plane_version.Version
        )


def test_cert_without_key_is_refused(
    fresh_sandbox: Callable[..., SandboxThread], tls_files: TlsFiles
) -> None:
    with pytest.raises(ValueError, match="both a certificate and a key"):
        fresh_sandbox(tls_cert_file=tls_files.cert)


@pytest.mark.flytekit
def test_flytekit_with_ca_cert(fresh_sandbox: Callable[..., SandboxThread], tls_files: TlsFiles) -> None:
    from flytekit.clients.raw import RawSynchronousFlyteClient
    from flytekit.configuration import PlatformConfig

    running = fresh_sandbox(tls_cert_file=tls_files.cert, tls_key_file=tls_files.key)
    client = RawSynchronousFlyteClient(
        PlatformConfig(endpoint=running.endpoint, insecure=False, ca_cert_file_path=str(tls_files.ca_cert))
    )
    assert client.get_domains().domains
