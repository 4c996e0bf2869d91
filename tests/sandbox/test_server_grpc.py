"""The sandbox's gRPC server over real gRPC: every service answers, errors are mapped as flyteadmin maps them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
import pytest
from flyteidl.admin import common_pb2, project_pb2, version_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import (
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    signal_pb2_grpc,
)
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]

from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.errors import SandboxError
from airflow_provider_flyte.sandbox.server import Sandbox, _default_admin_factory
from airflow_provider_flyte.sandbox.testing import SandboxThread


def _missing_task_id() -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK,
        project="flytesnacks",
        domain="development",
        name="no.such.task",
        version="v1",
    )


def _admin_with(**overrides: Callable[..., Any]) -> Callable[[SandboxConfig, BlobStore], Any]:
    """The real admin core, with some AdminService methods replaced (to provoke errors the real code never raises)."""

    def factory(config: SandboxConfig, blobs: BlobStore) -> Any:
        core = _default_admin_factory(config, blobs)
        for name, fn in overrides.items():
            setattr(core.admin_servicer, name, fn)
        return core

    return factory


def test_every_service_answers(sandbox: SandboxThread) -> None:
    with grpc.insecure_channel(sandbox.endpoint) as channel:
        version = admin_pb2_grpc.AdminServiceStub(channel).GetVersion(
            version_pb2.GetVersionRequest(), timeout=10
        )
        assert version.control_plane_version.Version

        domains = admin_pb2_grpc.AdminServiceStub(channel).GetDomains(
            project_pb2.GetDomainRequest(), timeout=10
        )
        assert {d.id for d in domains.domains} == {"development", "staging", "production"}

        metadata = auth_pb2_grpc.AuthMetadataServiceStub(channel).GetOAuth2Metadata(
            auth_pb2.OAuth2MetadataRequest(), timeout=10
        )
        assert metadata.token_endpoint == f"{sandbox.http_endpoint}/oauth2/token"
        assert list(metadata.grant_types_supported) == ["client_credentials"]

        client = auth_pb2_grpc.AuthMetadataServiceStub(channel).GetPublicClientConfig(
            auth_pb2.PublicClientAuthConfigRequest(), timeout=10
        )
        assert client.authorization_metadata_key == "flyte-authorization"
        assert client.service_http_endpoint == sandbox.http_endpoint

        user = identity_pb2_grpc.IdentityServiceStub(channel).UserInfo(
            identity_pb2.UserInfoRequest(), timeout=10
        )
        assert user.subject == ""  # auth is off

        upload = dataproxy_pb2_grpc.DataProxyServiceStub(channel).CreateUploadLocation(
            dataproxy_pb2.CreateUploadLocationRequest(
                project="flytesnacks", domain="development", filename_root="r"
            ),
            timeout=10,
        )
        assert upload.signed_url.startswith(f"{sandbox.http_endpoint}/blobs/")

        # SignalService is wired to the admin core: a request it must reject comes back as INVALID_ARGUMENT
        from flyteidl.admin import signal_pb2

        with pytest.raises(grpc.RpcError) as err:
            signal_pb2_grpc.SignalServiceStub(channel).ListSignals(signal_pb2.SignalListRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_admin_errors_keep_their_code(sandbox: SandboxThread) -> None:
    with grpc.insecure_channel(sandbox.endpoint) as channel, pytest.raises(grpc.RpcError) as err:
        admin_pb2_grpc.AdminServiceStub(channel).GetTask(
            common_pb2.ObjectGetRequest(id=_missing_task_id()), timeout=10
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no.such.task" in (err.value.details() or "") or "task" in (err.value.details() or "")


def test_unknown_rpc_is_unimplemented(sandbox: SandboxThread) -> None:
    with grpc.insecure_channel(sandbox.endpoint) as channel:
        call = channel.unary_unary(
            "/flyteidl.service.AdminService/NoSuchRpc", request_serializer=None, response_deserializer=None
        )
        with pytest.raises(grpc.RpcError) as err:
            call(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_crash_becomes_internal_naming_the_rpc_never_unknown(
    fresh_sandbox: Callable[..., SandboxThread],
) -> None:
    async def crash(request: Any, context: Any) -> Any:
        raise KeyError("boom")

    def not_implemented(request: Any, context: Any) -> Any:
        raise NotImplementedError

    async def with_details(request: Any, context: Any) -> Any:
        status = status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message="exists")
        raise SandboxError(grpc.StatusCode.ALREADY_EXISTS, "it exists", status.SerializeToString())

    async def aborts_itself(request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "no")

    async def returns_nothing(request: Any, context: Any) -> Any:
        return None

    running = fresh_sandbox(
        admin_factory=_admin_with(
            GetTask=crash,
            GetWorkflow=not_implemented,
            GetLaunchPlan=with_details,
            GetDescriptionEntity=aborts_itself,
            GetVersion=returns_nothing,
        )
    )
    request = common_pb2.ObjectGetRequest(id=_missing_task_id())
    with grpc.insecure_channel(running.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.GetTask(request, timeout=10)
        assert err.value.code() == grpc.StatusCode.INTERNAL
        assert "/flyteidl.service.AdminService/GetTask" in (err.value.details() or "")
        assert "KeyError" in (err.value.details() or "")

        with pytest.raises(grpc.RpcError) as err:
            stub.GetWorkflow(request, timeout=10)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "GetWorkflow is not implemented" in (err.value.details() or "")

        with pytest.raises(grpc.RpcError) as err:
            stub.GetLaunchPlan(request, timeout=10)
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert err.value.details() == "it exists"
        trailing: dict[str, Any] = {m.key: m.value for m in err.value.trailing_metadata() or ()}
        assert status_pb2.Status.FromString(trailing["grpc-status-details-bin"]).message == "exists"

        with pytest.raises(grpc.RpcError) as err:
            stub.GetDescriptionEntity(request, timeout=10)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

        with pytest.raises(grpc.RpcError) as err:
            stub.GetVersion(version_pb2.GetVersionRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.INTERNAL
        assert "returned no response" in (err.value.details() or "")

        # the server is still healthy after all that
        assert stub.GetDomains(project_pb2.GetDomainRequest(), timeout=10).domains


def test_accepts_messages_larger_than_grpc_default(sandbox: SandboxThread) -> None:
    # 25 MiB of an unknown length-delimited field (number 1000): parsed and ignored, not RESOURCE_EXHAUSTED.
    payload = b"x" * (25 * 1024 * 1024)
    tag = bytes([0xC2, 0x3E])  # (1000 << 3) | 2 as a varint

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    raw = tag + varint(len(payload)) + payload
    with grpc.insecure_channel(sandbox.endpoint) as channel:
        call = channel.unary_unary(
            "/flyteidl.service.AuthMetadataService/GetOAuth2Metadata",
            request_serializer=lambda b: b,
            response_deserializer=auth_pb2.OAuth2MetadataResponse.FromString,
        )
        assert call(raw, timeout=30).token_endpoint.endswith("/oauth2/token")


def test_port_in_use_is_a_clear_error(sandbox: SandboxThread, tmp_path: Any) -> None:
    other = SandboxThread(SandboxConfig(data_dir=tmp_path, port=sandbox.config.port))
    with pytest.raises(OSError, match=rf"{sandbox.config.port}.*in use"):
        other.start(timeout=30)


async def test_async_context_manager_and_aio_client(tmp_path: Any) -> None:
    async with Sandbox(SandboxConfig(data_dir=tmp_path, port=0)) as running:
        assert running.port > 0
        assert running.config.http_port > 0
        async with grpc.aio.insecure_channel(running.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            versions = await asyncio.gather(
                *(stub.GetVersion(version_pb2.GetVersionRequest(), timeout=10) for _ in range(20))
            )
            assert len(versions) == 20
    assert running.admin is None  # stopped


def test_stop_releases_the_ports(tmp_path: Any) -> None:
    import socket

    thread = SandboxThread(SandboxConfig(data_dir=tmp_path, port=0)).start()
    port, http_port = thread.config.port, thread.config.http_port
    thread.stop()
    for p in (port, http_port):
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))  # free again
