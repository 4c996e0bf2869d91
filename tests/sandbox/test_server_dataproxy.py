"""DataProxyService + the HTTP endpoint: signed uploads and downloads into/out of the blob store, over real gRPC
and real HTTP."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import grpc
import pytest
import requests
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2, dataproxy_pb2_grpc
from google.protobuf import duration_pb2

from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"


@pytest.fixture
def proxy(sandbox: SandboxThread) -> Iterator[dataproxy_pb2_grpc.DataProxyServiceStub]:
    with grpc.insecure_channel(sandbox.endpoint) as channel:
        yield dataproxy_pb2_grpc.DataProxyServiceStub(channel)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _upload_location(
    proxy: dataproxy_pb2_grpc.DataProxyServiceStub, data: bytes | None = None, **fields: object
) -> dataproxy_pb2.CreateUploadLocationResponse:
    request = dataproxy_pb2.CreateUploadLocationRequest(project=P, domain=D, **fields)  # type: ignore[arg-type]
    if data is not None:
        request.content_md5 = _md5(data)
    return proxy.CreateUploadLocation(request, timeout=10)


def _put(url: str, data: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(url, data=data, headers=headers or {}, timeout=10)


def _rpc_error(fn: object, *args: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, timeout=10)  # type: ignore[operator]
    return err.value


def test_upload_like_flytekit_lands_in_the_blob_store(
    sandbox: SandboxThread, proxy: dataproxy_pb2_grpc.DataProxyServiceStub
) -> None:
    data = b"fast registration tarball \x00\x01" * 1000
    location = _upload_location(proxy, data, filename="fast123.tar.gz", add_content_md5_metadata=True)
    root = BlobStore(sandbox.config.blob_root).root
    # {root}/{project}/{domain}/{base32(md5) with padding}/{filename}, as flyteadmin
    expected = root / P / D / base64.b32encode(_md5(data)).decode() / "fast123.tar.gz"
    assert "=" in expected.parent.name
    assert BlobStore.path(location.native_url) == expected
    assert location.signed_url.startswith(f"{sandbox.http_endpoint}/blobs/")
    assert dict(location.headers) == {"Content-MD5": _b64(_md5(data))}
    assert 3590 < location.expires_at.seconds - time.time() <= 3600
    # flytekit's upload_file: Content-Length, Content-MD5, then the response headers
    response = _put(
        location.signed_url,
        data,
        {"Content-Length": str(len(data)), "Content-MD5": _b64(_md5(data)), **location.headers},
    )
    assert response.status_code == 200, response.text
    assert BlobStore.path(location.native_url).read_bytes() == data
    assert not list(BlobStore.path(location.native_url).parent.glob(".tmp-*"))


def test_filename_root_upload_without_md5(proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    location = _upload_location(proxy, filename_root="my-root", filename="data.csv")
    assert location.native_url.endswith(f"/{P}/{D}/my-root/data.csv")
    assert not location.headers
    assert _put(location.signed_url, b"a,b\n1,2\n").status_code == 200
    assert BlobStore.path(location.native_url).read_bytes() == b"a,b\n1,2\n"
    random_name = _upload_location(proxy, filename_root="my-root")
    assert len(random_name.native_url.rsplit("/", 1)[1]) == 20


def test_bad_md5_is_rejected(proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    data, other = b"the real content", b"something else"
    location = _upload_location(proxy, data, filename="f.bin")
    path = BlobStore.path(location.native_url)
    # header does not match the body
    response = _put(location.signed_url, data, {"Content-MD5": _b64(_md5(other))})
    assert response.status_code == 400
    assert "does not match the body" in response.json()["error_description"]
    # header matches the body, but the URL was signed for another MD5
    response = _put(location.signed_url, other, {"Content-MD5": _b64(_md5(other))})
    assert response.status_code == 403
    assert "signed for" in response.json()["error_description"]
    # no header at all for a URL signed with an MD5
    response = _put(location.signed_url, data)
    assert response.status_code == 400
    assert "Content-MD5 header is required" in response.json()["error_description"]
    assert not path.exists()


def test_tampered_and_expired_urls_are_rejected(proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    data = b"payload"
    headers = {"Content-MD5": _b64(_md5(data))}
    location = _upload_location(proxy, data, filename="a.bin")
    url = urlsplit(location.signed_url)
    query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    other_path = url._replace(path=url.path.replace("a.bin", "b.bin")).geturl()
    assert _put(other_path, data, headers).status_code == 403
    later = dict(query, expires=str(float(query["expires"]) + 3600))
    assert _put(url._replace(query=urlencode(later)).geturl(), data, headers).status_code == 403
    unsigned = url._replace(query="").geturl()
    assert _put(unsigned, data, headers).status_code == 403

    expiring = _upload_location(
        proxy, data, filename="c.bin", expires_in=duration_pb2.Duration(nanos=1_000_000)
    )
    time.sleep(0.05)
    response = _put(expiring.signed_url, data, headers)
    assert response.status_code == 403
    assert "expired" in response.json()["error_description"]
    assert not BlobStore.path(expiring.native_url).exists()


def test_create_upload_location_validation(proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    call = proxy.CreateUploadLocation
    cases = [
        (
            dataproxy_pb2.CreateUploadLocationRequest(domain=D, filename_root="x"),
            "project and domain are required",
        ),
        (
            dataproxy_pb2.CreateUploadLocationRequest(project=P, filename_root="x"),
            "project and domain are required",
        ),
        (dataproxy_pb2.CreateUploadLocationRequest(project=P, domain=D), "content_md5 or filename_root"),
        (
            dataproxy_pb2.CreateUploadLocationRequest(
                project=P, domain=D, filename_root="x", expires_in=duration_pb2.Duration(seconds=3601)
            ),
            "cannot exceed max allowed expiration",
        ),
        (
            dataproxy_pb2.CreateUploadLocationRequest(project=P, domain=D, filename_root=".."),
            "not a valid path",
        ),
        (
            dataproxy_pb2.CreateUploadLocationRequest(
                project=P, domain=D, filename_root="x", filename="../../etc"
            ),
            "not a valid path",
        ),
    ]
    for request, message in cases:
        err = _rpc_error(call, request)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert message in (err.details() or "")


def test_existing_object_with_other_md5_already_exists(
    proxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    data = b"version 1"
    first = _upload_location(proxy, data, filename_root="fixed", filename="same.txt")
    assert _put(first.signed_url, data, {"Content-MD5": _b64(_md5(data))}).status_code == 200
    # same content again: allowed
    assert (
        _upload_location(proxy, data, filename_root="fixed", filename="same.txt").native_url
        == first.native_url
    )
    # other content, or no hash at all: ALREADY_EXISTS
    for md5 in (_md5(b"version 2"), b""):
        request = dataproxy_pb2.CreateUploadLocationRequest(
            project=P, domain=D, filename_root="fixed", filename="same.txt", content_md5=md5
        )
        err = _rpc_error(proxy.CreateUploadLocation, request)
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS
        assert "specify a matching hash" in (err.details() or "")


def test_download_location(sandbox: SandboxThread, proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    data = b"download me"
    location = _upload_location(proxy, data, filename="dl.txt")
    assert _put(location.signed_url, data, {"Content-MD5": _b64(_md5(data))}).status_code == 200
    download = proxy.CreateDownloadLocation(
        dataproxy_pb2.CreateDownloadLocationRequest(native_url=location.native_url), timeout=10
    )
    response = requests.get(download.signed_url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    # a download URL does not allow uploads, and tampering is detected
    assert _put(download.signed_url, b"overwrite").status_code == 403
    assert requests.get(download.signed_url.replace("dl.txt", "other.txt"), timeout=10).status_code == 403
    # a missing blob is 404
    missing = proxy.CreateDownloadLocation(
        dataproxy_pb2.CreateDownloadLocationRequest(native_url=location.native_url + ".missing"), timeout=10
    )
    assert requests.get(missing.signed_url, timeout=10).status_code == 404
    # nothing outside the blob store can be signed
    for native_url in (
        "file:///etc/passwd",
        "s3://bucket/key",
        (Path(sandbox.data_dir) / "sandbox.db").as_uri(),
    ):
        err = _rpc_error(
            proxy.CreateDownloadLocation, dataproxy_pb2.CreateDownloadLocationRequest(native_url=native_url)
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = _rpc_error(
        proxy.CreateDownloadLocation,
        dataproxy_pb2.CreateDownloadLocationRequest(
            native_url=location.native_url, expires_in=duration_pb2.Duration(seconds=-5)
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_download_link_and_get_data_validation(proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    err = _rpc_error(proxy.CreateDownloadLink, dataproxy_pb2.CreateDownloadLinkRequest())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid artifact type" in (err.details() or "")
    err = _rpc_error(
        proxy.CreateDownloadLink,
        dataproxy_pb2.CreateDownloadLinkRequest(artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "source is required" in (err.details() or "")
    node = identifier_pb2.NodeExecutionIdentifier(
        node_id="n0",
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name="nosuchexec"),
    )
    err = _rpc_error(
        proxy.CreateDownloadLink,
        dataproxy_pb2.CreateDownloadLinkRequest(
            artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK, node_execution_id=node
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "failed to find node execution" in (err.details() or "")
    for url, message in (("", "source is required"), ("s3://x/y", "correct prefix")):
        err = _rpc_error(proxy.GetData, dataproxy_pb2.GetDataRequest(flyte_url=url))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (err.details() or "")
    err = _rpc_error(
        proxy.GetData, dataproxy_pb2.GetDataRequest(flyte_url=f"flyte://v1/{P}/{D}/nosuchexec/n0/d")
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT  # deck of a missing node execution


@pytest.mark.flytekit
def test_flytekit_upload_file(sandbox: SandboxThread, tmp_path: Path) -> None:
    from flytekit.configuration import Config, PlatformConfig
    from flytekit.remote import FlyteRemote

    source = tmp_path / "script_mode.tar.gz"
    source.write_bytes(b"\x1f\x8b" + b"tarball" * 100)
    remote = FlyteRemote(
        Config(platform=PlatformConfig(endpoint=sandbox.endpoint, insecure=True)),
        default_project=P,
        default_domain=D,
    )
    md5, native_url = remote.upload_file(source)
    assert md5 == _md5(source.read_bytes())
    assert BlobStore.path(native_url).read_bytes() == source.read_bytes()


def test_download_link_and_get_data_for_a_real_node_execution(
    sandbox: SandboxThread, proxy: dataproxy_pb2_grpc.DataProxyServiceStub
) -> None:
    from flyteidl.service import admin_pb2_grpc

    from tests.sandbox.test_restart import WF, _register_and_run, _wait_phase

    with grpc.insecure_channel(sandbox.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        _register_and_run(stub, "dataproxy.gate", 0, "dataproxy-run")
        _wait_phase(stub, "dataproxy-run", {WF.SUCCEEDED})
    node = identifier_pb2.NodeExecutionIdentifier(
        node_id="n0",
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name="dataproxy-run"),
    )
    # the node exists but wrote no deck: INTERNAL "no deckUrl found", as flyteadmin
    err = _rpc_error(
        proxy.CreateDownloadLink,
        dataproxy_pb2.CreateDownloadLinkRequest(
            artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK, node_execution_id=node
        ),
    )
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "no deckUrl found" in (err.details() or "")
    # inputs of a node go to the admin core: a (here empty) literal map
    data = proxy.GetData(
        dataproxy_pb2.GetDataRequest(flyte_url=f"flyte://v1/{P}/{D}/dataproxy-run/n0/i"), timeout=10
    )
    assert data.WhichOneof("data") == "literal_map"


def test_chunked_upload(proxy: dataproxy_pb2_grpc.DataProxyServiceStub) -> None:
    parts = [b"first chunk,", b"second chunk," * 1000, b"last"]
    location = _upload_location(proxy, filename_root="chunked", filename="streamed.bin")
    response = requests.put(location.signed_url, data=iter(parts), timeout=10)  # Transfer-Encoding: chunked
    assert response.status_code == 200, response.text
    assert BlobStore.path(location.native_url).read_bytes() == b"".join(parts)
